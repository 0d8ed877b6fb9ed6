#!/usr/bin/env bash
# MPI integration tests of `iclsweep run` (issue: the sweep engine). Each scenario runs the real engine
# on tests/mpi/tiny.ini and checks the results file with `iclsweep status` and h5diff.
#
#   sweep_test.sh SCENARIO --engine PATH --work DIR
#     complete     3 ranks: the sweep completes, every point done, exit 0
#     ranks        1 rank vs 3 ranks: bit-identical result values
#     kill_resume  kill -9 the whole MPI job mid-sweep, rerun: complete, no point recomputed twice, values
#                  identical to an uninterrupted run
#     drain        SIGTERM to a single-process run: exit 3, file consistent, resume completes it
#     failing      a point whose loss diverges is recorded as failed (exit 4), the others complete
#     mismatch     a results file from another grid is refused (exit 5) and left untouched
#     bad_job      a job file with several mistakes: exit 2, every problem listed with its line
#     signal_early SIGTERM/SIGINT to a single-process run at several moments, from the first milliseconds
#                  (before job expansion and file creation) to mid-sweep: exit 3 every time, the file
#                  absent or consistent; the resume is bit-identical to an uninterrupted run
#     signal_mpirun the documented mpirun launch (scripts/mpirun-drain): SIGTERM, a terminal's Ctrl-C (SIGINT
#                  to the process group), `timeout`, each early and mid-sweep: exit 3, file consistent,
#                  resume bit-identical
#     second_signal two signals at once are one request (a drain, the running point committed); a second
#                  SIGINT later cuts the drain short (single process and under mpirun): exit 3 without
#                  waiting for the running points, committed points kept, resume bit-identical
#     wrapped_drain the mpirun launch with wrapped ranks (/usr/bin/time) and started with `&` from a script:
#                  SIGTERM / SIGINT still drain (exit 3), resume bit-identical
#     hung_worker  SIGSTOP of a worker rank: its point shows no progress for --point-timeout, is handed out again,
#                  the sweep completes (exit 0) with values bit-identical to an uninterrupted run; a stopped
#                  rank that is continued late does not duplicate a point
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
scenario=${1:?scenario}; shift
engine="" work=""
while [ $# -gt 0 ]; do
  case "$1" in
    --engine) engine=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$engine" ] && [ -n "$work" ] || { echo "need --engine and --work" >&2; exit 2; }
rm -rf "$work"; mkdir -p "$work"; cd "$work"

# The tests run as root and with more ranks than cores; these are test-only settings.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
job="$here/tiny.ini"
say() { printf '[mpi-test %s] %s\n' "$(date +%T)" "$*"; }
fail() { say "FAIL: $*"; exit 1; }

run_mpi() {  # run_mpi NP OUT [args...]: prints the exit code
  local np=$1 out=$2; shift 2
  set +e
  mpirun -np "$np" "$engine" run "$job" --out "$out" --progress 1 "$@" > "$out.log" 2>&1
  local rc=$?
  set -e
  echo $rc
}

# The values a point's numbers may depend on: everything under /points except who ran it and when.
same_values() {  # same_values A B
  local a=$1 b=$2 p
  for p in /points/status /points/id /points/train /points/checkpoint /points/eval /points/selected /points/model; do
    h5diff -q "$a" "$b" "$p" "$p" || { h5diff -r "$a" "$b" "$p" "$p" | head -20; return 1; }
  done
}

# The file opens and its counts add up (or it does not exist).
consistent_or_absent() {  # consistent_or_absent FILE
  [ -e "$1" ] || return 0
  local d f r
  read -r d f r < <(status_counts "$1") || return 1
  [ -n "$d" ] && [ $((d + f + r)) = 8 ] || { "$engine" status "$1"; return 1; }
}

