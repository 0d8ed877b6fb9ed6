#!/usr/bin/env bash
# Configures and builds iclsweep in ./build (Release, -O3 -march=native).
# Usage: scripts/build.sh [--target NAME]... [CMAKE-ARGS...]
#   --target NAME  builds only NAME (and what it links), e.g. --target iclsweep for the engine alone
#                  (scripts/run-local.sh); without it everything is built, the tests included.
#   Other arguments go to cmake, e.g. scripts/build.sh -DICL_NATIVE=OFF -DICL_ARCH=znver3 for cluster nodes
#   that differ from this host.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${ICL_BUILD_DIR:-$root/build}"
targets=()
cmake_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --target)
      [ $# -ge 2 ] && [ -n "$2" ] || { echo "scripts/build.sh: --target needs a target name, e.g. --target iclsweep" >&2; exit 2; }
      targets+=(--target "$2"); shift 2 ;;
    --target=*) targets+=(--target "${1#--target=}"); shift ;;
    *) cmake_args+=("$1"); shift ;;
  esac
done
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release ${cmake_args[@]+"${cmake_args[@]}"} >/dev/null
cmake --build "$build" -j"$(nproc)" ${targets[@]+"${targets[@]}"}
