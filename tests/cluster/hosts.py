#!/usr/bin/python3
"""Where the points of a results file ran: the per-point `host` column (docs/results-format.md).

  hosts.py RESULTS --expect H1,H2,...      every listed host committed at least one point; prints the counts
  hosts.py RESULTS --running-at T --host H a point on H was running at unix time T (started before, committed
                                           after): the drain let the remote node finish its point
  hosts.py RESULTS --started-after T --host H [--none]
                                           some point (with --none: no point) on H started after T
Exit 0 when the condition holds, 1 (with the reason) otherwise.
"""
import argparse, collections, os, sys

os.environ["HDF5_USE_FILE_LOCKING"] = "FALSE"
import h5py  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--expect"); ap.add_argument("--host")
    ap.add_argument("--running-at", type=float); ap.add_argument("--started-after", type=float)
    ap.add_argument("--none", action="store_true")
    a = ap.parse_args()
    with h5py.File(a.results, "r") as f:
        p = f["points"]
        done = p["status"][()] == 1
        host = [h.decode().rstrip("\0") for h in p["host"][()]]
        start, end = p["start_time"][()], p["end_time"][()]
    rows = [(h, s, e) for h, s, e, d in zip(host, start, end, done) if d]
    counts = collections.Counter(h for h, _, _ in rows)
    print("hosts.py: committed points per host: " + ", ".join(f"{h} {n}" for h, n in sorted(counts.items())))
    if a.expect:
        missing = [h for h in a.expect.split(",") if counts[h] == 0]
        if missing:
            print(f"hosts.py: FAIL: no point ran on {missing}"); return 1
    if a.running_at is not None:
        hits = [(s, e) for h, s, e in rows if h == a.host and s < a.running_at < e]
        if not hits:
            print(f"hosts.py: FAIL: no point committed on {a.host} was running at {a.running_at:.3f}"); return 1
        print(f"hosts.py: {len(hits)} point(s) on {a.host} were running at the signal and were committed")
    if a.started_after is not None:
        n = sum(1 for h, s, _ in rows if h == a.host and s > a.started_after)
        if a.none and n:
            print(f"hosts.py: FAIL: {n} point(s) on {a.host} started after {a.started_after:.3f}"); return 1
        if not a.none and not n:
            print(f"hosts.py: FAIL: no point on {a.host} started after {a.started_after:.3f}"); return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
