#!/usr/bin/env bash
# Hostile input through the real `iclsweep` binary (issue 10, defects 3, 4, 8, 9): every case must end
# with exit 2 and one short, escaped message naming the key or file, the rule and the fix.
#   input_test.sh --engine PATH --work DIR
set -euo pipefail
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
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect RC PATTERN CMD...: runs CMD, checks its exit code and that stderr matches PATTERN (grep -E),
# stays under 2000 bytes and holds no control bytes besides newlines.
expect() {
  local want=$1 pattern=$2; shift 2
  set +e
  "$@" > out.txt 2> err.txt
  local rc=$?
  set -e
  [ "$rc" = "$want" ] || fail "exit $rc (expected $want): $* -- $(head -c 300 err.txt)"
  [ -z "$pattern" ] || grep -qE -- "$pattern" err.txt || fail "stderr does not match /$pattern/: $* -- $(head -c 300 err.txt)"
  [ "$(wc -c < err.txt)" -lt 2000 ] || fail "stderr is $(wc -c < err.txt) bytes: $*"
  if LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' err.txt || [ "$(tr -d '\000' < err.txt | wc -c)" != "$(wc -c < err.txt)" ]; then
    fail "stderr holds raw control bytes: $*"
  fi
}

printf '[run]\nmodel_kind = online\n[grid]\nseeds = 0..3\n' > ok.ini

# 8: a directory, an empty file, a file of comments
mkdir jobdir
expect 2 "is a directory" "$engine" list jobdir
: > empty.ini
expect 2 "is empty.*\[run\]" "$engine" list empty.ini
printf '# only a comment\n\n' > comments.ini
expect 2 "no settings" "$engine" list comments.ini
expect 2 "is a directory" "$engine" run jobdir --out r.h5
[ ! -e r.h5 ] || fail "run on a directory created r.h5"

# 9: BOM stripped, binary refused, long and binary values escaped and truncated
printf '\xef\xbb\xbf[run]\nmodel_kind = online\n' > bom.ini
expect 0 "" "$engine" list bom.ini
"$engine" sample --count 10 --out sample.h5 > /dev/null
expect 2 "binary file\?" "$engine" list sample.h5
{ printf '[data]\np_high = 0.'; head -c 1048576 /dev/zero | tr '\0' '9'; printf 'x\n'; } > long.ini
expect 2 "p_high.*\(1048579 bytes\)" "$engine" list long.ini
printf '[data]\nnum_dims = 6\x004\n' > nul.ini
expect 2 "nul.ini:2: parameter 'data.num_dims' = '6\\\\x004'.*control character" "$engine" list nul.ini
printf '[data]\nnum\x1b[2Jctx = 3\n' > esc.ini
expect 2 "\\\\x1B" "$engine" list esc.ini

# 3: integer ranges, no 32-bit truncation, checked range arithmetic
expect 2 "train.batch_size.*4294967328.*between 1 and 65536" "$engine" list ok.ini --set train.batch_size=4294967328
expect 2 "train.batch_size.*between 1 and 65536" "$engine" train --set train.batch_size=4294967328 --out t.h5
printf '[run]\nmodel_kind = online\n[grid]\nseeds = 9223372036854775806..9223372036854775807\n' > seeds_top.ini
expect 2 "seeds_top.ini:4: .*data.seed.*out of range" "$engine" list seeds_top.ini
printf '[run]\nmodel_kind = online\n[grid]\nseeds = -9223372036854775807..9223372036854775807\n' > seeds_wide.ini
expect 2 "18446744073709551615 values.*1000000" "$engine" list seeds_wide.ini
expect 2 "count 4294967297.*bytes" "$engine" sample --count 4294967297 --out big.h5
"$engine" keys > keys.txt
grep -qE "^train.batch_size +int +32 +1\.\.2\^16 " keys.txt || fail "iclsweep keys does not show the range of train.batch_size"

