# Sourced by a model kind's MPI test (lm_facts_test.sh, reddy_test.sh, raventos_test.sh): the command line, the environment
# and the helpers they share. Before sourcing, set `tag` (the log prefix) and `job_name` (the job file
# beside this library); afterwards $engine, $work (the current directory) and $job are set.
#   <kind>_test.sh --engine PATH --work DIR
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
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
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
job="$here/$job_name"
say() { printf '[%s %s] %s\n' "$tag" "$(date +%T)" "$*"; }
fail() { say "FAIL: $*"; exit 1; }
run_mpi() {  # run_mpi NP OUT [engine args]: prints the exit code
  local np=$1 out=$2; shift 2
  set +e
  mpirun -np "$np" --bind-to none "$engine" run "$job" --out "$out" --progress 1 "$@" > "$out.log" 2>&1
  local rc=$?
  set -e
  echo $rc
}
kill_launch() {  # kill_launch PID: SIGKILL a launch (mpirun and every process under it, by PID) and wait
  # until none is left. Open MPI may put the ranks in process groups of their own, so killing mpirun's group
  # can leave a rank that commits a point after the test counted the committed ones.
  local launcher=$1 p pids
  descendants() { local c; for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done; }
  pids="$launcher $(descendants "$launcher")"
  kill -9 $pids 2>/dev/null || true
  wait "$launcher" 2>/dev/null || true
  for p in $pids; do
    for _ in $(seq 1 200); do
      state=$(awk '/^State:/ {print $2}' "/proc/$p/status" 2>/dev/null) || state=""
      [ -z "$state" ] || [ "$state" = Z ] && break
      sleep 0.05
    done
  done
}
