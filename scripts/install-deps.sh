#!/usr/bin/env bash
# Installs the Debian 12 packages iclsweep builds, tests and analyses with.
# Idempotent: packages already present are skipped by apt; safe to rerun.
# Usage: scripts/install-deps.sh [--with-slurm] [--with-bench]
set -euo pipefail

packages=(
  build-essential cmake pkg-config git procps   # procps: pkill in the MPI tests
  libopenmpi-dev openmpi-bin            # MPI ranks
  libhdf5-openmpi-dev hdf5-tools        # parallel HDF5 1.10 (+ h5dump)
  libeigen3-dev                         # numerics
  libboost-program-options-dev libboost-test-dev
  libxxhash-dev                         # stable point ids
  librandom123-dev                      # Philox counter-based RNG (header-only)
  libzip-dev libspng-dev                # Omniglot: zips read in place, PNG decoding
  libbenchmark-dev                      # Google Benchmark
  python3-h5py python3-numpy python3-matplotlib   # analysis/ (run with /usr/bin/python3)
  python3-pandas python3-xarray         # analysis/ tables (iclsweep_analysis.tidy; xarray optional)
)
for arg in "$@"; do
  case "$arg" in
    # iproute2 (ip netns) and util-linux (nsenter, unshare): tests/cluster/virtual-cluster, the multi-node tests
    --with-slurm) packages+=(slurm-wlm munge iproute2 util-linux) ;;
    --with-bench) packages+=(python3-torch libopenblas0-pthread) ;;
    *) echo "install-deps.sh: unknown option '$arg' (known: --with-slurm --with-bench)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"
