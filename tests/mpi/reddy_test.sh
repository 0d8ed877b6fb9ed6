#!/usr/bin/env bash
# The reddy family (src/kinds/reddy/) through `iclsweep run` under MPI: 2 ranks give values bit-identical
# to 1 rank; a 2-rank run killed with SIGKILL mid-sweep resumes to the same values.
#   reddy_test.sh --engine PATH --work DIR
set -euo pipefail
tag=reddy-test job_name=reddy.ini
source "$(dirname "${BASH_SOURCE[0]}")/kind_test_lib.sh"
same_values() {  # every per-point value but who ran it and when
  /usr/bin/python3 - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r")["points"] for p in sys.argv[1:3])
oa, ob = np.argsort(a["index"][:]), np.argsort(b["index"][:])
paths = []
a.visit(lambda n: paths.append(n) if isinstance(a[n], h5py.Dataset) else None)
checked = 0
for n in paths:
    if n in ("rank", "host", "start_time", "end_time", "wall_time", "cpu_time") or n.startswith("params"):
        continue
    x, y = a[n][:][oa], b[n][:][ob]
    if x.dtype.kind == "f":
        assert np.array_equal(x, y, equal_nan=True), n
    else:
        assert (x == y).all(), n
    checked += n.startswith("reddy/")
assert checked >= 20, checked
assert (a["status"][:] == 1).all(), a["status"][:]
PY
}
rc1=$(run_mpi 1 one.h5); [ "$rc1" = 0 ] || { cat one.h5.log; fail "1 rank: exit $rc1"; }
rc2=$(run_mpi 2 two.h5); [ "$rc2" = 0 ] || { cat two.h5.log; fail "2 ranks: exit $rc2"; }
same_values one.h5 two.h5 || fail "1-rank and 2-rank values differ"
say "PASS: 1 rank and 2 ranks give bit-identical values"

# kill -9 of the whole MPI job (mpirun and every process under it) once a point is committed, then resume.
set +m
setsid mpirun -np 2 --bind-to none "$engine" run "$job" --out killed.h5 --progress 1 --set reddy.steps=3000 > killed.log 2>&1 &
launcher=$!
d=0
for _ in $(seq 1 1200); do
  d=$("$engine" status killed.h5 2>/dev/null | awk '/done .*failed .*remaining/ {gsub(",", ""); print $2}') || true
  [ "${d:-0}" -ge 1 ] && break
  sleep 0.1
done
[ "${d:-0}" -ge 1 ] || fail "no point committed within 120 s"
kill_launch "$launcher"
d=$("$engine" status killed.h5 | awk '/done .*failed .*remaining/ {gsub(",", ""); print $2}') || true  # committed before the kill (status exits non-zero on an unfinished file)
say "killed with $d point(s) committed"
rc=$(run_mpi 1 ref.h5 --set reddy.steps=3000); [ "$rc" = 0 ] || { cat ref.h5.log; fail "reference exit $rc"; }
rc=$(run_mpi 2 killed.h5 --set reddy.steps=3000); [ "$rc" = 0 ] || { cat killed.h5.log; fail "resume exit $rc"; }
grep -q "($d already recorded)" killed.h5.log || fail "the resume did not skip the $d committed point(s)"
same_values ref.h5 killed.h5 || fail "resumed values differ from an uninterrupted run"
say "PASS: killed with $d done, resumed, identical to the uninterrupted run"
