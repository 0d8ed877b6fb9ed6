#!/usr/bin/env bash
# Installs the Debian packages, builds, and runs the whole test suite (unit, MPI, Slurm) with CTest.
# Usage: scripts/test.sh [ctest arguments, e.g. -R unit. or -L mpi]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/install-deps.sh" --with-slurm
# The tests run MPI jobs as root with more ranks than cores; these settings are for the test run only.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMPI_MCA_rmaps_base_oversubscribe=1
bash "$root/scripts/build.sh"
cd "${ICL_BUILD_DIR:-$root/build}"
ctest --output-on-failure --timeout 900 "$@"
