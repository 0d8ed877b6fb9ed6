#!/usr/bin/env bash
# slurm/submit's duplicate-chain check without a cluster (issue 22, defect 8): stub squeue / sbatch on PATH.
# A chain already writing r.h5 must stop a second submit for the same file under any name (./r.h5,
# dir/../r.h5, a symlink, a hard link), before the running chain's batch script is rewritten.
#   submit_duplicate_test.sh --engine PATH --job JOB.ini --work DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
engine="" job="" work=""
while [ $# -gt 0 ]; do
  case "$1" in
    --engine) engine=$2; shift 2 ;;
    --job) job=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$engine" ] && [ -f "$job" ] && [ -n "$work" ] || { echo "need --engine, --job and --work" >&2; exit 2; }
rm -rf "$work"; mkdir -p "$work/bin" "$work/sub"; cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
# a running chain for $work/r.h5, as squeue shows it (slurm/submit sets --comment=iclsweep:<results>)
cat > bin/squeue <<STUB
#!/bin/sh
echo "4242|iclsweep:$work/r.h5"
STUB
cat > bin/sbatch <<'STUB'
#!/bin/sh
echo "sbatch called: $*" >> "$(dirname "$0")/../sbatch.log"; echo 4243
STUB
chmod +x bin/squeue bin/sbatch
export PATH="$work/bin:$PATH"
: > r.h5
ln -s r.h5 link.h5
ln r.h5 hard.h5
mkdir -p r.h5.logs; echo "the running chain's script" > r.h5.logs/sweep.sbatch
for name in r.h5 ./r.h5 sub/../r.h5 link.h5 hard.h5 "$work/./r.h5"; do
  set +e
  bash "$here/../../slurm/submit" "$job" --ranks 1 --time 10:00 --out "$name" --iclsweep "$engine" > out.txt 2>&1
  rc=$?
  set -e
  [ "$rc" != 0 ] || { cat out.txt; fail "--out $name was submitted while job 4242 writes r.h5"; }
  grep -q "job(s) 4242 already run or wait for" out.txt || { cat out.txt; fail "--out $name: no duplicate-chain refusal"; }
  [ "$(cat r.h5.logs/sweep.sbatch)" = "the running chain's script" ] || fail "--out $name rewrote the running chain's batch script"
  [ ! -e sbatch.log ] || fail "--out $name called sbatch"
  echo "--out $name: refused (job 4242 writes that file)"
done
# another file is submitted
bash "$here/../../slurm/submit" "$job" --ranks 1 --time 10:00 --out other.h5 --iclsweep "$engine" > out.txt 2>&1 \
  || { cat out.txt; fail "a different results file was refused"; }
grep -q "sbatch called" sbatch.log || fail "sbatch was not called for other.h5"
echo "PASS: the duplicate-chain check compares file identity, not path text"
