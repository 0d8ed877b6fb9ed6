#!/usr/bin/env bash
# Multi-node Slurm tests: slurm/submit --nodes 2 on tests/cluster/virtual-cluster (3 compute nodes, each its own
# network + UTS namespace on one host), running the real engine. Every scenario starts the cluster and always
# stops it again (trap: success, failure, Ctrl-C). Needs root and network namespaces: exits 77 (CTest: skipped)
# with the reason where they are not permitted.
#
#   cluster_test.sh SCENARIO --engine PATH --work DIR [--reference FILE] [--fixture PATH]
#     selftest   virtual-cluster selftest: srun and mpirun tasks on two nodes name two hosts
#     reference  a 1-rank run of tests/slurm/tiny.ini on the host (no Slurm): the values the others must match
#     complete_srun / complete_mpirun
#                tests/slurm/run_test.sh complete --nodes 2: ranks on icl-n1 and icl-n2 (host column), values
#                bit-identical to the reference
#     drain      run_test.sh drain (scancel --signal=USR1 --batch) --nodes 2: a point running on the remote node
#                at the signal is committed, exit 3 -> continuation completes, bit-identical
#     cancel     run_test.sh cancel (plain scancel) --nodes 2: the same for SIGTERM, resubmitted by hand
#     timelimit  run_test.sh timelimit --nodes 2: Slurm's own time-limit warning drains, continuations complete
#     node_loss  power cut of icl-n2 mid-sweep (link down, every process of the node SIGKILLed): the job ends
#                (Slurm requeues it: NODE_FAIL), the file opens with every committed point intact, the requeued
#                launch finishes the sweep on the surviving nodes, bit-identical to the reference
#     rank_lost  the rank on icl-n2 is SIGKILLed, its node lives on: --point-timeout hands its point out again,
#                the sweep completes, and the job ends COMPLETED with the engine's exit code 0
#     data       an Omniglot sweep and an lm_facts sweep: points committed on the remote node icl-n2
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
scenario=${1:?usage: cluster_test.sh SCENARIO --engine PATH --work DIR}; shift
engine="" work="" reference="" fixture=""
while [ $# -gt 0 ]; do
  case "$1" in
    --engine) engine=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --reference) reference=$2; shift 2 ;;
    --fixture) fixture=$2; shift 2 ;;
    *) echo "cluster_test.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ -x "$engine" ] && [ -n "$work" ] || { echo "cluster_test.sh: need --engine and --work" >&2; exit 2; }

say() { printf '[cluster-test %s] %s\n' "$(date +%T)" "$*"; }
fail() { say "FAIL: $*"; exit 1; }

job="$root/tests/slurm/tiny.ini"
vc="$here/virtual-cluster"
export VCLUSTER_DIR=${VCLUSTER_DIR:-/tmp/iclsweep-vcluster}

# values a point's numbers may depend on: everything under /points except who ran it and when
same_values() {   # same_values A B
  local p
  for p in /points/status /points/id /points/train /points/checkpoint /points/eval /points/selected /points/model /points/params; do
    HDF5_USE_FILE_LOCKING=FALSE h5diff -q "$1" "$2" "$p" "$p" \
      || { HDF5_USE_FILE_LOCKING=FALSE h5diff -r "$1" "$2" "$p" "$p" | head -20; return 1; }
  done
}

rm -rf "$work"; mkdir -p "$work"; cd "$work"

if [ "$scenario" = reference ]; then
  # one process, no MPI launcher, no Slurm: the plainest way to compute the sweep
  "$engine" run "$job" --out "$work/reference.h5" > reference.log 2>&1 || { cat reference.log; fail "reference run failed"; }
  say "PASS: reference.h5 ($(grep -c . reference.log) lines of log)"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then echo "SKIP: the virtual cluster needs root (network namespaces, Slurm daemons)"; exit 77; fi
if ! unshare --net --uts --mount true 2>/dev/null; then
  echo "SKIP: network/UTS/mount namespaces are not permitted here (unshare --net --uts --mount failed); the virtual cluster needs them"
  exit 77
