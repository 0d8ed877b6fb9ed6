#!/usr/bin/python3
"""Checks a sweep's results file after Slurm runs: complete, nothing lost, nothing computed twice.

  check_results.py RESULTS --engine PATH [--jobs ID,ID,...] [--against SNAPSHOT.json]
  check_results.py RESULTS --min-done N          exit 0 once at least N points are committed (polling)
  check_results.py RESULTS --snapshot OUT.json   save (point id -> end time) of the committed points

Final check: every point committed (status done), `ENGINE status RESULTS` exits 0, the file records one
launch per Slurm job in --jobs (in order), and every point of --against still has the end time it had
then: a point committed by an earlier launch was not recomputed by a later one.
Reads the HDF5 layout of docs/results-format.md (/points/{id,status,end_time}, /runs/{used,slurm_job_id})
with locking off, so it can read while the engine writes; tests/slurm/fake_engine.sh's text files also work.
"""
import argparse, collections, json, os, subprocess, sys

os.environ["HDF5_USE_FILE_LOCKING"] = "FALSE"  # poll while rank 0 holds the file open for writing

DONE = 1


def read_hdf5(path):
    import h5py
    with h5py.File(path, "r") as f:
        ids = [x.decode().rstrip("\0") if isinstance(x, bytes) else str(x) for x in f["points/id"][()]]
        status = [int(s) for s in f["points/status"][()]]
        end = [float(t) for t in f["points/end_time"][()]]
        used = f["runs/used"][()]
        jobs = [j.decode().rstrip("\0") if isinstance(j, bytes) else str(j)
                for j, u in zip(f["runs/slurm_job_id"][()], used) if u]
    committed = {i: e for i, s, e in zip(ids, status, end) if s == DONE}
    return ids, committed, jobs, [i for i, s in zip(ids, status) if s != DONE]


def read_fake(path):
    """fake_engine.sh: one 'p<index> job=<id>' line per committed point, total in PATH.total."""
    rows = [line.split() for line in open(path) if line.strip()]
    total = int(open(path + ".total").read())
    ids = [f"p{i}" for i in range(total)]
    committed, seen = {}, collections.Counter()
    for pid, job in rows:
        seen[pid] += 1
        committed[pid] = job.split("=", 1)[1] + ("" if seen[pid] == 1 else f"#{seen[pid]}")  # a rewrite changes the stamp
    jobs = list(dict.fromkeys(j.split("=", 1)[1] for _, j in rows))
    return ids, committed, jobs, [i for i in ids if i not in committed]


def read(path):
    with open(path, "rb") as f:
        is_hdf5 = f.read(8) == b"\x89HDF\r\n\x1a\n"
    return read_hdf5(path) if is_hdf5 else read_fake(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results"); ap.add_argument("--engine")
    ap.add_argument("--jobs"); ap.add_argument("--against"); ap.add_argument("--snapshot")
    ap.add_argument("--min-done", type=int)
    a = ap.parse_args()
    if a.min_done is not None:
        try:
            return 0 if len(read(a.results)[1]) >= a.min_done else 1
        except Exception:  # not created yet, or caught mid-creation
            return 1
    ids, committed, jobs, pending = read(a.results)
    if a.snapshot:
        json.dump(committed, open(a.snapshot, "w"))
        print(f"check_results: snapshot of {len(committed)} committed point(s) of {len(ids)} -> {a.snapshot}")
        return 0
    problems = []
    if len(set(ids)) != len(ids): problems.append("the file lists a point id more than once")
    if pending: problems.append(f"{len(pending)} of {len(ids)} points not committed: {pending[:5]}")
    if a.jobs is not None and jobs != a.jobs.split(","):
        problems.append(f"expected one launch per Slurm job {a.jobs.split(',')}, the file records {jobs}")
    if a.against:
        before = json.load(open(a.against))
        if not before: problems.append(f"{a.against} holds no committed point: the drain came before any work was done")
        redone = [i for i, stamp in before.items() if committed.get(i) != stamp]
        if redone: problems.append(f"{len(redone)} point(s) committed by an earlier launch were computed again: {redone[:5]}")
        else: print(f"check_results: the {len(before)} point(s) committed before the drain were not recomputed")
    if a.engine:
        st = subprocess.run([a.engine, "status", a.results], capture_output=True, text=True)
        print(st.stdout, end="")
        if st.returncode != 0: problems.append(f"'{a.engine} status' exited {st.returncode} (0 = complete): {st.stderr.strip()}")
    for p in problems: print("check_results: FAIL: " + p)
    if not problems: print(f"check_results: OK: {len(ids)} points, each committed once, launches {jobs}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
