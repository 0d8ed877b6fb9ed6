#!/usr/bin/env bash
# Runs slurm/submit against a real single-node Slurm cluster on localhost (tests/slurm/local-slurm.sh)
# and checks the results file afterwards. Needs root (the cluster runs as root); exits 77 (CTest: skipped)
# when not root. The cluster is started if it is not running and then always stopped again (trap), also on
# failure; a cluster that was already running is left running.
#
#   run_test.sh SCENARIO --engine PATH --job JOB.ini --work DIR [--launcher srun|mpirun] [--check PY]
#     complete  submit (after a dependency job), wait, check: complete, one launch, nothing duplicated
#     drain     submit, wait for the first committed points, `scancel --signal=USR1 --batch` the job;
#               check: exit 3 -> continuation submitted and completes the sweep, nothing lost or duplicated,
#               a job that depended on the first launch ran only after the whole sweep was complete
#     cancel    a plain scancel (SIGTERM to every process of the job) mid-sweep: the launch drains (the points
#               running at the scancel are committed: one scancel is one drain request, and mpirun leaves
#               the ranks time), no continuation; the same slurm/submit command run again resumes and
#               completes the sweep without recomputing anything
#     timelimit a --time too short for the sweep: Slurm's own --signal=B:USR1@lead drains each launch and the
#               chain of continuations completes the sweep (4-8 minutes: Slurm time limits are whole minutes)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
scenario=${1:?usage: run_test.sh complete|drain --engine PATH --job JOB.ini --work DIR}; shift
engine="" job="" work="" launcher=srun check="$here/check_results.py" ranks=2 nodes=""
while [ $# -gt 0 ]; do
  case "$1" in
    --engine) engine=$2; shift 2 ;;
    --job) job=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --launcher) launcher=$2; shift 2 ;;
    --check) check=$2; shift 2 ;;
    --ranks) ranks=$2; shift 2 ;;
    --nodes) nodes=$2; shift 2 ;;   # slurm/submit --nodes (tests/cluster: ranks spread over the nodes)
    *) echo "run_test.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ -x "$engine" ] && [ -f "$job" ] && [ -n "$work" ] || { echo "run_test.sh: need --engine, --job and --work" >&2; exit 2; }

if [ "$(id -u)" -ne 0 ]; then echo "SKIP: the local Slurm cluster needs root"; exit 77; fi

say() { printf '[slurm-test %s] %s\n' "$(date +%T)" "$*"; }
fail() { say "FAIL: $*"; exit 1; }

# the jobs inherit this environment (sbatch --export=ALL): mpirun as root, more ranks than cores
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# cancel: points of ~2 s must finish inside the drain that KillWait allows (mpirun gets (KillWait - 4) / 2 s)
if [ "$scenario" = cancel ]; then export SLURM_LOCAL_KILLWAIT=${SLURM_LOCAL_KILLWAIT:-20}; fi
export SLURM_LOCAL_KILLWAIT=${SLURM_LOCAL_KILLWAIT:-10}
cluster="$here/local-slurm.sh"
started_cluster=0
results="$work/results.h5"
logs="$results.logs"

