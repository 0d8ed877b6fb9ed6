#!/usr/bin/env bash
# The main job on one machine, no Slurm: installs the packages, builds the iclsweep binary (not the tests), and runs a small real sweep
# (jobs/local.ini) with one MPI rank per core, prints the summary table, and draws the job's figures
# (analysis/plot.py --figure all) into RESULTS-figures/, printing where they are.
# Usage: scripts/run-local.sh [JOB.ini] [RESULTS.h5] [extra `iclsweep run` options, e.g. --set train.steps=500]
# Rerunning resumes: points already in RESULTS.h5 are skipped.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
job="${1:-$root/jobs/local.ini}"
out="${2:-$root/results/local.h5}"
shift $(( $# > 2 ? 2 : $# ))
bash "$root/scripts/install-deps.sh"
# Only what this script runs: the iclsweep binary (the test suite is scripts/test.sh's business).
bash "$root/scripts/build.sh" --target iclsweep
mkdir -p "$(dirname "$out")"
ranks="${ICL_RANKS:-$(nproc)}"
mpirun_flags=(-np "$ranks" --bind-to none)
# Open MPI refuses to run as root unless told to; this script is for one's own machine.
[ "$(id -u)" -eq 0 ] && mpirun_flags+=(--allow-run-as-root)
echo "== iclsweep run $job -> $out on $ranks rank(s)"
# mpirun-drain: Ctrl-C and SIGTERM drain the sweep (exit 3, rerun to resume) instead of mpirun killing it.
"$root/scripts/mpirun-drain" "${mpirun_flags[@]}" "$root/build/iclsweep" run "$job" --out "$out" "$@"
figures="${out%.h5}-figures"
echo "== analysis/plot.py $out --figure all --out $figures"
# Figures the file cannot support print a "skipped" line with the reason; only the written ones are shown here.
/usr/bin/python3 "$root/analysis/plot.py" "$out" --figure all --out "$figures" | grep -v '^skipped' \
  || echo "no figure for this job (analysis/plot.py $out --figure all lists why)"
echo "figures: $figures/  (e.g. $figures/noisy_inputs_v1_sigma0.2.png for jobs/local.ini); text summary: /usr/bin/python3 analysis/report.py $out"
