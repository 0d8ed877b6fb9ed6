#!/usr/bin/env bash
# The raventos model kind (PEERS-SPEC §3) through `iclsweep run` under MPI: 2 ranks complete the grid with
# finite losses and baselines, 1 rank gives bit-identical values, and a 2-rank run killed with kill -9
# mid-sweep resumes to the same values without recomputing its committed points.
#   raventos_test.sh --engine PATH --work DIR
set -euo pipefail
tag=raventos-test job_name=raventos.ini
source "$(dirname "${BASH_SOURCE[0]}")/kind_test_lib.sh"
status_counts() {  # prints "done failed remaining"
  "$engine" status "$1" | awk '/done .*failed .*remaining/ {gsub(",", ""); print $2, $5, $7}'
}
same_values() {  # same_values A B: every value a point's numbers may depend on
  local p
  for p in /points/status /points/id /points/train /points/checkpoint /points/eval /points/final /points/baseline \
           /points/early_stop /points/model; do
    h5diff -q "$1" "$2" "$p" "$p" || { h5diff -r "$1" "$2" "$p" "$p" | head -20; return 1; }
  done
}

rc2=$(run_mpi 2 two.h5); [ "$rc2" = 0 ] || { cat two.h5.log; fail "2 ranks: exit $rc2"; }
rc1=$(run_mpi 1 one.h5); [ "$rc1" = 0 ] || { cat one.h5.log; fail "1 rank: exit $rc1"; }
same_values one.h5 two.h5 || fail "1-rank and 2-rank results differ"
/usr/bin/python3 - <<'PY' || fail "results check"
import h5py, numpy as np
with h5py.File("two.h5", "r") as f:
    p = f["points"]
    assert (p["status"][:] == 1).all()
    M = p["params/raventos.num_tasks"][:]
    for path in ("final/true/loss", "final/pretrain/loss", "baseline/true/ridge_loss", "final/true/dist_ridge"):
        assert np.isfinite(p[path][:]).all(), path
    d = p["baseline/pretrain/dmmse_loss"][:]
    assert np.isnan(d[M == 0]).all() and np.isfinite(d[M > 0]).all(), (M, d)
    assert len(set(p["rank"][:].tolist())) >= 2, "work was not spread over ranks"
PY
say "1 and 2 ranks: bit-identical"

# kill -9 of the whole launch once 2 points are committed, then resume.
set +m
mpirun -np 2 "$engine" run "$job" --out killed.h5 --progress 1 > killed.log 2>&1 &
launcher=$!
for _ in $(seq 1 600); do
  d=$(status_counts killed.h5 2>/dev/null | awk '{print $1}') || true
  [ "${d:-0}" -ge 2 ] && break
  sleep 0.1
done
[ "${d:-0}" -ge 2 ] || fail "no points committed within 60 s"
kill_launch "$launcher"
read -r d f r < <(status_counts killed.h5)
say "after kill -9: done=$d failed=$f remaining=$r"
[ "$r" -gt 0 ] || fail "the kill came too late to test anything (all points done)"
rc=$(run_mpi 2 killed.h5); [ "$rc" = 0 ] || { cat killed.h5.log; fail "resume exit $rc"; }
grep -q "($d already recorded)" killed.h5.log || fail "resume did not skip the $d committed points"
same_values one.h5 killed.h5 || fail "resumed results differ from an uninterrupted run"
say "PASS: raventos on 1 and 2 ranks bit-identical; killed with $d done, resumed $r, identical"
