#!/bin/sh
# Runs the analysis package's unit tests with Debian's Python (h5py, numpy, matplotlib).
# Exit status is non-zero when any test fails. Usage: tests/analysis/run_tests.sh [-v]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export MPLBACKEND=Agg PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 -m unittest discover -s "$here" -t "$here" -p 'test_*.py' "$@"
