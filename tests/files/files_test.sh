#!/usr/bin/env bash
# Command-level tests of how iclsweep writes files (issue 10, defects 1, 2, 5, 10): every writing command
# refuses an existing file unless --overwrite, takes the writer lock of the file itself (symlinks and hard
# links included), writes under a temporary name, and reports full or read-only disks in one line.
#
#   files_test.sh SCENARIO --engine PATH --work DIR
#     overwrite  sample/train/run never replace an existing file without --overwrite, never one a live
#                sweep holds even with it; run --overwrite starts afresh; refused commands leave the file
#                byte- and mtime-identical
#     links      a symlink and a hard link to a live results file are refused for run, train and sample
#                --overwrite; h5py (HDF5 locking on) still reads the live file
#     diskfull   (root: tmpfs of 1 MB) run and sample on a too-small disk: exit 5, "disk full: ... needs ...
#                free" as the first line, no segfault, no file or temporary file left; a run that fits works
#     readonly   (root: read-only tmpfs) resume, new file and sample on a read-only file system: exit 5 with
#                "read-only file system" first; status still reads; missing / non-HDF5 / directory files
#     permissions (root: runs as nobody) no write permission on the file or the directory, an unreadable file
#     midrun     writes to the results file fail with ENOSPC mid-sweep (LD_PRELOAD fault injection), 1 and 2
#                ranks: exit 5, "disk full while committing point N", no crash, resume completes identically
#     options    --out "" / a directory / a parent that is a file (exit 2, nothing created, no ./.lock),
#                bad --progress / --grace / --errors values (exit 2), a refused resume keeps the mtime
# Exit 77 = skipped (mount scenarios when not root or mount is unavailable).
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
engine=$(cd "$(dirname "$engine")" && pwd)/$(basename "$engine")
mnt=""
cleanup() {
  if [ -n "$mnt" ] && mountpoint -q "$mnt" 2>/dev/null; then umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true; fi
  # a stopped background sweep must not outlive the test
  for p in $(jobs -p); do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
if [ -d "$work" ]; then
  for m in "$work"/*/; do mountpoint -q "$m" 2>/dev/null && umount -l "$m"; done
fi
rm -rf "$work"; mkdir -p "$work"; cd "$work"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
job="$here/../mpi/tiny.ini"
say() { printf '[files-test %s] %s\n' "$(date +%T)" "$*"; }
fail() { say "FAIL: $*"; exit 1; }
skip() { say "SKIP: $*"; exit 77; }

# run_cmd LOG cmd...: runs an engine command, prints its exit code.
run_cmd() {
  local log=$1; shift
  set +e
  "$@" > "$log" 2>&1
  local rc=$?
  set -e
  echo $rc
}
fingerprint() { stat -c '%s %Y %y %i' "$1"; md5sum "$1" | cut -d' ' -f1; }
expect() {  # expect RC WANT LOG WHAT
  [ "$1" = "$2" ] || { cat "$3"; fail "$4: exit $1, expected $2"; }
}
first_error_line() { grep -m1 "error:" "$1" || true; }
no_junk() {  # no temporary or lock files left in DIR
  local junk
  junk=$(find "$1" -name '*.creating-*' -o -name '*.lock' | head -5)
  [ -z "$junk" ] || fail "left behind: $junk"
}

# A live writer: a sweep stopped (SIGSTOP) after its file exists. It holds its lock while stopped.
start_live_sweep() {  # start_live_sweep OUT: sets $live_pid
  "$engine" run "$job" --out "$1" --progress 1 > "$1.live.log" 2>&1 &
  live_pid=$!
  for _ in $(seq 1 300); do
    [ -e "$1" ] && break
    sleep 0.05
  done
  [ -e "$1" ] || fail "the live sweep never created $1"
  kill -STOP "$live_pid"
}
finish_live_sweep() {  # finish_live_sweep OUT: resumes the stopped sweep, which must complete untouched
  kill -CONT "$live_pid"
  set +e; wait "$live_pid"; local rc=$?; set -e
  [ "$rc" = 0 ] || { cat "$1.live.log"; fail "the live sweep exited $rc after the other commands ran"; }
  "$engine" status "$1" > "$1.status" || { cat "$1.status"; fail "the live sweep's file is no longer a complete results file"; }
}
sample_args=(--set p_relevant_context=0.9 --set num_contexts=2 --split train --count 20)

case "$scenario" in
  overwrite)
    rc=$(run_cmd first.log "$engine" run "$job" --out R.h5 --set seeds=0 -q); expect "$rc" 0 first.log "first run"
    before=$(fingerprint R.h5)
    sleep 0.05
    rc=$(run_cmd s1.log "$engine" sample "${sample_args[@]}" --out R.h5); expect "$rc" 5 s1.log "sample over a results file"
    grep -q "already exists" s1.log || fail "no 'already exists' message: $(cat s1.log)"
    [ "$(fingerprint R.h5)" = "$before" ] || fail "the refused sample changed R.h5"
    rc=$(run_cmd t1.log "$engine" train --set train.steps=60 --set checkpoint_interval=20 --out R.h5 -q)
    expect "$rc" 5 t1.log "train onto a results file of another grid"
    [ "$(fingerprint R.h5)" = "$before" ] || fail "the refused train changed R.h5"
    rc=$(run_cmd s2.log "$engine" sample "${sample_args[@]}" --out S.h5); expect "$rc" 0 s2.log "sample to a new file"
    s_before=$(fingerprint S.h5)
    rc=$(run_cmd s3.log "$engine" sample "${sample_args[@]}" --out S.h5); expect "$rc" 5 s3.log "sample over its own file"
    [ "$(fingerprint S.h5)" = "$s_before" ] || fail "the refused sample changed S.h5"
    rc=$(run_cmd s4.log "$engine" sample --set p_relevant_context=0.9 --set num_contexts=2 --split train --count 30 --out S.h5 --overwrite); expect "$rc" 0 s4.log "sample --overwrite"
    /usr/bin/python3 -c "import h5py; assert h5py.File('S.h5','r')['labels'].shape[0] == 30" || fail "sample --overwrite did not replace S.h5"

    # run --overwrite on a complete file starts afresh (0 points already recorded).
    rc=$(run_cmd o1.log "$engine" run "$job" --out R.h5 --set seeds=0 --overwrite); expect "$rc" 0 o1.log "run --overwrite"
    grep -q "(0 already recorded)" o1.log || { cat o1.log; fail "run --overwrite resumed instead of starting afresh"; }
    # run without --overwrite on the same file resumes it (nothing to do).
    rc=$(run_cmd o2.log "$engine" run "$job" --out R.h5 --set seeds=0); expect "$rc" 0 o2.log "resume"
    grep -q "(4 already recorded)" o2.log || { cat o2.log; fail "rerun did not resume"; }

    # A live writer's file is never replaced, with or without --overwrite.
    start_live_sweep L.h5
    live_before=$(fingerprint L.h5)
    rc=$(run_cmd l1.log "$engine" sample "${sample_args[@]}" --out L.h5 --overwrite); expect "$rc" 5 l1.log "sample --overwrite over a live sweep"
    grep -q "already open for writing" l1.log || fail "no lock message: $(cat l1.log)"
    rc=$(run_cmd l2.log "$engine" run "$job" --out L.h5 --overwrite); expect "$rc" 5 l2.log "run --overwrite over a live sweep"
    rc=$(run_cmd l3.log "$engine" run "$job" --out L.h5); expect "$rc" 5 l3.log "a second writer of a live sweep"
    rc=$(run_cmd l4.log "$engine" train --set train.steps=60 --set checkpoint_interval=20 --out L.h5 --overwrite)
    expect "$rc" 5 l4.log "train --overwrite over a live sweep"
    [ "$(fingerprint L.h5)" = "$live_before" ] || fail "a refused command changed the live sweep's file"
    finish_live_sweep L.h5

    # A writer killed while creating leaves its preallocated temporary; the next writer of that path removes
    # it when no one holds it and it is older than a minute (a younger one may be about to be locked).
    truncate -s 10M N.h5.creating-4194000-0; touch -d '2 minutes ago' N.h5.creating-4194000-0
    truncate -s 1M N.h5.creating-4194000-1
    rc=$(run_cmd n1.log "$engine" run "$job" --out N.h5 --set seeds=0 -q); expect "$rc" 0 n1.log "run next to stale temporaries"
    [ ! -e N.h5.creating-4194000-0 ] || fail "the abandoned temporary (2 minutes old, unlocked) was kept"
    grep -q "removed .*N.h5.creating-4194000-0 (10.0 MB), left by a writer that was killed" n1.log || fail "no removal message: $(cat n1.log)"
    [ -e N.h5.creating-4194000-1 ] || fail "a temporary younger than a minute was removed"
    rm -f N.h5.creating-4194000-1
    no_junk .
    say "PASS: no command replaced an existing or live file without --overwrite; --overwrite starts afresh; abandoned temporaries go"
    ;;
  links)
    start_live_sweep R.h5
    ln -s R.h5 sym.h5
    ln R.h5 hard.h5
    mkdir sub && ln -s ../R.h5 sub/up.h5
    before=$(fingerprint R.h5)
    for name in sym.h5 hard.h5 sub/up.h5; do
      tag=${name//\//_}
      rc=$(run_cmd "run_$tag.log" "$engine" run "$job" --out "$name"); expect "$rc" 5 "run_$tag.log" "run --out $name (a link to a live file)"
      grep -q "already open for writing" "run_$tag.log" || fail "run --out $name: no lock message: $(cat "run_$tag.log")"
      rc=$(run_cmd "ow_$tag.log" "$engine" run "$job" --out "$name" --overwrite); expect "$rc" 5 "ow_$tag.log" "run --overwrite --out $name"
      rc=$(run_cmd "s_$tag.log" "$engine" sample "${sample_args[@]}" --out "$name" --overwrite)
      expect "$rc" 5 "s_$tag.log" "sample --overwrite --out $name"
    done
    [ "$(fingerprint R.h5)" = "$before" ] || fail "a refused command changed the live file"
    [ -L sym.h5 ] && [ "$(stat -c %h R.h5)" = 2 ] || fail "the links were replaced"
    # Readers are welcome while the sweep writes, also h5py with HDF5's own file locking on.
    env -u HDF5_USE_FILE_LOCKING /usr/bin/python3 -c "import h5py; f = h5py.File('hard.h5', 'r'); print(f['points/status'].shape)" \
      > h5py.log 2>&1 || { cat h5py.log; fail "h5py cannot read the live file"; }
    "$engine" status sym.h5 > /dev/null || [ $? = 3 ] || fail "status cannot read through the symlink"
    finish_live_sweep R.h5
    say "PASS: symlinks and hard links to a live results file are refused; readers still read it"
    ;;
  diskfull)
    [ "$(id -u)" = 0 ] || skip "needs root to mount a small tmpfs"
    mkdir small; mnt=$PWD/small
    mount -t tmpfs -o size=1m tmpfs "$mnt" 2>/dev/null || skip "mount -t tmpfs is not available here"
    # 400 points need several MB: refused before anything is written.
    rc=$(run_cmd full.log "$engine" run "$job" --out small/R.h5 --set seeds=0..99 -q); expect "$rc" 5 full.log "run on a full disk"
    line=$(first_error_line full.log)
    echo "$line" | grep -q "^iclsweep run: error: disk full: small/R.h5 needs [0-9.]* MB, [0-9.]* [KM]B free" || { cat full.log; fail "first line is not the disk-full cause: $line"; }
    [ -z "$(ls -A small)" ] || fail "files left on the full disk: $(ls -A small)"
    rc=$(run_cmd sfull.log "$engine" sample --set num_contexts=8 --set num_dims=64 --split train --count 4000 --out small/S.h5)
    expect "$rc" 5 sfull.log "sample on a full disk"
    first_error_line sfull.log | grep -q "disk full: small/S.h5 needs" || { cat sfull.log; fail "sample: no disk-full line"; }
    [ -z "$(ls -A small)" ] || fail "files left on the full disk: $(ls -A small)"
    # The disk is filled by someone else after the check: the failure is still one line and exit 5.
    dd if=/dev/zero of=small/filler bs=1k count=700 status=none 2>/dev/null || true
    rc=$(run_cmd full2.log "$engine" run "$job" --out small/R.h5 --set seeds=0..9 -q); expect "$rc" 5 full2.log "run on a disk filled by another file"
    first_error_line full2.log | grep -q "disk full: small/R.h5" || { cat full2.log; fail "no disk-full line: $(first_error_line full2.log)"; }
    rm -f small/filler
    [ -z "$(ls -A small)" ] || fail "files left on the full disk: $(ls -A small)"
    # A sweep that fits runs there.
    rc=$(run_cmd fits.log "$engine" run "$job" --out small/R.h5 --set seeds=0 -q); expect "$rc" 0 fits.log "a small run on the small disk"
    no_junk small
    say "PASS: a full disk gives exit 5 with 'disk full: ... needs ... free' first, and leaves nothing behind"
    ;;
  readonly)
    [ "$(id -u)" = 0 ] || skip "needs root to mount a read-only tmpfs"
    mkdir ro; mnt=$PWD/ro
    mount -t tmpfs -o size=16m tmpfs "$mnt" 2>/dev/null || skip "mount -t tmpfs is not available here"
    rc=$(run_cmd make.log "$engine" run "$job" --out ro/R.h5 --set seeds=0 --set train.steps=60 --set checkpoint_interval=20 -q)
    expect "$rc" 0 make.log "run before the remount"
    mount -o remount,ro "$mnt" || skip "mount -o remount,ro is not available here"
    before=$(fingerprint ro/R.h5)
    rc=$(run_cmd resume.log "$engine" run "$job" --out ro/R.h5 --set seeds=0 --set train.steps=60 --set checkpoint_interval=20 --retry-failed)
    expect "$rc" 5 resume.log "resume on a read-only file system"
    first_error_line resume.log | grep -q "error: read-only file system: results file 'ro/R.h5'" || { cat resume.log; fail "resume: no read-only line"; }
    rc=$(run_cmd new.log "$engine" run "$job" --out ro/N.h5 -q); expect "$rc" 5 new.log "new file on a read-only file system"
    first_error_line new.log | grep -q "error: read-only file system: cannot create results file 'ro/N.h5'" || { cat new.log; fail "create: no read-only line"; }
    rc=$(run_cmd samp.log "$engine" sample "${sample_args[@]}" --out ro/S.h5); expect "$rc" 5 samp.log "sample on a read-only file system"
    first_error_line samp.log | grep -q "read-only file system" || { cat samp.log; fail "sample: no read-only line"; }
    rc=$(run_cmd status.log "$engine" status ro/R.h5); expect "$rc" 0 status.log "status of a file on a read-only file system"
    [ "$(fingerprint ro/R.h5)" = "$before" ] || fail "the read-only file changed"
    # Files a user can get wrong: missing, not HDF5, a directory. One line with the cause, exit 5.
    rc=$(run_cmd miss.log "$engine" status nothere.h5); expect "$rc" 5 miss.log "status of a missing file"
    grep -q "does not exist" miss.log || fail "missing file: $(cat miss.log)"
    echo "not hdf5" > junk.h5
    rc=$(run_cmd junk.log "$engine" status junk.h5); expect "$rc" 5 junk.log "status of a text file"
    grep -q "not an HDF5 file" junk.log || fail "text file: $(cat junk.log)"
    rc=$(run_cmd junkrun.log "$engine" run "$job" --out junk.h5); expect "$rc" 5 junkrun.log "resume of a text file"
    grep -q "not an HDF5 file" junkrun.log || fail "resume of a text file: $(cat junkrun.log)"
    head -c 4000 ro/R.h5 > cut.h5   # an incomplete copy: the superblock is there, the rest is not
    rc=$(run_cmd cut.log "$engine" status cut.h5); expect "$rc" 5 cut.log "status of a truncated copy"
    grep -q "error: results file 'cut.h5' is truncated" cut.log || fail "truncated file: $(cat cut.log)"
    rc=$(run_cmd cutrun.log "$engine" run "$job" --out cut.h5); expect "$rc" 5 cutrun.log "resume of a truncated copy"
    rc=$(run_cmd dir.log "$engine" status ro); expect "$rc" 5 dir.log "status of a directory"
    grep -q "is a directory" dir.log || fail "directory: $(cat dir.log)"
    for log in miss.log junk.log dir.log resume.log new.log samp.log cut.log cutrun.log; do
      # The first line is the cause and the fix; HDF5's stack, if any, only follows as "detail:".
      if head -1 "$log" | grep -q "H5[A-Z]"; then cat "$log"; fail "$log: an HDF5 stack in the first line"; fi
    done
    say "PASS: read-only file systems and wrong files give exit 5 with the cause first"
    ;;
  permissions)
    # Permission bits do not stop root: the user commands run as nobody.
    [ "$(id -u)" = 0 ] || skip "needs root to run commands as another user"
    command -v setpriv > /dev/null || skip "setpriv is not installed"
    as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/tmp "$@"; }
    as_nobody true 2>/dev/null || skip "setpriv cannot switch to nobody here"
    [ -x "$engine" ] && as_nobody test -x "$engine" || skip "the engine is not executable for nobody"
    chmod 755 .
    rc=$(run_cmd make.log "$engine" run "$job" --out R.h5 --set seeds=0 --set train.steps=60 --set checkpoint_interval=20 -q)
    expect "$rc" 0 make.log "run as root"
    chmod 644 R.h5
    before=$(fingerprint R.h5)
    rc=$(run_cmd st.log as_nobody "$engine" status R.h5); expect "$rc" 0 st.log "status of a readable file"
    rc=$(run_cmd resume.log as_nobody "$engine" run "$job" --out R.h5 --set seeds=0 --set train.steps=60 --set checkpoint_interval=20)
    expect "$rc" 5 resume.log "resume without write permission"
    head -1 resume.log | grep -q "error: permission denied: results file 'R.h5' cannot be opened for writing" || { cat resume.log; fail "resume: no permission line"; }
    rc=$(run_cmd new.log as_nobody "$engine" run "$job" --out N.h5 -q); expect "$rc" 5 new.log "a new file in a directory nobody cannot write"
    head -1 new.log | grep -q "error: permission denied: cannot create results file 'N.h5'" || { cat new.log; fail "create: no permission line"; }
    rc=$(run_cmd sub.log as_nobody "$engine" run "$job" --out sub/N.h5 -q); expect "$rc" 5 sub.log "a new directory nobody cannot make"
    head -1 sub.log | grep -q "error: permission denied: cannot create the directory 'sub'" || { cat sub.log; fail "mkdir: no permission line"; }
    rc=$(run_cmd samp.log as_nobody "$engine" sample "${sample_args[@]}" --out S.h5); expect "$rc" 5 samp.log "sample in a directory nobody cannot write"
    head -1 samp.log | grep -q "error: permission denied: cannot create sample file 'S.h5'" || { cat samp.log; fail "sample: no permission line"; }
    chmod 600 R.h5
    rc=$(run_cmd unread.log as_nobody "$engine" status R.h5); expect "$rc" 5 unread.log "status of an unreadable file"
    head -1 unread.log | grep -q "error: permission denied: cannot read results file 'R.h5'" || { cat unread.log; fail "unreadable: no permission line"; }
    chmod 644 R.h5
    [ "$(fingerprint R.h5)" = "$before" ] || fail "a refused command changed R.h5"
    [ ! -e N.h5 ] && [ ! -e S.h5 ] && [ ! -e sub ] || fail "a refused command left a file"
    say "PASS: permission problems give exit 5 with the cause first"
    ;;
  midrun)
    # The disk fills during the sweep (possible on copy-on-write and network file systems even though the
    # file is preallocated): tests/files/fail_pwrite.c makes writes to the results file fail with ENOSPC.
    command -v cc > /dev/null || skip "no C compiler for the fault-injection library"
    cc -shared -fPIC -O1 "$here/fail_pwrite.c" -o fail_pwrite.so -ldl || skip "cannot build the fault-injection library"
    rc=$(run_cmd ref.log "$engine" run "$job" --out ref.h5 -q); expect "$rc" 0 ref.log "the reference run"
    for np in 1 2; do
      out=full$np.h5
      rc=$(run_cmd "$out.log" mpirun -np "$np" -x ICL_FAIL_PATH="/$out" -x ICL_FAIL_AFTER=250 -x LD_PRELOAD="$PWD/fail_pwrite.so" \
           "$engine" run "$job" --out "$out" --progress 1)
      expect "$rc" 5 "$out.log" "$np rank(s): a disk that fills during the sweep"
      grep -q "error: disk full while committing point [0-9]* to '$out' (.* free); the points committed before it are safe" "$out.log" \
        || { cat "$out.log"; fail "$np rank(s): no disk-full line"; }
      grep -q "Segmentation\|signal 11" "$out.log" && fail "$np rank(s): crashed"
      "$engine" status "$out" > "$out.status" || [ $? = 3 ] || { cat "$out.status"; fail "the file does not open after the failure"; }
      rc=$(run_cmd "$out.resume.log" "$engine" run "$job" --out "$out" -q); expect "$rc" 0 "$out.resume.log" "resume after freeing space"
      for p in /points/status /points/eval /points/selected; do
        h5diff -q ref.h5 "$out" "$p" "$p" || fail "$np rank(s): resumed values differ from an uninterrupted run at $p"
      done
    done
    say "PASS: a disk that fills mid-sweep stops it with exit 5 and a disk-full line; committed points survive, resume completes"
    ;;
  options)
    mkdir cwd && cd cwd
    rc=$(run_cmd ../empty.log "$engine" run "$job" --out ""); expect "$rc" 2 ../empty.log "run --out ''"
    grep -q -- "--out is empty" ../empty.log || fail "no --out message: $(cat ../empty.log)"
    rc=$(run_cmd ../empty_t.log "$engine" train --out ""); expect "$rc" 2 ../empty_t.log "train --out ''"
    rc=$(run_cmd ../empty_s.log "$engine" sample "${sample_args[@]}" --out ""); expect "$rc" 2 ../empty_s.log "sample --out ''"
    [ -z "$(ls -A .)" ] || fail "--out '' left files in the working directory: $(ls -A .)"
    cd ..
    echo x > plain
    rc=$(run_cmd parent.log "$engine" run "$job" --out plain/R.h5); expect "$rc" 2 parent.log "--out under a regular file"
    grep -q "'plain' is a file, not a directory" parent.log || fail "parent message: $(cat parent.log)"
    rc=$(run_cmd parent2.log "$engine" sample "${sample_args[@]}" --out plain/deeper/S.h5); expect "$rc" 2 parent2.log "sample --out under a regular file"
    mkdir adir
    rc=$(run_cmd dir.log "$engine" run "$job" --out adir); expect "$rc" 2 dir.log "--out a directory"
    grep -q "is a directory" dir.log || fail "directory message: $(cat dir.log)"
    for bad in "--progress -5" "--progress nan" "--progress inf" "--grace -1" "--grace nan" "--grace 1e300"; do
      # shellcheck disable=SC2086
      rc=$(run_cmd bad.log "$engine" run "$job" --out B.h5 $bad); expect "$rc" 2 bad.log "run $bad"
      grep -q -- "${bad%% *}" bad.log || fail "run $bad: message does not name the option: $(cat bad.log)"
      [ ! -e B.h5 ] || fail "run $bad created a file"
    done
    rc=$(run_cmd tp.log "$engine" train --out T.h5 --progress -5); expect "$rc" 2 tp.log "train --progress -5"
    [ ! -e T.h5 ] || fail "train --progress -5 created a file"
    rc=$(run_cmd ok.log "$engine" run "$job" --out R.h5 --set seeds=0 -q); expect "$rc" 0 ok.log "a run to resume"
    rc=$(run_cmd st.log "$engine" status R.h5 --errors -1); expect "$rc" 2 st.log "status --errors -1"
    # A refused resume (another grid) does not open the file for writing: mtime and bytes unchanged.
    before=$(fingerprint R.h5)
    sleep 0.05
    rc=$(run_cmd mis.log "$engine" run "$job" --out R.h5 --set seeds=0..1); expect "$rc" 5 mis.log "resume with another grid"
    grep -q "belongs to a different grid" mis.log || fail "mismatch message: $(cat mis.log)"
    [ "$(fingerprint R.h5)" = "$before" ] || fail "the refused resume changed R.h5's mtime or bytes: $before -> $(fingerprint R.h5)"
    no_junk .
    say "PASS: bad --out and option values refused with exit 2; a refused resume leaves the file untouched"
    ;;
  *) echo "unknown scenario $scenario" >&2; exit 2 ;;
esac