wait_handler() {  # wait_handler PID: until the process catches SIGTERM (bit 14 of SigCgt)
  local mask
  for _ in $(seq 1 2000); do
    mask=$(awk '/^SigCgt:/ {print $2}' "/proc/$1/status" 2>/dev/null) || true
    [ -n "$mask" ] && (( (16#$mask >> 14) & 1 )) && return 0
    sleep 0.005
  done
  fail "process $1 never installed its SIGTERM handler"
}

reference() {  # one uninterrupted single-process run, shared by the signal scenarios
  [ -e reference.h5 ] && return 0
  local rc; rc=$(run_mpi 1 reference.h5 "$@"); [ "$rc" = 0 ] || fail "reference run exit $rc"
}

wait_done() {  # wait_done FILE N: until N points are committed (60 s at most)
  local d
  for _ in $(seq 1 600); do
    d=$(status_counts "$1" 2>/dev/null | awk '{print $1}') || true
    [ "${d:-0}" -ge "$2" ] && return 0
    sleep 0.1
  done
  fail "fewer than $2 points committed within 60 s"
}

# Resume FILE with the same command until it is complete; the values must equal the reference.
resume_matches_reference() {  # resume_matches_reference FILE [args...]
  local out=$1; shift
  local rc; rc=$(run_mpi 2 "$out" "$@"); [ "$rc" = 0 ] || { cat "$out.log"; fail "resume of $out exit $rc"; }
  same_values reference.h5 "$out" || fail "$out: resumed results differ from an uninterrupted run"
}

status_counts() {  # prints "done failed remaining"
  "$engine" status "$1" | awk '/done .*failed .*remaining/ {gsub(",", ""); print $2, $5, $7}'
}

case "$scenario" in
  complete)
    rc=$(run_mpi 3 full.h5)
    [ "$rc" = 0 ] || { cat full.h5.log; fail "exit $rc, expected 0"; }
    read -r d f r < <(status_counts full.h5)
    [ "$d" = 8 ] && [ "$f" = 0 ] && [ "$r" = 0 ] || fail "status says done=$d failed=$f remaining=$r"
    grep -q "coordinator CPU" full.h5.log || fail "no summary line"
    /usr/bin/python3 - <<'PY' || fail "h5py cannot read the results"
import h5py, numpy as np
with h5py.File("full.h5", "r") as f:
    st = f["points/status"][:]
    assert (st == 1).all(), st
    err = f["points/selected/eval-default-none/error"][:]
    assert np.isfinite(err).all() and ((0 <= err) & (err <= 1)).all(), err
    ranks = set(f["points/rank"][:].tolist())
    assert len(ranks) >= 2, f"work was not spread over ranks: {ranks}"
PY
    say "PASS: 8/8 points done on 3 ranks"
    ;;
  ranks)
    rc1=$(run_mpi 1 one.h5); rc3=$(run_mpi 3 three.h5)
    [ "$rc1" = 0 ] && [ "$rc3" = 0 ] || fail "exit codes $rc1 / $rc3"
    same_values one.h5 three.h5 || fail "1-rank and 3-rank results differ"
    say "PASS: 1 rank and 3 ranks give bit-identical values"
    ;;
  kill_resume)
    rc=$(run_mpi 1 reference.h5); [ "$rc" = 0 ] || fail "reference run exit $rc"
    set +m
    mpirun -np 2 "$engine" run "$job" --out killed.h5 --progress 1 > killed.log 2>&1 &
    launcher=$!
    for _ in $(seq 1 600); do   # until at least 2 points are committed
      d=$(status_counts killed.h5 2>/dev/null | awk '{print $1}') || true
      [ "${d:-0}" -ge 2 ] && break
      sleep 0.1
    done
    [ "${d:-0}" -ge 2 ] || fail "no points committed within 60 s"
    pkill -9 -f "iclsweep run $job --out killed.h5" || true
    kill -9 "$launcher" 2>/dev/null || true
    wait "$launcher" 2>/dev/null || true
    read -r d f r < <(status_counts killed.h5)
    say "after kill -9: done=$d failed=$f remaining=$r"
    [ "$r" -gt 0 ] || fail "the kill came too late to test anything (all points done)"
    rc=$(run_mpi 2 killed.h5); [ "$rc" = 0 ] || { cat killed.h5.log; fail "resume exit $rc"; }
    grep -q "($d already recorded)" killed.h5.log || fail "resume did not skip the $d committed points"
    grep -q "this launch: $r points" killed.h5.log || fail "resume ran other than the $r remaining points"
    same_values reference.h5 killed.h5 || fail "resumed results differ from an uninterrupted run"
    say "PASS: killed with $d done, resumed $r, identical to the uninterrupted run"
    ;;
  drain)
    "$engine" run "$job" --out drained.h5 --progress 1 --grace 60 > drained.log 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do
      d=$(status_counts drained.h5 2>/dev/null | awk '{print $1}') || true
      [ "${d:-0}" -ge 1 ] && break
      sleep 0.1
    done
    kill -TERM "$pid"
    set +e; wait "$pid"; rc=$?; set -e
    [ "$rc" = 3 ] || { cat drained.log; fail "exit $rc after SIGTERM, expected 3"; }
    grep -q "rerun the same command to resume" drained.log || fail "no resume hint"
    read -r d f r < <(status_counts drained.h5)
    [ "$r" -gt 0 ] || fail "nothing left after the drain: the signal came too late"
    rc=$(run_mpi 1 drained.h5); [ "$rc" = 0 ] || fail "resume after drain exit $rc"
    read -r d2 f2 r2 < <(status_counts drained.h5)
    [ "$d2" = 8 ] && [ "$r2" = 0 ] || fail "after resume: done=$d2 remaining=$r2"
    say "PASS: drained with $d done (exit 3), resume completed the sweep"
    ;;
  failing)
    job="$here/failing.ini"
    rc=$(run_mpi 2 failing.h5)
    [ "$rc" = 4 ] || { cat failing.h5.log; fail "exit $rc, expected 4 (complete with failures)"; }
    read -r d f r < <(status_counts failing.h5)
    [ "$d" = 2 ] && [ "$f" = 1 ] && [ "$r" = 0 ] || fail "done=$d failed=$f remaining=$r, expected 2 1 0"
    set +e; "$engine" status failing.h5 > status.txt; set -e   # exits 4: some points failed
    grep -q "non-finite loss" status.txt || fail "the failure message is not recorded"
    say "PASS: the diverging point is recorded as failed, the others are done"
    ;;
  mismatch)
    rc=$(run_mpi 1 a.h5); [ "$rc" = 0 ] || fail "first run exit $rc"
    sum_before=$(md5sum a.h5 | cut -d' ' -f1)
    set +e
    "$engine" run "$job" --out a.h5 --set grid.data.dataset_size=2^6,2^10 > mismatch.log 2>&1
    rc=$?
    set -e
    [ "$rc" = 5 ] || { cat mismatch.log; fail "exit $rc, expected 5"; }
    grep -q "belongs to a different grid" mismatch.log || fail "message does not explain the mismatch"
    [ "$(md5sum a.h5 | cut -d' ' -f1)" = "$sum_before" ] || fail "the refused run modified the file"
    say "PASS: mismatched job refused, file untouched"
    ;;
  bad_job)
    cat > bad.ini <<'INI'
