#!/usr/bin/env bash
# Coordinator benchmark: points/s and rank 0's coordinator CPU for a sweep of 1200 short points
# (bench/jobs/short_points.ini), on 2 and 6 MPI ranks, plus the time of a resume of the complete file.
#
#   bench/coordinator_bench.sh [--engine build/iclsweep] [--ranks "2 6"] [--work DIR] [--label NAME] [--csv FILE]
#
# Prints one line per rank count; with --csv appends "label,ranks,points,seconds,points_per_s,coord_cpu_s,
# coord_cpu_percent,resume_s" rows (bench/plot_coordinator.py draws them). Run on an idle machine and note
# `uptime`: the points are short, so a busy machine shows up directly in the numbers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
engine="$root/build/iclsweep" ranks_list="2 6" work="${TMPDIR:-/tmp}/iclsweep-coordinator-bench" label=current csv=""
job="$root/bench/jobs/short_points.ini"
while [ $# -gt 0 ]; do
  case "$1" in
    --engine) engine=$2; shift 2 ;;
    --ranks) ranks_list=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --label) label=$2; shift 2 ;;
    --csv) csv=$2; shift 2 ;;
    --job) job=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$work"
mpirun_flags=(--bind-to none --oversubscribe)
[ "$(id -u)" -eq 0 ] && mpirun_flags+=(--allow-run-as-root)
echo "# $(date -u +%FT%TZ) $(uptime | sed 's/.*load/load/') engine=$engine label=$label"
for np in $ranks_list; do
  out="$work/short_${label}_np$np.h5"
  rm -f "$out" "$out.lock"
  mpirun "${mpirun_flags[@]}" -np "$np" "$engine" run "$job" --out "$out" --progress 1000 > "$out.log" 2>&1 \
    || { tail -20 "$out.log"; echo "sweep on $np ranks failed" >&2; exit 1; }
  line=$(grep "this launch:" "$out.log")
  # "... this launch: 1200 points in 35.5 s, coordinator CPU 1.77 s (5.0% of one core)"
  read -r points seconds cpu pct < <(sed -E 's/.*this launch: ([0-9]+) points in ([0-9.]+) s, coordinator CPU ([0-9.]+) s \(([0-9.]+)%.*/\1 \2 \3 \4/' <<<"$line")
  t0=$(date +%s.%N)
  mpirun "${mpirun_flags[@]}" -np "$np" "$engine" run "$job" --out "$out" -q > "$out.resume.log" 2>&1 \
    || { cat "$out.resume.log"; echo "resume on $np ranks failed" >&2; exit 1; }
  resume=$(echo "$(date +%s.%N) - $t0" | bc -l)
  rate=$(echo "$points / $seconds" | bc -l)
  printf '%d ranks: %d points in %.1f s = %.1f points/s; coordinator CPU %.2f s (%.1f%% of one core); resume of the complete file %.2f s\n' \
    "$np" "$points" "$seconds" "$rate" "$cpu" "$pct" "$resume"
  [ -n "$csv" ] && printf '%s,%d,%d,%.2f,%.2f,%.3f,%.1f,%.3f\n' "$label" "$np" "$points" "$seconds" "$rate" "$cpu" "$pct" "$resume" >> "$csv"
done