# 4: caps first, linear checks (an 80001-value list with a repeat)
{ printf '[run]\nmodel_kind = online\n[grid]\nseeds = '; seq -s, 0 79999 | tr -d '\n'; printf ',17\n'; } > long_list.ini
expect 2 "value 17 appears twice" "$engine" list long_list.ini
printf '[run]\nmodel_kind = online\n[grid]\ndata.dataset_size = 1000..1999\nseeds = 0..1000\n' > too_many.ini
expect 2 "more than 1000000 points" "$engine" list too_many.ini

# 8: a cross-key rule broken by --set: once, naming --set; numeric spellings of one value
expect 2 "^  --set 'train.steps=10': every point \(4\): parameter 'train.log_interval'" \
  "$engine" list ok.ini --set model_kind=transformer --set train.steps=10
[ "$(grep -c "train.log_interval" err.txt)" = 1 ] || fail "the --set problem is reported more than once"
printf '[run]\nmodel_kind = online\n[grid]\ndata.input_noise_std = 0, -0\n' > minus_zero.ini
expect 2 "value 0 \(written -0\) appears twice" "$engine" list minus_zero.ini
printf '[run]\nmodel_kind = online\n[data]\ninput_noise_std = 1e-320\n' > subnormal.ini
expect 2 "subnormal.ini:4: parameter 'data.input_noise_std' = '1e-320'.*subnormal" "$engine" list subnormal.ini

# 4: a million-point job lists in bounded memory (the old list kept every point: 11.8 GB), and `run`
# refuses it before building anything when its points cannot fit in this machine's memory
printf '[run]\nmodel_kind = online\n[grid]\nseeds = 0..999999\n' > million.ini
( ulimit -v 4000000; "$engine" list million.ini > million.txt 2> million.err ) || fail "list of a million points in 4 GB of address space: $(head -c 300 million.err)"
[ "$(grep -c '^ *[0-9]' million.txt)" -ge 1000000 ] || fail "list of a million points printed $(grep -c '^ *[0-9]' million.txt) rows"
# (17 KB per point: 17 GB; the limit is the smallest of MemAvailable, ulimit -v and the cgroup's memory.max)
before=$failures
( ulimit -v 8000000
  expect 2 "1000000 points; preparing them takes ~17.0 GB.*but 8.2 GB are available: split the grid" "$engine" run million.ini --out million.h5
  [ "$failures" = "$before" ] ) || failures=$((failures + 1))
! ls million.h5* > /dev/null 2>&1 || fail "a refused run left $(ls million.h5*)"

# 1, 9: strings and times read from a results file (hosts, errors, ids, launch times) are data too: a
# damaged or hostile file gives escaped output, never raw terminal bytes, and never a crash (a time past
# what gmtime represents once segfaulted status and show, exit 139)
no_raw_bytes() {  # no_raw_bytes FILE WHAT
  if LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$1"; then fail "$2 prints raw control bytes"; fi
}
"$engine" run ok.ini --out hostile.h5 -q
/usr/bin/python3 - <<'PY'
import h5py
with h5py.File("hostile.h5", "r+") as f:
    f["points/start_time"][0] = 1e20
    f["runs/start_time"][0] = -1e308
    f["points/status"][1] = 2
    f["points/error"][1] = b"\x1b]0;pwned\x07\x1b[31mRED\xff\xfe" + b"B" * 400
    f["points/host"][1] = b"\x1b[31mHOST\x07"
    f["runs/hostname"][0] = b"\x1b[32mGREEN\x07"
    f["runs/slurm_job_id"][0] = b"\x1b[34mSL\x07"
PY
for args in "status hostile.h5" "show hostile.h5 0" "show hostile.h5 1"; do
  set +e; "$engine" $args > out.txt 2> err.txt; rc=$?; set -e
  [ "$rc" -le 5 ] || fail "iclsweep $args: exit $rc -- $(head -c 300 err.txt)"
  no_raw_bytes out.txt "iclsweep $args"
