#!/usr/bin/env bash
# One entry point, two commands (see README.md):
#   bash run.sh analysis [snakemake options]   set up .venv if needed, then run the whole analysis
#   bash run.sh test     [pytest options]      set up .venv if needed, then run the test suite
# Set-up is idempotent: the virtual environment is created once and
# re-installed only when pyproject.toml or constraints.txt change.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

usage() { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
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

case "$command" in
  analysis) exec snakemake --cores all "$@" ;;
  test) ensure_browser; exec python -m pytest "$@" ;;
  setup) exit 0 ;;
  *) usage ;;
esac