cleanup() {
  local rc=$?
  if [ -d "$logs" ]; then
    say "---- $logs/chain.log"; cat "$logs/chain.log" 2>/dev/null || true
    for f in "$logs"/*.out; do [ -f "$f" ] && { say "---- $f"; tail -n 40 "$f"; }; done
  fi
  if [ "$started_cluster" = 1 ]; then bash "$cluster" stop || true
  else
    # a cluster someone else started stays up, but the jobs of this test go
    local ids; ids=$(squeue -h -o '%i|%k' 2>/dev/null | awk -F'|' -v c="iclsweep:$results" '$2 == c { print $1 }' || true)
    [ -z "$ids" ] || scancel $ids || true
  fi
  say "exit $rc"
  exit $rc
}
trap cleanup EXIT

cluster_running() {   # cheap: the recorded slurmctld PID is alive (sinfo/scontrol retry for ~10 s without a controller)
  local pid comm=""
  pid=$(cat "${SLURM_LOCAL_DIR:-/tmp/slurm-local}/run/slurmctld.pid" 2>/dev/null) || return 1
  { read -r comm < "/proc/$pid/comm"; } 2>/dev/null || return 1
  [ "$comm" = slurmctld ] && timeout 10 scontrol ping >/dev/null 2>&1
}
if cluster_running; then
  say "using the running local cluster"
else
  started_cluster=1        # set before start: a half-started cluster is stopped too
  bash "$cluster" start
fi

rm -rf "$work"; mkdir -p "$work"; cd "$work"

sweep_jobs() {   # ids of this sweep's queued or running jobs
  squeue -h -o '%i|%k' 2>/dev/null | awk -F'|' -v c="iclsweep:$results" '$2 == c { print $1 }'
}
wait_chain() {   # wait until no job of this sweep is queued or running
  local limit=$1 t0; t0=$(date +%s)
  while [ -n "$(sweep_jobs)" ]; do
    [ $(( $(date +%s) - t0 )) -lt "$limit" ] || fail "sweep still running after ${limit}s: $(sweep_jobs | tr '\n' ' ')"
    sleep 0.5
  done
}
job_state() { scontrol -o show job "$1" | sed -E 's/.*JobState=([A-Z_]+).* ExitCode=([0-9:]+).*/\1 \2/'; }

submit=("$root/slurm/submit" "$job" --ranks "$ranks" --time 00:10:00 --grace 20 --out "$results"
        --iclsweep "$engine" --launcher "$launcher" --max-continuations 3 ${nodes:+--nodes "$nodes"})
t0=$(date +%s)

case "$scenario" in
  complete)
    # the sweep waits for another job (--dependency), like a sweep that waits for its build job
    before=$(sbatch --parsable -n1 -o "$work/before.out" --wrap 'sleep 2' | cut -d';' -f1)
    first=$("${submit[@]}" --dependency "afterok:$before")
    [[ "$first" =~ ^[0-9]+$ ]] || fail "slurm/submit printed '$first', not a job id"
    say "submitted $first (after $before)"
    wait_chain 240
    [ "$(job_state "$first")" = "COMPLETED 0:0" ] || fail "job $first ended as $(job_state "$first")"
    grep -q "job=$first continuation=0 complete (exit 0)" "$logs/chain.log" || fail "chain.log does not say job $first completed the sweep"
    [ "$(grep -c 'continuation [0-9]* is job' "$logs/chain.log" || true)" = 0 ] || fail "a continuation was submitted for a sweep that fitted in one job"
    /usr/bin/python3 "$check" "$results" --engine "$engine" --jobs "$first"
    ;;
  drain)
    first=$("${submit[@]}")
    [[ "$first" =~ ^[0-9]+$ ]] || fail "slurm/submit printed '$first', not a job id"
    # an analysis job that must only run once the WHOLE sweep is done, not after the first launch
    after=$(sbatch --parsable -n1 -o "$work/after.out" --dependency "afterok:$first" \
              --wrap "$engine status $results" | cut -d';' -f1)
    say "submitted $first; dependent job $after"
    # drain only after at least one point is committed, so the continuation really resumes
    t1=$(date +%s)
    until /usr/bin/python3 "$check" "$results" --min-done 1; do
      [ $(( $(date +%s) - t1 )) -lt 120 ] || fail "no point committed within 120 s"
      [ -n "$(sweep_jobs)" ] || fail "the sweep ended before it could be drained"
      sleep 0.5
    done
    date +%s.%N > "$work/signal.time"   # tests/cluster: which points were running at the signal
    say "points committed; sending SIGUSR1 to the batch shell of $first (what --signal=B:USR1@lead does at the time limit)"
    scancel --signal=USR1 --batch "$first"
    # once the first launch has ended, remember what it committed: the continuation must not redo any of it
    t1=$(date +%s)
    while scontrol -o show job "$first" | grep -qE 'JobState=(RUNNING|COMPLETING)'; do
      [ $(( $(date +%s) - t1 )) -lt 120 ] || fail "job $first did not end within 120 s of SIGUSR1"
      sleep 0.2
    done
    /usr/bin/python3 "$check" "$results" --snapshot "$work/after-drain.json"
    wait_chain 240
    [ "$(job_state "$first")" = "COMPLETED 0:0" ] || fail "drained job $first ended as $(job_state "$first") (expected a clean hand-off)"
    grep -q "job=$first continuation=0 drained (exit 3) -> continuation 1 is job" "$logs/chain.log" \
      || fail "chain.log does not show job $first draining and handing off"
    second=$(sed -nE "s/.*job=$first continuation=0 drained \(exit 3\) -> continuation 1 is job ([0-9]+).*/\1/p" "$logs/chain.log")
    [ "$(job_state "$second")" = "COMPLETED 0:0" ] || fail "continuation $second ended as $(job_state "$second")"
    grep -q "job=$second continuation=1 complete (exit 0)" "$logs/chain.log" || fail "continuation $second did not complete the sweep"
    /usr/bin/python3 "$check" "$results" --engine "$engine" --jobs "$first,$second" --against "$work/after-drain.json"
    # the dependent job was moved to the continuation, ran after it, and saw a complete sweep
    t1=$(date +%s)
    while scontrol -o show job "$after" | grep -qE 'JobState=(PENDING|RUNNING|COMPLETING)'; do
      [ $(( $(date +%s) - t1 )) -lt 60 ] || fail "dependent job $after did not finish"
      sleep 0.5
    done
    [ "$(job_state "$after")" = "COMPLETED 0:0" ] || fail "dependent job $after ended as $(job_state "$after"): it ran before the sweep was complete, or was cancelled"
    grep -q "job $after now depends on the continuation" "$logs/chain.log" || fail "chain.log does not record moving job $after's dependency"
    ;;
  cancel)
    # scancel = SIGTERM: the launch drains but the chain stops; rerunning the same submit resumes the sweep.
    # 8 points of ~1.8 s: both ranks are inside a point when the scancel comes, and the points outlast
    # mpirun's old 1-s kill and the old "second signal" that dropped them at once.
    cancel_submit=("${submit[@]}" --set train.steps=24000 --set seeds=0..3)
    first=$("${cancel_submit[@]}")
    [[ "$first" =~ ^[0-9]+$ ]] || fail "slurm/submit printed '$first', not a job id"
    t1=$(date +%s)
    until /usr/bin/python3 "$check" "$results" --min-done 1; do
      [ $(( $(date +%s) - t1 )) -lt 120 ] || fail "no point committed within 120 s"
      [ -n "$(sweep_jobs)" ] || fail "the sweep ended before it could be cancelled"
      sleep 0.2
    done
    /usr/bin/python3 "$check" "$results" --snapshot "$work/at-cancel.json"
    say "points committed; scancel $first"
    date +%s.%N > "$work/signal.time"
    scancel "$first"
    wait_chain 120
    grep -q "job=$first continuation=0 drained after cancellation (exit 3); no continuation" "$logs/chain.log" \
      || fail "chain.log does not show job $first draining on scancel and stopping"
    ! grep -q "continuation 1 is job" "$logs/chain.log" || fail "a cancelled sweep submitted a continuation"
    # one scancel reaches rank 0 from Slurm and through the launcher: one drain request, not a second signal
    ! grep -q "second signal: abandoning" "$logs/$first.out" || fail "one scancel counted as two signals: running points were dropped"
    /usr/bin/python3 "$check" "$results" --snapshot "$work/after-cancel.json"
    at_cancel=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$work/at-cancel.json")
    after=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$work/after-cancel.json")
    say "committed: $at_cancel at the scancel, $after after the drain"
    [ "$after" -ge $((at_cancel + 2)) ] || fail "the 2 points running at the scancel were not both committed ($at_cancel -> $after): the cancellation dropped them"
    rc=0; "$engine" status "$results" >/dev/null || rc=$?
    [ "$rc" = 3 ] || fail "'iclsweep status' after the cancel exited $rc, expected 3 (incomplete, resumable)"
    say "resuming by hand: the same slurm/submit command again"
    second=$("${cancel_submit[@]}")
    [[ "$second" =~ ^[0-9]+$ ]] || fail "slurm/submit printed '$second', not a job id"
    wait_chain 240
    grep -q "job=$second continuation=0 complete (exit 0)" "$logs/chain.log" || fail "the resubmitted job $second did not complete the sweep"
    /usr/bin/python3 "$check" "$results" --engine "$engine" --jobs "$first,$second" --against "$work/after-cancel.json"
    ;;
  timelimit)
    # the real thing: a --time too short for the sweep; Slurm's --signal=B:USR1@lead starts the drain.
    # Slurm rounds --time up to whole minutes and checks time limits every 30 s, so with 2 minutes and a
    # 50 s lead the warning comes 40-70 s into a launch. The sweep must outlast that on the fastest machine
    # (CI did 256 of these points in 43 s on 2 ranks, so 640 points are ~110 s there) and still finish on a
    # slow or loaded one within the continuations allowed here (each launch does 40-70 s of the work).
    submit=("${submit[@]/00:10:00/${TIMELIMIT_TIME:-00:02:00}}")
    for i in "${!submit[@]}"; do
      [ "${submit[$i]}" != --max-continuations ] || submit[$((i + 1))]=${TIMELIMIT_MAX_CONTINUATIONS:-8}
    done
    first=$("${submit[@]}" --grace 5 --signal-lead "${TIMELIMIT_LEAD:-50}" --set "${TIMELIMIT_SET:-seeds=0..319}")
    [[ "$first" =~ ^[0-9]+$ ]] || fail "slurm/submit printed '$first', not a job id"
    say "submitted $first with a $(scontrol -o show job "$first" | sed -E 's/.*TimeLimit=([^ ]+).*/\1/') time limit"
    wait_chain "${TIMELIMIT_WAIT:-1200}"
    grep -q "job=$first continuation=0 received\|job=$first continuation=0 drained (exit 3) -> continuation 1 is job" "$logs/chain.log" \
      || fail "job $first did not drain at its time limit"
    grep -q "received SIGUSR1" "$logs/$first.out" || fail "job $first's batch shell never got SIGUSR1 from --signal"
    last=$(sed -nE 's/.* job=([0-9]+) continuation=[0-9]+ complete \(exit 0\).*/\1/p' "$logs/chain.log")
    [ -n "$last" ] || fail "the chain did not complete the sweep"
    jobs=$(sed -nE 's/.* job=([0-9]+) continuation=[0-9]+ (drained|complete).*/\1/p' "$logs/chain.log" | awk '!seen[$0]++' | paste -sd,)
    /usr/bin/python3 "$check" "$results" --engine "$engine" --jobs "$jobs"
    ;;
  *) fail "unknown scenario '$scenario'" ;;
esac
say "PASS: $scenario with $launcher in $(( $(date +%s) - t0 )) s"