fi
if ! command -v ip >/dev/null; then fail "'ip' (iproute2) is missing: scripts/install-deps.sh --with-slurm installs it"; fi

# test-harness-only MPI settings: root, and (mpirun) more ranks than a node's declared CPUs if ever asked
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

if [ "$scenario" = selftest ]; then exec bash "$vc" selftest; fi

t_start=$(date +%s)
started=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # only a cluster this test started: a start that fails (e.g. another test's cluster is up) undoes itself
  if [ "$started" = 1 ]; then bash "$vc" stop || true; fi
  say "exit $rc after $(( $(date +%s) - t_start )) s"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# another test's virtual cluster (a concurrent run from another checkout) is refused, never stopped
[ ! -e "/run/netns/${VCLUSTER_PREFIX:-iclvc}-ctl" ] || fail "a virtual cluster is already running (namespace ${VCLUSTER_PREFIX:-iclvc}-ctl); wait for it, or stop it with '$vc stop' if it is a leftover"
started=1    # from here on, stop on any exit: a start that fails or is interrupted has undone itself already
bash "$vc" start
in_cluster() { bash "$vc" exec "$@"; }

# tests/slurm/run_test.sh, run on the login node: it finds this cluster's slurmctld by its PID file in
# SLURM_LOCAL_DIR and leaves the cluster alone (this script stops it)
run_slurm_test() {   # run_slurm_test SCENARIO LAUNCHER
  in_cluster env SLURM_LOCAL_DIR="$VCLUSTER_DIR" bash "$root/tests/slurm/run_test.sh" "$1" --launcher "$2" \
    --engine "$engine" --job "$job" --work "$work/run" --nodes 2 ${RUN_TEST_ARGS:-}
}
need_reference() { [ -f "$reference" ] || fail "no reference file '$reference' (the cluster.reference test writes it)"; }
results="$work/run/results.h5"

case "$scenario" in
  complete_srun|complete_mpirun)
    need_reference
    run_slurm_test complete "${scenario#complete_}"
    /usr/bin/python3 "$here/hosts.py" "$results" --expect icl-n1,icl-n2 || fail "the ranks did not run on both nodes"
    same_values "$reference" "$results" || fail "values differ from the 1-rank reference"
    ;;
  drain|cancel)
    run_slurm_test "$scenario" srun
    /usr/bin/python3 "$here/hosts.py" "$results" --expect icl-n1,icl-n2 \
      --running-at "$(cat "$work/run/signal.time")" --host icl-n2 \
      || fail "the point running on the remote node icl-n2 at the signal was not committed"
    if [ "$scenario" = drain ]; then need_reference; same_values "$reference" "$results" || fail "values differ from the 1-rank reference"; fi
    ;;
  timelimit)
    run_slurm_test timelimit srun
    /usr/bin/python3 "$here/hosts.py" "$results" --expect icl-n1,icl-n2 || fail "the ranks did not run on both nodes"
    ;;
  node_loss)
    need_reference
    mkdir -p run; cd run
    submit=("$root/slurm/submit" "$job" --ranks 2 --nodes 2 --time 00:10:00 --grace 5 --out "$results" --iclsweep "$engine")
    first=$(in_cluster "${submit[@]}")
    [[ "$first" =~ ^[0-9]+$ ]] || fail "slurm/submit printed '$first'"
    # the power cut comes once icl-n2 has committed a point (so there is remote work to lose and to keep)
    t1=$(date +%s)
    until /usr/bin/python3 "$here/hosts.py" "$results" --expect icl-n2 >/dev/null 2>&1 \
          && /usr/bin/python3 "$root/tests/slurm/check_results.py" "$results" --min-done 4; do
      [ $(( $(date +%s) - t1 )) -lt 120 ] || fail "icl-n2 committed no point within 120 s"
      sleep 0.2
    done
    /usr/bin/python3 "$root/tests/slurm/check_results.py" "$results" --snapshot "$work/at-loss.json"
    t_loss=$(date +%s.%N)
    bash "$vc" kill-node 2
    # the job must end (Slurm notices the silent node after SlurmdTimeout and requeues the batch job)
    t1=$(date +%s)
    while in_cluster scontrol -o show job "$first" | grep -qE 'JobState=(RUNNING|COMPLETING)'; do
      [ $(( $(date +%s) - t1 )) -lt 120 ] || fail "job $first still running 120 s after the loss of icl-n2"
      sleep 0.5
    done
    t_ended=$(date +%s.%N)
    state=$(in_cluster scontrol -o show job "$first" | sed -E 's/.*JobState=([A-Z_]+).*Restarts=([0-9]+).*/\1 restarts=\2/')
    say "job $first after the loss of icl-n2: $state"
    # between the launches: the file opens, and every point committed before the loss is intact
    /usr/bin/python3 "$root/tests/slurm/check_results.py" "$results" --snapshot "$work/after-loss.json"
    rc=0; "$engine" status "$results" > status-between.txt 2>&1 || rc=$?
    [ "$rc" = 3 ] || [ "$rc" = 0 ] || { cat status-between.txt; fail "'iclsweep status' between the launches exited $rc"; }
    /usr/bin/python3 - "$work/at-loss.json" "$work/after-loss.json" <<'PY' || fail "a point committed before the loss changed or vanished"
