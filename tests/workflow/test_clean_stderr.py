"""A clean run prints nothing unexpected on stderr: only Snakemake's own progress and log lines
and our NOTE lines, no warning, no traceback, and above all no
"PyTensor could not link to a BLAS installation" (run.sh installs the BLAS PyTensor links to).

The session fixture ``tiny`` (conftest.py) runs the whole workflow once and saves that run's stderr
to ``<workdir>/snakemake.stderr``. Every line of it must match ``ALLOWED`` below; a line that looks
like a warning or an error is reported even if a pattern matches it, unless it is listed in
``KNOWN_LINES`` with the reason it is acceptable.
"""

from __future__ import annotations

import re

STDERR_FILE = "snakemake.stderr"

_TIMESTAMP = r"\[(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\]"
_HEADER_KEYS = (
    "Date|Workflow ID|Platform|Host|User|Snakemake version|Python version|Command|Snakefile"
    "|Base directory|Run directory|Working directory|Config file\\(s\\)|Config MD5"
)
_JOB_KEYS = "input|output|log|benchmark|jobid|reason|wildcards|resources|threads|priority"

# Snakemake's own lines (Snakemake 9, as pinned in constraints.txt), then ours. Each is matched
# against a whole line (re.fullmatch) after stripping trailing whitespace.
ALLOWED = [
    re.compile(p)
    for p in (
        # start of a run
        r"",
        r"Using workflow specific profile profiles/default for setting default command line arguments\.",
        r"Assuming unrestricted shared filesystem usage\.",
        r"SNAKEMAKE",
        r"=+",  # the run header ...
        rf"  ({_HEADER_KEYS}): .*",  # ... and its fields
        r"Building DAG of jobs\.\.\.",
        r"Using shell: \S+",
        r"Provided cores: \d+",
        r"Provided resources: .*",
        r"Rules claiming more threads will be scaled down\.",
        r"(Conda environments|Singularity containers): ignored",
        # the job stats table (also printed again before the jobs when there are many)
        r"Job stats:",
        r"job +count",
        r"-+ +-+",
        r"\w+ +\d+",
        # scheduling and each job's banner
        r"Select jobs to execute\.\.\.",
        r"Execute \d+ jobs?\.\.\.",
        _TIMESTAMP,
        r"(local)?(rule|checkpoint) \w+:",
        rf"    ({_JOB_KEYS}): .*",
        r"Finished jobid: \d+ \(Rule: \w+\)",
        r"\d+ of \d+ steps \(\d+%\) done",
        r"Removing temporary output .*\.",
        # end of a run
        r"Complete log\(s\): \S+\.snakemake\.log",
        r"Elapsed time: \d+:\d\d:\d\d(\.\d+)?",
        r"Nothing to be done \(all requested files are present and up to date\)\.",
        # ours: workflow/rules/common.smk says which model x timepoint the data cannot feed (tests/tiny
        # has no placebo responder counts, so placebo_map is skipped at both timepoints)
        r"NOTE: \S.*",
    )
]

# Signs of a warning, an error or a traceback (Python's "SomethingWarning: ...", "warnings.warn(",
# logging's "WARNING", Snakemake's "Error in rule"). Checked on every line, allowed or not.
SUSPICIOUS = re.compile(
    r"\w*(Warning|Error|Exception)\b:|Traceback \(most recent call last\)|warnings\.warn\("
    r"|\bWARNING\b|\bError in rule\b|could not link to a BLAS",
    re.IGNORECASE,
)

# Lines that look suspicious but are known and justified, each with why (exact text, whole line).
# A clean run of tests/tiny on Debian 12 with libopenblas-dev and libgfortran-12-dev (see run.sh)
# prints none, so this is empty.
KNOWN_LINES: dict[str, str] = {}


def unexpected_lines(stderr: str) -> list[str]:
    """The lines of ``stderr`` that are neither an allowed line nor a known one, numbered."""
    bad = []
    for number, line in enumerate(stderr.splitlines(), 1):
        line = line.rstrip()
        if line in KNOWN_LINES:
            continue
        if SUSPICIOUS.search(line) or not any(p.fullmatch(line) for p in ALLOWED):
            bad.append(f"{number:5d}: {line}")
    return bad


def _stderr_of(tiny) -> str:
    path = tiny / STDERR_FILE
    assert path.is_file(), (
        f"{path} is missing: the tiny fixture (tests/conftest.py) should save its Snakemake run's stderr there"
    )
    return path.read_text(encoding="utf-8")


def test_clean_run_does_not_warn_about_blas(tiny):
    stderr = _stderr_of(tiny)
    count = stderr.count("could not link to a BLAS")
    assert count == 0, (
        f"PyTensor warned {count} time(s) that it could not link to a BLAS: install Debian's "
        f"libopenblas-dev and libgfortran-<g++ major version>-dev (bash run.sh does it as root)"
    )


def test_clean_run_stderr_has_only_snakemake_and_note_lines(tiny):
    bad = unexpected_lines(_stderr_of(tiny))
    assert not bad, (
        f"{len(bad)} unexpected line(s) on the stderr of a clean run of tests/tiny "
        f"(allow Snakemake lines in ALLOWED, justified ones in KNOWN_LINES):\n" + "\n".join(bad[:60])
    )


def test_the_check_flags_warnings_and_passes_snakemake_lines():
    """The allow-list is not so wide that it lets a warning or a traceback through."""
    normal = """Building DAG of jobs...
Job stats:
job                             count
----------------------------  -------
fit_pooled_rate_immediate           1
total                              63

[Tue Dec  1 02:43:26 2026]
localrule fit_pooled_rate_immediate:
    input: results/data/pooled_rate/immediate/used.csv
    output: results/fits/pooled_rate/immediate/idata.nc
    log: results/logs/fit/pooled_rate_immediate.log
    jobid: 12
    reason: Missing output files: results/fits/pooled_rate/immediate/idata.nc
    resources: tmpdir=/tmp
Finished jobid: 12 (Rule: fit_pooled_rate_immediate)
12 of 63 steps (19%) done
NOTE: placebo_map at immediate is skipped: no included placebo arm reports a responder count at immediate.
Complete log(s): /tmp/w/.snakemake/log/2026-12-01T024322.305792.snakemake.log
Elapsed time: 0:08:50.660694
"""
    assert unexpected_lines(normal) == []
    blas = (
        ".venv/lib/python3.11/site-packages/pytensor/link/c/cmodule.py:2986: UserWarning: PyTensor could not "
        "link to a BLAS installation. Operations that might benefit from BLAS will be severely degraded.\n"
        "This usually happens when PyTensor is installed via pip.\n"
        "  warnings.warn(\n"
    )
    assert len(unexpected_lines(normal + blas)) == 3
    others = [
        "Traceback (most recent call last):",
        "RuntimeWarning: divide by zero encountered in log",
        "WARNING (pytensor.tensor.blas): Using NumPy C-API based implementation for BLAS functions.",
        "Error in rule fit_pooled_rate_immediate:",
        "    input: FutureWarning: something",  # a warning inside an allowed banner field
        "sampling 2 chains, 0 divergences",
    ]  # anything else a job prints
    assert [line.split(": ", 1)[1] for line in unexpected_lines("\n".join(others))] == others