done
grep -q 'x1B\]0;pwned' out.txt || fail "show does not print the (escaped) error of a failed point"
# a file whose root attributes or commit bytes have another type or shape is refused by name (exit 5), not
# read through HDF5's conversions (a float64 or (P,3) status array was accepted; a string format_version
# gave HDF5's multi-line conversion trace; num_points = -1 was read as 2^64-1)
/usr/bin/python3 - <<'PY'
import h5py, shutil, numpy as np
for name, edit in [("fv_str.h5", lambda f: f.attrs.__setitem__("format_version", "1")),
                   ("np_neg.h5", lambda f: f.attrs.__setitem__("num_points", np.int64(-1))),
                   ("st_f64.h5", lambda f: (f["points"].__delitem__("status"), f["points"].create_dataset("status", data=np.ones(4)))),
                   ("st_2d.h5", lambda f: (f["points"].__delitem__("status"),
                                           f["points"].create_dataset("status", data=np.ones((4, 3), dtype=np.uint8))))]:
    shutil.copy("hostile.h5", name)
    with h5py.File(name, "r+") as f:
        edit(f)
PY
expect 5 "root attribute 'format_version' does not have the type iclsweep writes" "$engine" status fv_str.h5
expect 5 "root attribute num_points = -1" "$engine" status np_neg.h5
expect 5 "'points/status' does not hold uint8 status bytes" "$engine" show st_f64.h5 0
expect 5 "'points/status' has the wrong shape" "$engine" merge st_2d.h5 hostile.h5 --out merged.h5
[ "$(wc -l < err.txt)" -le 2 ] || fail "a damaged file gives a $(wc -l < err.txt)-line message"
expect 2 "point index '99999999999999999999' is outside 0..3" "$engine" show hostile.h5 99999999999999999999
expect 2 "no point with id '\\\\x1B\[31mX'" "$engine" show hostile.h5 $'\x1b[31mX'
expect 2 "^iclsweep status: error: --where 'seed=\\\\x1B" "$engine" status hostile.h5 --where $'seed=\x1b[31m'
expect 2 "calibration file '/nonexistent/\\\\x1B\\[31m' cannot be read" env ICLSWEEP_CALIBRATION=$'/nonexistent/\x1b[31m' "$engine" list ok.ini
printf '# a calibration\ntransformer/point = fast\n' > bad_calibration.ini
expect 2 "bad_calibration.ini' line 2: transformer/point = fast: expected .*iclsweep calibrate" "$engine" list ok.ini --calibration bad_calibration.ini
expect 2 "ms-per-token-step: the single token-step constant was replaced by a cost model" "$engine" list ok.ini --ms-per-token-step 0.2

# 8: validation gaps a wider trial found: each of these passed `list` and then failed every point
printf '[run]\nmodel_kind = transformer\n[eval]\nnum_eval_samples = 1\n[grid]\nseeds = 0..2\n' > eval_pool.ini
expect 2 "eval.num_eval_samples' = 1: the evaluation pools hold 5 \* num_eval_samples = 5 sequences each, which must be >= C = 10 classes \(raise eval.num_eval_samples to at least 2\)" \
  "$engine" list eval_pool.ini
expect 2 "at least 2" "$engine" list eval_pool.ini --set run.model_kind=gated
printf '[run]\nmodel_kind = lm_facts\n[lm]\npretrain_steps = 100000000\npretrain_log_interval = 1\npretrain_eval_interval = 100000\n' > lm_log.ini
expect 2 "lm.pretrain_log_interval' = 1: gives 100000000 logged losses" "$engine" list lm_log.ini
expect 2 "lm.finetune_log_interval' = 1: gives 2000000 logged losses" "$engine" list lm_log.ini \
  --set lm.pretrain_log_interval=100 --set lm.finetune_steps=2000000 --set lm.finetune_log_interval=1 --set lm.finetune_checkpoint_interval=2000000
# no frequent known people: the IWL gate has nothing to measure (it was NaN, and NaN >= 0 failed every point)
tiny_lm=(--set run.model_kind=lm_facts --set lm.pretrain_steps=20 --set lm.pretrain_eval_interval=10 --set lm.pretrain_log_interval=1
         --set lm.finetune_steps=2 --set lm.finetune_checkpoint_interval=1 --set lm.finetune_log_interval=1 --set lm.eval_samples=2
         --set lm.gate_icl=0 --set lm.gate_iwl=0 --set lm.layers=1 --set lm.width=8 --set lm.heads=1 --set lm.num_high=0 --set lm.p_high_known=0)
