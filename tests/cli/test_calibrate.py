#!/usr/bin/python3
"""`iclsweep calibrate` end to end: every kind's calibration points are valid and run, the file it writes
parses and is what `list` and `status` then price with; a bad file is refused by name.

  test_calibrate.py ENGINE WORKDIR SHARED_DIR
"""
import os, re, subprocess, sys

engine, work, shared = sys.argv[1], sys.argv[2], sys.argv[3]
import shutil
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
os.chdir(work)
env = dict(os.environ, HOME=work, XDG_CONFIG_HOME=os.path.join(work, "config"))
env.pop("ICLSWEEP_CALIBRATION", None)


def run(*args, expect=0, **kw):
    p = subprocess.run([engine, *args], capture_output=True, text=True, env=kw.get("env", env))
    if p.returncode != expect:
        sys.exit(f"FAIL: {' '.join(args)}: exit {p.returncode} (expected {expect})\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return p


omniglot = os.path.join(shared, "data", "omniglot")
p = run("calibrate", "--workers", "1", "--omniglot", omniglot)
default_file = os.path.join(work, "config", "iclsweep", "calibration.ini")
assert os.path.exists(default_file), "calibrate did not write $XDG_CONFIG_HOME/iclsweep/calibration.ini"
values = dict(re.findall(r"^(\S+) = (\S+)$", open(default_file).read(), re.M))
for kind in ("transformer", "gated", "theory", "online", "omniglot", "lm_facts"):
    mine = {k: float(v) for k, v in values.items() if k.startswith(kind + "/")}
    assert mine and all(v > 0 for v in mine.values()), (kind, mine)
assert "skipped" not in p.stdout, p.stdout

# list prices with it (and says so); a named file wins over the default one
open("ok.ini", "w").write("[run]\nmodel_kind = online\n[grid]\nseeds = 0..3\n")
listing = run("list", "ok.ini").stdout
assert f"calibration {default_file}" in listing, listing[-500:]
total = float(re.search(r"^total: (\S+) core-seconds", listing, re.M).group(1))
online = float(values["online/context_step"]) * 1024 * 2 + float(values["online/point"])
assert abs(total - 4 * online) <= 6e-3 * total, (total, 4 * online)  # list prints 3 significant digits

# --kinds refits only those and keeps the others
before = open(default_file).read()
run("calibrate", "--workers", "1", "--kinds", "theory")
after = dict(re.findall(r"^(\S+) = (\S+)$", open(default_file).read(), re.M))
assert after["transformer/train_gflop"] == values["transformer/train_gflop"], "a kind not asked for was refitted"

# a damaged file is refused by name, line and fix
open(default_file, "a").write("transformer/point = -2\n")
bad = run("list", "ok.ini", expect=2)
assert "calibration.ini' line" in bad.stderr and "iclsweep calibrate" in bad.stderr, bad.stderr
# and calibrate rewrites a damaged file whole
run("calibrate", "--workers", "1", "--kinds", "theory")
run("list", "ok.ini")
print("test_calibrate: every kind calibrated; list prices with the file; --kinds keeps the others; a bad file is refused")
