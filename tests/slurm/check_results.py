#!/usr/bin/python3
"""Checks a sweep's results file after Slurm runs: complete, nothing duplicated, launches recorded.

  check_results.py RESULTS --engine PATH [--launches K] [--min-done N] [--quiet]

--min-done N: only check that at least N points are committed (exit 1 otherwise): used while polling.
Otherwise: every point committed exactly once, `ENGINE status RESULTS` exits 0, and (--launches K)
the file records K launches with distinct Slurm job ids.
"""
import argparse, collections, subprocess, sys


def fake_points(path):
    """tests/slurm/fake_engine.sh writes text: one 'p<index> job=<id>' line per committed point."""
    rows = [line.split() for line in open(path) if line.strip()]
    total = int(open(path + ".total").read())
    ids = [r[0] for r in rows]
    jobs = [r[1].split("=", 1)[1] for r in rows]
    return total, ids, jobs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results"); ap.add_argument("--engine", required=True)
    ap.add_argument("--launches", type=int); ap.add_argument("--min-done", type=int)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    try:
        with open(a.results, "rb") as f:
            is_hdf5 = f.read(8) == b"\x89HDF\r\n\x1a\n"
    except OSError as e:
        if not a.quiet: print(f"cannot read {a.results}: {e}")
        return 1
    if is_hdf5:
        total, ids, launch_jobs = hdf5_points(a.results)
    else:
        total, ids, jobs = fake_points(a.results)
        launch_jobs = sorted(set(jobs))
    if a.min_done is not None:
        return 0 if len(ids) >= a.min_done else 1
    problems = []
    dup = [k for k, n in collections.Counter(ids).items() if n > 1]
    if dup: problems.append(f"{len(dup)} point(s) committed more than once: {dup[:5]}")
    if len(set(ids)) != total: problems.append(f"{len(set(ids))} distinct points committed, the grid has {total}")
    if a.launches is not None:
        distinct = sorted(set(launch_jobs))
        if len(launch_jobs) != a.launches or len(distinct) != a.launches:
            problems.append(f"expected {a.launches} launches with distinct Slurm job ids, the file records {launch_jobs}")
    st = subprocess.run([a.engine, "status", a.results], capture_output=True, text=True)
    print(st.stdout, end="")
    if st.returncode != 0: problems.append(f"'{a.engine} status' exited {st.returncode} (0 = complete): {st.stderr.strip()}")
    for p in problems: print("check_results: " + p)
    if not problems: print(f"check_results: OK: {total} points, each committed once, launches {launch_jobs}")
    return 1 if problems else 0


def hdf5_points(path):
    raise SystemExit("HDF5 layout not wired yet")


if __name__ == "__main__":
    sys.exit(main())