[run]
model_kind = transformer
[data]
num_context = 4
p_high = 1.5
[train]
steps = -3
[grid]
data.dataset_size =
INI
    set +e
    "$engine" run bad.ini --out bad.h5 > bad.log 2>&1
    rc=$?
    set -e
    [ "$rc" = 2 ] || { cat bad.log; fail "exit $rc, expected 2"; }
    cat bad.log
    grep -q "bad.ini:4:.*did you mean 'data.num_contexts'" bad.log || fail "unknown key not reported with line and suggestion"
    grep -q "bad.ini:9:" bad.log || fail "empty grid list not reported with its line"
    [ ! -e bad.h5 ] || fail "a results file was created for an invalid job"
    say "PASS: bad job rejected with every problem listed"
    ;;
  signal_early)
    job="$here/tiny_signals.ini"  # points long enough that every delay below lands mid-sweep
    reference
    n=0
    for sig in TERM INT; do
      # Delays count from the moment main() installed the handlers (the ~50 ms of dynamic loading before it
      # are outside any program's reach): job expansion, file creation, first points, mid-sweep.
      for delay in 0 0.05 0.2 0.6 1.5; do
        n=$((n + 1)); out=early$n.h5
        "$engine" run "$job" --out "$out" --progress 1 > "$out.log" 2>&1 &
        pid=$!
        wait_handler "$pid"
        sleep "$delay"
        kill -s "$sig" "$pid"
        set +e; wait "$pid"; rc=$?; set -e
        [ "$rc" = 3 ] || { cat "$out.log"; fail "SIG$sig after ${delay}s: exit $rc, expected 3"; }
        consistent_or_absent "$out" || fail "SIG$sig after ${delay}s: $out is not consistent"
        state=absent; [ -e "$out" ] && state="consistent ($( (status_counts "$out" || true) | cut -d' ' -f1) done)"
        resume_matches_reference "$out"
        say "SIG$sig after ${delay}s: exit 3, file $state, resume identical"
      done
    done
    say "PASS: a signal at any moment of a single-process run gives exit 3 and a resumable file"
    ;;
  signal_mpirun)
    job="$here/tiny_signals.ini"  # points long enough that every delay below lands mid-sweep
    reference
    drain="$here/../../scripts/mpirun-drain"
    n=0
    for how in term ctrl_c timeout; do
      for delay in 0.05 0.5 2.5; do
        n=$((n + 1)); out=mpi$n.h5
        cmd=("$drain" -np 2 "$engine" run "$job" --out "$out" --progress 1)
        set +e
        case "$how" in
          term)
            "${cmd[@]}" > "$out.log" 2>&1 &
            pid=$!; sleep "$delay"; kill -TERM "$pid"; wait "$pid"; rc=$? ;;
          ctrl_c)   # a terminal sends SIGINT to its whole foreground process group (job control: a group of
                    # its own, and SIGINT not ignored as it is for a script's background commands)
            set -m; "${cmd[@]}" > "$out.log" 2>&1 & pid=$!; set +m
            sleep "$delay"; kill -INT -- "-$pid"; wait "$pid"; rc=$? ;;
          timeout)  # coreutils timeout signals the command and its process group
            timeout --preserve-status -s TERM "$delay" "${cmd[@]}" > "$out.log" 2>&1; rc=$? ;;
        esac
        set -e
        [ "$rc" = 3 ] || { cat "$out.log"; fail "$how after ${delay}s: exit $rc, expected 3"; }
        consistent_or_absent "$out" || fail "$how after ${delay}s: $out is not consistent"
        resume_matches_reference "$out"
        say "$how after ${delay}s: exit 3, resume identical"
      done
    done
    say "PASS: SIGTERM, Ctrl-C and timeout on the mpirun launch drain (exit 3) and resume bit-identically"
    ;;
  wrapped_drain)
    # Issue 22, defect 4: ranks wrapped by another program (`mpirun-drain -np 2 /usr/bin/time iclsweep run`)
    # and a wrapper backgrounded from a script (SIGINT ignored on entry) still drain: exit 3, resume identical.
    long=(--set train.steps=1500 --set seeds=0..3)   # 16 points of ~1.5 s: the drain lands with points pending, also when finding a wrapped rank 0 takes seconds on a loaded machine
    reference "${long[@]}"
    drain="$here/../../scripts/mpirun-drain"
    [ -x /usr/bin/time ] || fail "/usr/bin/time is needed (apt-get install time)"
    "$drain" -np 2 /usr/bin/time -f "time: %e s" "$engine" run "$job" --out wrapped.h5 --progress 1 --grace 600 "${long[@]}" > wrapped.log 2>&1 &
    pid=$!
    wait_done wrapped.h5 1
    kill -TERM "$pid"
    set +e; wait "$pid"; rc=$?; set -e
    [ "$rc" = 3 ] || { cat wrapped.log; fail "wrapped ranks: exit $rc after SIGTERM, expected 3 (the drain request was not delivered)"; }
    grep -q "asking rank 0 to drain" wrapped.log || { cat wrapped.log; fail "wrapped ranks: the wrapper did not ask rank 0 directly"; }
    resume_matches_reference wrapped.h5 "${long[@]}"
    say "wrapped ranks: SIGTERM drained (exit 3), resume identical"
    # a script's `cmd &` (no job control): SIGINT is ignored on entry; the wrapper must still drain on it
    set +m
    "$drain" -np 2 "$engine" run "$job" --out bg.h5 --progress 1 --grace 600 "${long[@]}" > bg.log 2>&1 &
    pid=$!
    wait_done bg.h5 1
    kill -INT "$pid"
    set +e; wait "$pid"; rc=$?; set -e
    [ "$rc" = 3 ] || { cat bg.log; fail "backgrounded wrapper: exit $rc after SIGINT, expected 3"; }
    resume_matches_reference bg.h5 "${long[@]}"
    say "PASS: wrapped ranks and a backgrounded wrapper drain on SIGTERM / SIGINT (exit 3), resume identical"
    ;;
  second_signal)
    # 4 points of ~4.5 s each on an idle machine: the running points outlast the 2 s between the two
    # signals (rank 0 counts signals within 1 s of the first as one request)
    long=(--set train.steps=4500 --set seeds=0)
    job_args=("${long[@]}")
    reference "${job_args[@]}"
    # one request that reaches rank 0 by two paths at once (a plain scancel: from Slurm, and forwarded by
    # srun) is one drain: the running point finishes and is committed, nothing is abandoned
    "$engine" run "$job" --out once.h5 --progress 1 --grace 600 "${job_args[@]}" > once.log 2>&1 &
    pid=$!
    wait_done once.h5 1
    kill -TERM "$pid"; kill -USR1 "$pid"
    set +e; wait "$pid"; rc=$?; set -e
    [ "$rc" = 3 ] || { cat once.log; fail "single process: exit $rc after SIGTERM + SIGUSR1 at once, expected 3"; }
    if grep -q "second signal: abandoning" once.log; then cat once.log; fail "two signals at once counted as two requests: the running point was dropped"; fi
    read -r d f r < <(status_counts once.h5)
    [ "$d" = 2 ] || { cat once.log; fail "after one drain request $d points are committed, expected 2 (the running one finished)"; }
    # single process
    "$engine" run "$job" --out single.h5 --progress 1 --grace 600 "${job_args[@]}" > single.log 2>&1 &
    pid=$!
    wait_done single.h5 1
    kill -INT "$pid"; sleep 2; kill -INT "$pid"
    set +e; wait "$pid"; rc=$?; set -e
    [ "$rc" = 3 ] || { cat single.log; fail "single process: exit $rc after two SIGINTs, expected 3"; }
    grep -q "second signal: abandoning 1 running point" single.log || { cat single.log; fail "the second SIGINT did not cut the drain short"; }
    consistent_or_absent single.h5 || true
    resume_matches_reference single.h5 "${job_args[@]}"
    # under mpirun (the wrapper forwards both signals)
    set -m   # as at a terminal: the wrapper in a process group of its own, SIGINT not ignored
    "$here/../../scripts/mpirun-drain" -np 2 "$engine" run "$job" --out mpi.h5 --progress 1 --grace 600 "${job_args[@]}" > mpi.log 2>&1 &
    pid=$!
    set +m
    wait_done mpi.h5 1
    kill -INT -- "-$pid"; sleep 2; kill -INT -- "-$pid"   # Ctrl-C twice
    set +e; wait "$pid"; rc=$?; set -e
    [ "$rc" = 3 ] || { cat mpi.log; fail "mpirun: exit $rc after two SIGINTs, expected 3"; }
    grep -q "second signal: abandoning [12] running point" mpi.log || { cat mpi.log; fail "mpirun: the second SIGINT did not cut the drain short"; }
    if grep -q "MPI_ABORT" mpi.log; then cat mpi.log; fail "the abandoned worker had to be killed"; fi
    resume_matches_reference mpi.h5 "${job_args[@]}"
    say "PASS: a second SIGINT stops at once (exit 3), committed points kept, resume identical"
    ;;
  hung_worker)
    job_args=(--set train.steps=600)   # points of a few seconds, progress reported every 2 s
    reference "${job_args[@]}"
    rank_pid() {  # rank_pid MPIRUN_PID RANK
      local k
      for k in $(pgrep -P "$1"); do
        tr '\0' '\n' < "/proc/$k/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && { echo "$k"; return 0; }
      done
      return 1
    }
    for variant in never_continued continued_late; do
      out=$variant.h5
      mpirun -np 3 "$engine" run "$job" --out "$out" --progress 1 --point-timeout 8 "${job_args[@]}" > "$out.log" 2>&1 &
      pid=$!
      wait_done "$out" 1
      r1=$(rank_pid "$pid" 1) || fail "rank 1 not found"
      kill -STOP "$r1"
      say "$variant: rank 1 (pid $r1) stopped"
      if [ "$variant" = continued_late ]; then
        for _ in $(seq 1 300); do grep -q "no progress from rank 1" "$out.log" && break; sleep 0.1; done
        sleep 1; kill -CONT "$r1"; say "rank 1 continued"
      fi
      set +e; wait "$pid"; rc=$?; set -e
      [ "$rc" = 0 ] || { cat "$out.log"; fail "$variant: exit $rc, expected 0"; }
      grep -q "no progress from rank 1 for 8 s (point timeout.*handed out again" "$out.log" || { cat "$out.log"; fail "$variant: no timeout message"; }
      read -r d f r < <(status_counts "$out")
      [ "$d" = 8 ] && [ "$f" = 0 ] && [ "$r" = 0 ] || fail "$variant: done=$d failed=$f remaining=$r"
      same_values reference.h5 "$out" || fail "$variant: results differ from an uninterrupted run"
      say "$variant: complete, identical to the uninterrupted run"
    done
    say "PASS: a stopped worker's point is handed out again; the sweep completes bit-identically"
    ;;
  *) echo "unknown scenario $scenario" >&2; exit 2 ;;
esac
