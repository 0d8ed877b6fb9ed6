#!/usr/bin/env bash
# Configures and builds iclsweep in ./build (Release, -O3 -march=native). Extra arguments go to cmake,
# e.g. scripts/build.sh -DICL_NATIVE=OFF -DICL_ARCH=znver3 for cluster nodes that differ from this host.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${ICL_BUILD_DIR:-$root/build}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
