#!/usr/bin/python3
"""Golden results: one tiny job per model kind, its /points datasets compared with recorded digests.

  golden.py check  --engine PATH --work DIR [--shared DIR]   exit 0 all equal, 1 a dataset differs, 77 skipped
  golden.py record --engine PATH --work DIR [--shared DIR]   rewrite digests.json from this binary

Refactors must keep every kind's numbers bit-identical: a digest of every /points dataset (values, dtype
and shape) except the ones that legitimately differ between runs (`rank`, `host`, the times and the online
kind's measured `steps_per_second`) must match the digests recorded from an earlier binary. A new
parameter key is allowed when every point holds its default (a new key whose default keeps the old
behaviour: its `params/<key>` dataset is new, and `params_text`, which lists every key, is compared
without it); any other new, missing or changed dataset fails, naming it.

Digests depend on the instruction set the binary was built for (-march=native: FMA contraction and
vector widths change float rounding), so digests.json records the CPU features it was made with; on a
machine with other features the check is skipped with a message saying so (exit 77), never passed.

A change that is meant to move numbers (a different summation order, say) records new digests with
`record` and says why in its commit message.
"""
import argparse, hashlib, json, os, subprocess, sys

os.environ["HDF5_USE_FILE_LOCKING"] = "FALSE"
HERE = os.path.dirname(os.path.abspath(__file__))
DIGESTS = os.path.join(HERE, "digests.json")
KINDS = ["transformer", "gated", "theory", "online", "omniglot", "lm_facts"]
VOLATILE = {"rank", "host", "start_time", "end_time", "wall_time", "cpu_time", "online/steps_per_second"}
PARAMS_TEXT = "params_text"
# The features that change what -march=native compiles float code into on x86-64.
ISA_FLAGS = ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_fp16"]


def isa_signature():
    flags = set()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    return os.uname().machine + ":" + ",".join(f for f in ISA_FLAGS if f in flags)


def engine_defaults(engine):
    """key -> default text, from `iclsweep keys` (key, type, default, ...; '-' or '' = unset)."""
    out = {}
    for line in subprocess.run([engine, "keys"], capture_output=True, text=True, check=True).stdout.splitlines():
        cols = line.split()
        if len(cols) >= 3 and "." in cols[0] and not line[0].isspace():
            out[cols[0]] = cols[2]
    return out


def holds_default(data, default):
    import numpy as np
    values = [v.decode() if isinstance(v, bytes) else v for v in np.ravel(data)]
    try:
        return all((np.isnan(v) and default in ("", "-")) or v == float(default) for v in values)
    except (TypeError, ValueError):
        return all(str(v) == default for v in values)


def digest_points(path, recorded_keys=None):
    """Digests of every /points dataset; with recorded_keys (the params/ keys of the recording), params_text
    is digested over those keys only, so a new key at its default does not change it."""
    import h5py, numpy as np
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if not isinstance(obj, h5py.Dataset) or name in VOLATILE:
                return
            data = obj[()]
            if name == PARAMS_TEXT and recorded_keys is not None:
                data = np.array([";".join(kv for kv in (t.decode() if isinstance(t, bytes) else t).split(";")
                                          if kv.split("=", 1)[0] in recorded_keys).encode() for t in data], dtype=object)
            h = hashlib.sha256(f"{obj.dtype.str}|{obj.shape}|".encode())
            if obj.dtype.kind == "O":  # variable-length strings
                for v in np.ravel(data):
                    h.update((v if isinstance(v, bytes) else str(v).encode()) + b"\0")
            else:
                h.update(np.ascontiguousarray(data).tobytes())
            out[name] = (h.hexdigest()[:20], data)  # 80 bits: collisions are not the risk here
        f["points"].visititems(visit)
    return out


def run_kind(engine, work, shared, kind, recorded_keys=None):
    job = os.path.join(HERE, kind + ".ini")
    out = os.path.join(work, kind + ".h5")
    args = [engine, "run", job, "--out", out, "--overwrite", "-q"]
    if kind == "omniglot":
        # A relative path, so the point id (which includes omniglot.path) is the same in every checkout.
        link = os.path.join(work, "omniglot-data")
        if not os.path.islink(link):
            os.symlink(os.path.join(shared, "data", "omniglot"), link)
        args += ["--set", "omniglot.path=omniglot-data"]
    rc = subprocess.run(args, cwd=work).returncode
    # lm_facts.ini gates one point out on purpose (recorded as failed: exit 4); the others complete.
    if rc not in (0, 4):
        sys.exit(f"golden: {kind}: `{' '.join(args)}` exited {rc}")
    return digest_points(out, recorded_keys)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["check", "record"])
    ap.add_argument("--engine", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--shared", default=os.path.join(HERE, "..", "..", "..", "shared"))
    a = ap.parse_args()
    a.engine = os.path.abspath(a.engine)
    os.makedirs(a.work, exist_ok=True)
    shared = os.path.abspath(a.shared)
    if not os.path.isdir(os.path.join(shared, "data", "omniglot")):
        sys.exit(f"golden: {shared}/data/omniglot not found: the golden Omniglot job reads the shared subsets "
                 "(pass --shared DIR, the folder holding data/omniglot)")
    isa = isa_signature()
    # digests per instruction set: {"by_isa": {isa: {kind: {dataset: digest}}}} (an older file held one set)
    stored = json.load(open(DIGESTS)) if os.path.exists(DIGESTS) else {"by_isa": {}}
    by_isa = stored["by_isa"] if "by_isa" in stored else {stored["isa"]: stored["kinds"]}
    if a.mode == "record":
        by_isa[isa] = {k: {n: d for n, (d, _) in sorted(run_kind(a.engine, a.work, shared, k).items())} for k in KINDS}
        json.dump({"by_isa": by_isa}, open(DIGESTS, "w"), indent=1, sort_keys=True)
        print(f"golden: recorded {sum(map(len, by_isa[isa].values()))} digests of {len(KINDS)} kinds on {isa} -> "
              f"{DIGESTS} (instruction sets recorded: {', '.join(sorted(by_isa))})")
        return 0
    if isa not in by_isa:
        print(f"golden: SKIPPED: digests.json holds digests for {', '.join(sorted(by_isa))}, this machine is {isa}; "
              f"float rounding differs between instruction sets. Record digests for it with `golden.py record` on "
              f"the commit before a change, then check after it.")
        return 77
    recorded = {"kinds": by_isa[isa]}
    problems = []
    defaults = engine_defaults(a.engine)
    for kind in KINDS:
        want = recorded["kinds"][kind]
        keys = {n[len("params/"):] for n in want if n.startswith("params/")}
        got = run_kind(a.engine, a.work, shared, kind, keys)
        for name, digest in want.items():
            if name not in got:
                problems.append(f"{kind}: /points/{name} is missing")
            elif got[name][0] != digest:
                problems.append(f"{kind}: /points/{name} differs")
        for name, (_, data) in got.items():
            key = name[len("params/"):]
            if name in want:
                continue
            if not name.startswith("params/"):
                problems.append(f"{kind}: /points/{name} is new")
            elif key not in defaults or not holds_default(data, defaults[key]):
                problems.append(f"{kind}: /points/{name} is a new key that some point sets away from its default "
                                f"({defaults.get(key, 'not in iclsweep keys')})")
        print(f"golden: {kind}: {len(want)} datasets compared")
    if problems:
        print("golden: FAIL: results are not bit-identical to the recorded ones:\n  " + "\n  ".join(problems[:40]))
        return 1
    print("golden: every kind's /points datasets are bit-identical to the recorded digests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