import json, sys
before, after = (json.load(open(p)) for p in sys.argv[1:3])
lost = [i for i, t in before.items() if after.get(i) != t]
assert not lost, lost
print(f"node_loss: {len(before)} point(s) committed at the loss, {len(after)} when the job ended, none changed")
PY
    # the sweep finishes: Slurm's requeue (JobRequeue=1, the default) restarts the batch script on the
    # surviving nodes; where a site disables requeueing, the same slurm/submit command resumes it by hand
    if ! grep -q 'JobState=PENDING\|JobState=RUNNING' <<<"$(in_cluster scontrol -o show job "$first")"; then
      say "the job was not requeued: resubmitting by hand"
      in_cluster "${submit[@]}" >/dev/null
    fi
    t1=$(date +%s)
    while in_cluster squeue -h -o '%k' | grep -qF "iclsweep:$results"; do
      [ $(( $(date +%s) - t1 )) -lt 240 ] || fail "the sweep did not finish within 240 s of the loss"
      sleep 0.5
    done
    t_done=$(date +%s.%N)
    if [ "$(grep -c "job=$first continuation=0 restarted by Slurm" "$results.logs/chain.log")" = 1 ]; then
      say "chain.log: $(grep "job=$first continuation=0 restarted by Slurm" "$results.logs/chain.log")"
    fi
    /usr/bin/python3 "$root/tests/slurm/check_results.py" "$results" --engine "$engine" --against "$work/at-loss.json" \
      || fail "the sweep is not complete, or a point committed before the loss was recomputed"
    same_values "$reference" "$results" || fail "values differ from the 1-rank reference"
    /usr/bin/python3 "$here/hosts.py" "$results" --started-after "$t_ended" --host icl-n2 --none \
      || fail "a point ran on the dead node"
    # the relaunch ran on the surviving nodes (rank 0 may well take the few points left itself)
    grep -q "ranks on icl-n\[1,3\]" "$results.logs/$first.out" || fail "the relaunch did not run on icl-n1 and icl-n3"
    awk -v a="$t_loss" -v b="$t_ended" -v c="$t_done" \
      'BEGIN { printf "[cluster-test] node_loss: job ended %.1f s after the power cut, sweep complete %.1f s after it\n", b - a, c - a }'
    ;;
  rank_lost)
    # a rank dies on the remote node while the node lives on (an OOM kill): rank 0 hands its point out again
    # after --point-timeout, completes the sweep, and ends the job with MPI_Abort; the chain must still see the
    # engine's exit code 0 (srun alone reports the aborted ranks as killed: exit 137)
    need_reference
    mkdir -p run; cd run
    first=$(in_cluster "$root/slurm/submit" "$job" --ranks 2 --nodes 2 --time 00:10:00 --grace 5 --point-timeout 10 \
              --out "$results" --iclsweep "$engine")
    [[ "$first" =~ ^[0-9]+$ ]] || fail "slurm/submit printed '$first'"
    t1=$(date +%s)
    until /usr/bin/python3 "$here/hosts.py" "$results" --expect icl-n2 >/dev/null 2>&1 \
          && /usr/bin/python3 "$root/tests/slurm/check_results.py" "$results" --min-done 4; do
      [ $(( $(date +%s) - t1 )) -lt 120 ] || fail "icl-n2 committed no point within 120 s"
      sleep 0.2
    done
    /usr/bin/python3 "$root/tests/slurm/check_results.py" "$results" --snapshot "$work/at-kill.json"
    bash "$vc" kill-procs 2 iclsweep
    t1=$(date +%s)
    while in_cluster squeue -h -j "$first" 2>/dev/null | grep -q .; do
      [ $(( $(date +%s) - t1 )) -lt 180 ] || fail "job $first still running 180 s after its rank on icl-n2 died"
      sleep 0.5
    done
    grep -q "stopped answering" "$results.logs/$first.out" || fail "rank 0 did not report the lost rank"
    grep -q "job=$first continuation=0 complete (exit 0)" "$results.logs/chain.log" \
      || { cat "$results.logs/chain.log"; fail "the chain did not record the complete sweep (exit 0)"; }
    st=$(in_cluster scontrol -o show job "$first" | sed -E 's/.*JobState=([A-Z_]+).* ExitCode=([0-9:]+).*/\1 \2/')
    [ "$st" = "COMPLETED 0:0" ] || fail "job $first ended as $st, expected COMPLETED 0:0"
    /usr/bin/python3 "$root/tests/slurm/check_results.py" "$results" --engine "$engine" --jobs "$first" --against "$work/at-kill.json" \
      || fail "the sweep is not complete, or a committed point was recomputed"
    same_values "$reference" "$results" || fail "values differ from the 1-rank reference"
    ;;
  data)
    # Omniglot on the shared data folder (../shared/data/omniglot when present, else a fixture the test
    # writes on the shared file system), lm_facts: each must commit points on the remote node icl-n2
    mkdir -p run; cd run
    data="$root/../shared/data/omniglot"
    # the 242-class subset needs every class queried and evaluated at least once
    omni_sets=(--set data.dataset_size=256 --set eval.num_eval_samples=50)
    if [ ! -f "$data/images_background_small1.zip" ] && [ ! -f "$data/images_background.zip" ]; then
      [ -x "$fixture" ] || fail "no Omniglot data at $data and no --fixture"
      "$fixture" "$work/omniglot-data" 6 > /dev/null; data="$work/omniglot-data"; omni_sets=()
    fi
    say "Omniglot data: $data"
    for kind in omniglot lm_facts; do
      case $kind in
        omniglot) ini="$root/tests/mpi/omniglot_tiny.ini"; extra=(--set "omniglot.path=$data" "${omni_sets[@]}"); want="complete (exit 0)" ;;
        lm_facts) ini="$root/tests/mpi/lm_facts.ini"; extra=(); want="complete, but some points failed (exit 4)" ;;
      esac
      out="$work/run/$kind.h5"
      id=$(in_cluster "$root/slurm/submit" "$ini" --ranks 2 --nodes 2 --time 00:10:00 --grace 20 --out "$out" \
             --iclsweep "$engine" "${extra[@]}")
      [[ "$id" =~ ^[0-9]+$ ]] || fail "slurm/submit printed '$id'"
      t1=$(date +%s)
      while in_cluster squeue -h -j "$id" 2>/dev/null | grep -q .; do
        [ $(( $(date +%s) - t1 )) -lt 240 ] || fail "$kind job $id still running after 240 s"
        sleep 0.5
      done
      grep -qF "job=$id continuation=0 $want" "$out.logs/chain.log" || { tail -30 "$out.logs/$id.out"; fail "$kind job $id did not end with '$want'"; }
      /usr/bin/python3 "$here/hosts.py" "$out" --expect icl-n1,icl-n2 || fail "no $kind point was committed on the remote node"
    done
    ;;
  *) fail "unknown scenario '$scenario'" ;;
esac
say "PASS: $scenario in $(( $(date +%s) - t_start )) s"
