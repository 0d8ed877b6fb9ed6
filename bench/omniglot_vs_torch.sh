#!/usr/bin/env bash
# The Omniglot step (PAPER-SPEC §5.3: ResNet-v1 tokenizer + transformer + Adam, batch 32, 105x105, C = 1623,
# one thread) in iclsweep and in the PyTorch peer on its best path (oneDNN, channels_last), back to back in
# one run, with the speed-up per L from thread/process CPU time (robust on a shared machine) and wall clock.
#   bench/omniglot_vs_torch.sh [build/iclsweep] [PEER.py]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/iclsweep}
peer=${2:-$root/../shared/bench/torch_omniglot_bench.py}
[[ -n ${2:-} || -f $peer ]] || peer=$root/../../shared/bench/torch_omniglot_bench.py  # from a worktree under wt/
[[ -x $bin ]] || { echo "omniglot_vs_torch: $bin is not an executable: build it (cmake --build build --target iclsweep) or pass its path" >&2; exit 2; }
[[ -f $peer ]] || { echo "omniglot_vs_torch: peer script $peer not found: pass its path as the second argument" >&2; exit 2; }
echo "start: $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
ours=$("$bin" bench --model omniglot --L 2,4 --omniglot "$root/../shared/data/omniglot")
echo "$ours"
torch=$(OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 /usr/bin/python3 "$peer" --L 2,4 --size 105 --modes step \
          --backends onednn --channels_last)
echo "$torch"
echo "end: $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf "%4s %14s %14s %10s %16s %16s %10s\n" L "iclsweep cpu" "PyTorch cpu" speed-up "iclsweep wall" "PyTorch wall" speed-up
for L in 2 4; do
  read -r o_wall o_cpu < <(awk -v L="$L" '$1 == L && NF >= 9 { print $3, $4 }' <<< "$ours")
  t_wall=$(sed -n "s/.* L=$L .* ms_median=\([0-9.]*\) .*/\1/p" <<< "$torch")
  t_cpu=$(sed -n "s/.* L=$L .*cpu_ms_median=\([0-9.]*\) .*/\1/p" <<< "$torch")
  awk -v L="$L" -v oc="$o_cpu" -v tc="$t_cpu" -v ow="$o_wall" -v tw="$t_wall" \
    'BEGIN { printf "%4d %11.1f ms %11.1f ms %9.2fx %13.1f ms %13.1f ms %9.2fx\n", L, oc, tc, tc / oc, ow, tw, tw / ow }'
done
