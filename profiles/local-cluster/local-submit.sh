#!/usr/bin/env bash
# Submit a Snakemake jobscript as a detached background process and print its
# "job id" (the PID), as sbatch/qsub would. The jobscript itself writes the
# marker files the generic cluster executor watches for completion.
set -euo pipefail
jobscript=$1
log="${jobscript}.out"
nohup bash "$jobscript" > "$log" 2>&1 < /dev/null &
echo $!
