#!/usr/bin/env bash
# A sleep-based stand-in for `iclsweep run`/`status` that obeys the engine's signal and exit-code contract,
# for developing slurm/ without the real engine. The CTest tests use the real engine; this file only
# serves `tests/slurm/run_test.sh --engine tests/slurm/fake_engine.sh` by hand.
#   fake_engine.sh run JOB --out FILE [--grace S] [--set k=v ...]   JOB has lines "points = N", "seconds = S"
#   fake_engine.sh list JOB                                            exit 0 (slurm/submit validates with it)
#   fake_engine.sh status FILE                                         exit 0 if complete, 3 if not
# FILE is text: one committed point per line, "p<index> job=<SLURM_JOB_ID>".
set -uo pipefail
cmd=${1:-}; shift || true
rank=${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-${SLURM_PROCID:-0}}}
case "$cmd" in
  status)
    f=$1; total=$(cat "$f.total" 2>/dev/null || echo 0); done_=$(cut -d' ' -f1 "$f" 2>/dev/null | sort -u | wc -l)
    echo "done $done_ of $total"; [ "$done_" -ge "$total" ] && [ "$total" -gt 0 ] && exit 0; exit 3 ;;
  list) echo "job $1: fake job"; exit 0 ;;   # slurm/submit validates with `list`
  run) ;;
  *) echo "fake_engine: unknown command '$cmd'" >&2; exit 2 ;;
esac
job=$1; shift; out=""
while [ $# -gt 0 ]; do case "$1" in --out) out=$2; shift 2 ;; --grace) shift 2 ;; --set) shift 2 ;; *) echo "bad arg $1" >&2; exit 2 ;; esac; done
points=$(awk -F= '/^ *points/ {gsub(/ /,"",$2); print $2}' "$job"); seconds=$(awk -F= '/^ *seconds/ {gsub(/ /,"",$2); print $2}' "$job")
[ -n "$points" ] && [ -n "$seconds" ] || { echo "fake_engine: $job needs points= and seconds=" >&2; exit 2; }
if [ "$rank" != 0 ]; then trap '' USR1 TERM INT; exit 0; fi
draining=0; trap 'draining=1; echo "fake_engine: drain requested"' USR1 TERM INT
echo "$points" > "$out.total"; touch "$out"
for i in $(seq 0 $((points - 1))); do
  grep -q "^p$i " "$out" && continue
  [ "$draining" = 1 ] && { echo "fake_engine: drained"; exit 3; }
  t=0; while [ "$(awk -v t="$t" -v s="$seconds" 'BEGIN{print (t < s*10)}')" = 1 ]; do sleep 0.1; t=$((t + 1)); done
  echo "p$i job=${SLURM_JOB_ID:-none}" >> "$out"
done
echo "fake_engine: complete"; exit 0