expect 0 "" "$engine" train -q --out lm_no_high.h5 "${tiny_lm[@]}" --set lm.num_low=5
# 4: a model that cannot fit is refused at load with its size (it used to fail every point with "std::bad_alloc")
expect 2 "model.embed_dim = 4096.*: one point needs ~[0-9.e+]+ GB of memory.*more than the 64 GB.*run.model_kind = transformer" \
  "$engine" list ok.ini --set run.model_kind=transformer --set model.embed_dim=4096 --set data.num_dims=4096 --set model.num_blocks=64
expect 2 "lm.width = 4096, lm.layers = 64.*: one point needs" "$engine" list lm_log.ini --set lm.pretrain_log_interval=100 --set lm.layers=64 --set lm.width=4096
# issue 22, defect 8: the refusal points at the size keys' line, not at the model_kind line
printf '[run]\nmodel_kind = transformer\n[model]\nembed_dim = 4096\nnum_blocks = 64\n[data]\nnum_dims = 4096\n' > big.ini
expect 2 "big.ini:4: .*model.embed_dim = 4096.*one point needs" "$engine" list big.ini
if grep -q "big.ini:2:" err.txt; then fail "the 64 GB refusal points at the model_kind line: $(head -c 300 err.txt)"; fi
# and one that passes the cap but not this process's memory says so, with the estimate
before=$failures
( ulimit -v 3000000
  expect 4 "" "$engine" train -q --out oom.h5 --set model.embed_dim=1024 --set data.num_dims=1024 --set model.num_blocks=16 \
    --set train.batch_size=1024 --set train.steps=1 --set train.log_interval=1 --set train.checkpoint_interval=1
  "$engine" status oom.h5 > oom.txt || true
  grep -q "out of memory on .*(std::bad_alloc) while this point needs ~[0-9.]* GB by the estimate" oom.txt \
    || fail "an out-of-memory point is not reported as such: $(grep -A1 'failed points' oom.txt | tail -1 | head -c 300)"
  [ "$failures" = "$before" ] ) || failures=$((failures + 1))
# bench: every size option has a range, and a step that cannot fit is refused before anything runs
expect 2 "--image-size '100000': expected an integer in 8..105" "$engine" bench --model omniglot --image-size 100000
expect 2 "--L '0': expected a comma-separated list of integers in 1..4096" "$engine" bench --L 0
expect 2 "--classes '100000000': expected an integer in 2..1048576" "$engine" bench --classes 100000000
expect 2 "--L 1 with --batch 32 needs ~[0-9.e+]+ GB for one training step" "$engine" bench --embed 65536
expect 2 "--configs 64x4096 needs" "$engine" bench --model lm --configs 64x4096
# Issue 22, defect 8: --point-timeout has a lower bound; a missing argument is named as what it is, never as
# the hidden options --job / --file that --help does not list
expect 2 "--point-timeout 0.001: must be 0 .* or at least 5 seconds" "$engine" run ok.ini --out pt.h5 --point-timeout 0.001
[ ! -e pt.h5 ] || fail "run with --point-timeout 0.001 created pt.h5"
expect 2 "missing the job file \\(usage: iclsweep run JOB.ini" "$engine" run --out pt.h5
expect 2 "missing the results file" "$engine" status
expect 2 "too many arguments: iclsweep status takes one results file" "$engine" status a.h5 b.h5
for c in run status; do
  "$engine" $c > /dev/null 2> hidden.txt || true
  if grep -qE -- "'--(job|file)'" hidden.txt; then fail "iclsweep $c names a hidden option: $(head -c 300 hidden.txt)"; fi
done
# keys: the declared range of every integer key, and every section
"$engine" keys lm.width > keys.txt; grep -q "2\.\.2^12" keys.txt || fail "keys lm.width does not show its range 2..4096: $(cat keys.txt)"
"$engine" keys omniglot.image_size > keys.txt; grep -q " 8\.\.105 " keys.txt || fail "keys omniglot.image_size does not show 8..105"
expect 2 "the sections are .*lm\., .*omniglot\." "$engine" keys nosuch.

[ "$failures" = 0 ] && echo "all input cases passed" || { echo "$failures failures"; exit 1; }
