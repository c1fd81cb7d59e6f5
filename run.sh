#!/usr/bin/env bash
# One entry point, two commands (see README.md):
#   bash run.sh analysis [snakemake options]   set up .venv if needed, then run the whole analysis
#   bash run.sh test     [pytest options]      set up .venv if needed, lint, then run the test suite
#   bash run.sh lint                           ruff, ruff format and snakefmt, checking only
# Set-up is idempotent: the virtual environment is created once and
# re-installed only when pyproject.toml or constraints.txt change.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

usage() { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ $# -ge 1 ] || usage
command=$1; shift

python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      python=$candidate; break
    fi
  done
fi
[ -n "$python" ] || { echo "run.sh: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2; exit 1; }

venv=.venv
if [ ! -x "$venv/bin/python" ]; then
  echo "run.sh: creating $venv with $python" >&2
  "$python" -m venv "$venv"
fi
stamp="$venv/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "run.sh: installing pinned dependencies into $venv" >&2
  if ! "$venv/bin/python" -m pip install --disable-pip-version-check -c constraints.txt -e ".[test]" > "$venv/install.log" 2>&1; then
    tail -n 30 "$venv/install.log" >&2; echo "run.sh: installation failed; full log in $venv/install.log" >&2; exit 1
  fi
  rm -f "$venv"/.installed-*
  touch "$stamp"
fi
export PATH="$PWD/$venv/bin:$PATH"

# The report's browser test drives Debian's chromium through chromium-driver;
# as root (CI, a fresh container) they are installed here, else say how.
ensure_browser() {
  command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "run.sh: installing Debian's chromium and chromium-driver (for the report's browser test)" >&2
    if ! { apt-get install -y chromium chromium-driver || { apt-get update && apt-get install -y chromium chromium-driver; }; } \
         > "$venv/apt.log" 2>&1; then
      tail -n 20 "$venv/apt.log" >&2; echo "run.sh: chromium could not be installed; the browser test will fail" >&2
    fi
  else
    echo "run.sh: chromium and chromedriver are missing; the browser test will fail until you run" \
         "'sudo apt-get install chromium chromium-driver'" >&2
  fi
}

# PyTensor compiles the models to C and links its matrix products (Gemm, Gemv)
# against a system BLAS that it looks for itself in every process; finding none,
# it warns "PyTensor could not link to a BLAS installation" once per job and
# falls back to NumPy from Python. Of the libraries it tries (pytensor 2.38,
# cmodule.default_blas_ldflags: MKL; blas + cblas; openblas + gfortran + gomp),
# Debian can give openblas + gfortran: libopenblas.so from libopenblas-dev and
# libgfortran.so from the libgfortran-N-dev of g++'s own version (libgomp.so comes
# with g++). NumPy's bundled OpenBLAS cannot serve: its symbols are renamed
# (scipy_dgemm_64_). As root they are installed here, else say how.
ensure_blas() {
  local missing=() lib
  if command -v g++ >/dev/null 2>&1; then
    for lib in openblas:libopenblas-dev "gfortran:libgfortran-$(g++ -dumpversion | cut -d. -f1)-dev"; do
      [ "$(g++ -print-file-name="lib${lib%%:*}.so")" != "lib${lib%%:*}.so" ] || missing+=("${lib#*:}")
    done
  else
    missing=(g++ gfortran libopenblas-dev)  # no compiler: PyTensor cannot compile to C at all
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "run.sh: installing Debian's ${missing[*]} (a BLAS for PyTensor's compiled models)" >&2
    if ! { apt-get install -y "${missing[@]}" || { apt-get update && apt-get install -y "${missing[@]}"; }; } \
         > "$venv/apt.log" 2>&1; then
      tail -n 20 "$venv/apt.log" >&2; echo "run.sh: ${missing[*]} could not be installed; PyTensor will warn that it has no BLAS" >&2
    fi
  else
    echo "run.sh: PyTensor will warn 'could not link to a BLAS installation' (and run slower) until you run" \
         "'sudo apt-get install ${missing[*]}'" >&2
  fi
}

# The linters the suite's code is held to (settings in pyproject.toml): they check, never rewrite.
# To fix what they report: ruff check --fix . && ruff format . && snakefmt Snakefile workflow/rules
lint() {
  ruff check --quiet . && ruff format --check --quiet . && snakefmt --check Snakefile workflow/rules 2>/dev/null \
    || { echo "run.sh: lint failed (fix with: ruff check --fix . && ruff format . && snakefmt Snakefile workflow/rules)" >&2; return 1; }
}

case "$command" in
  analysis) ensure_blas; exec snakemake --cores all "$@" ;;
  lint) lint ;;
  test) lint; ensure_browser; ensure_blas; exec python -m pytest "$@" ;;
  setup) exit 0 ;;
  *) usage ;;
esac
