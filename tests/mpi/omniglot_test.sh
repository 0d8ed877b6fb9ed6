#!/usr/bin/env bash
# Omniglot through the real engine: `iclsweep run` under mpirun on a fixture dataset.
#   omniglot_test.sh --engine PATH --fixture PATH --work DIR
# 1. 2 ranks: every point done, the Omniglot fields present and sane
# 2. 1 rank gives bit-identical values (a point depends only on its parameters and seed)
# 3. bad data (missing folder, damaged zip) is refused with exit 2 naming the file, before any results
#    file is created, and an existing results file is left byte-for-byte unchanged
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
engine="" fixture="" work=""
while [ $# -gt 0 ]; do
  case "$1" in
    --engine) engine=$2; shift 2 ;;
    --fixture) fixture=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$engine" ] && [ -x "$fixture" ] && [ -n "$work" ] || { echo "need --engine, --fixture and --work" >&2; exit 2; }
rm -rf "$work"; mkdir -p "$work"; cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
job="$here/omniglot_tiny.ini"
say() { printf '[omniglot-test %s] %s\n' "$(date +%T)" "$*"; }
fail() { say "FAIL: $*"; exit 1; }

"$fixture" data 6
run() {  # run NP OUT PATH: prints the exit code
  set +e
  mpirun -np "$1" "$engine" run "$job" --out "$2" --set omniglot.path="$3" > "$2.log" 2>&1
  local rc=$?
  set -e
  echo $rc
}

rc=$(run 2 two.h5 "$work/data")
[ "$rc" = 0 ] || { cat two.h5.log; fail "2 ranks: exit $rc"; }
/usr/bin/python3 - <<'PY' || fail "results check"
import h5py, numpy as np
with h5py.File("two.h5", "r") as f:
    p = f["points"]
    assert (p["status"][:] == 1).all(), p["status"][:]
    assert (p["omniglot/num_classes"][:] == 6).all()
    assert (p["omniglot/num_low_prob_classes"][:] == 4).all()
    assert (p["omniglot/paper_deviation"][:] == 1).all() and (p["omniglot/image_size"][:] == 16).all()
    for split in ("eval-default-none-flip_label", "eval-default-none-heldout_input-flipped_label", "pretraining"):
        e = p[f"selected/{split}/error"][:]
        assert np.isfinite(e).all() and ((0 <= e) & (e <= 1)).all(), (split, e)
    q = p["train/low_prob_queries"][:]
    assert (np.diff(q, axis=1) >= 0).all() and (q[:, 0] == 0).all() and (q[:, -1] > 0).all(), q
    assert (p["train/low_prob_classes_seen"][:, -1] <= 4).all()
PY
say "PASS: 4 Omniglot points on 2 ranks"

rc=$(run 1 one.h5 "$work/data")
[ "$rc" = 0 ] || { cat one.h5.log; fail "1 rank: exit $rc"; }
for g in /points/status /points/train /points/checkpoint /points/eval /points/selected /points/omniglot /points/model; do
  h5diff -q one.h5 two.h5 "$g" "$g" || fail "1-rank and 2-rank values differ in $g"
done
say "PASS: 1 rank and 2 ranks give bit-identical values"

rc=$(run 1 missing.h5 "$work/no_such_folder")
[ "$rc" = 2 ] || fail "missing folder: exit $rc, expected 2"
grep -q "no_such_folder" missing.h5.log && grep -q "get-omniglot" missing.h5.log || { cat missing.h5.log; fail "message"; }
[ ! -e missing.h5 ] || fail "a results file was created for a missing data folder"

mkdir -p broken && head -c 3000 data/images_background.zip > broken/images_background.zip
cp two.h5 kept.h5 && before=$(md5sum kept.h5 | cut -d' ' -f1)
rc=$(run 1 kept.h5 "$work/broken")
[ "$rc" = 2 ] || fail "damaged zip: exit $rc, expected 2"
grep -q "broken/images_background.zip" kept.h5.log || { cat kept.h5.log; fail "message does not name the zip"; }
[ "$(md5sum kept.h5 | cut -d' ' -f1)" = "$before" ] || fail "the existing results file was touched"
say "PASS: bad data refused (exit 2, file named), results files untouched"

# The Omniglot figures draw from these results (analysis/iclsweep_analysis/omniglot_figures.py).
repo=$(cd "$here/../.." && pwd)
/usr/bin/python3 "$repo/analysis/plot.py" two.h5 --out figs \
  --figure omniglot_input_noise,omniglot_heldout,omniglot_gradient_steps,omniglot_misc > plot.log 2>&1 || { cat plot.log; fail "plot.py"; }
for f in omniglot_input_noise_sigma0.1 omniglot_heldout omniglot_gradient_steps omniglot_misc; do
  [ -s "figs/$f.png" ] || fail "figure $f.png not written"
done
say "PASS: the Omniglot figures draw from the results"
