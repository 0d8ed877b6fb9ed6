"""tests/README.md maps every source file to its tests; this check keeps the map complete and true.

Fails when a source file under src/, analysis/, scripts/ or slurm/ has no row in tests/README.md, when a row
names a file that no longer exists, or (given the build directory) when a row names a test that CTest does not
know. A new source file therefore needs one line in tests/README.md saying which tests cover it.

Usage: check_test_map.py REPO [BUILD_DIR]"""
import os
import re
import subprocess
import sys

SOURCE_ROOTS = ("src", "analysis", "scripts", "slurm")
SKIPPED_DIRS = {"__pycache__", "build", ".pytest_cache"}
SKIPPED_SUFFIXES = (".pyc", ".egg-info")
# A row of a table: | `path` | tests |
ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|(.*)\|\s*$")
# CTest names as the map writes them: unit.test_room_what, mpi.drain, ... (`mpi.*` stands for a group)
TEST_NAME = re.compile(r"`((?:unit|mpi|slurm|cluster|files|cli|analysis|golden|jobs|tests)\.[\w*]+)`")


def source_files(repo):
    found = set()
    for root in SOURCE_ROOTS:
        for directory, subdirs, files in os.walk(os.path.join(repo, root)):
            subdirs[:] = [d for d in subdirs if d not in SKIPPED_DIRS and not d.endswith(SKIPPED_SUFFIXES)]
            for name in files:
                if not name.endswith(SKIPPED_SUFFIXES):
                    found.add(os.path.relpath(os.path.join(directory, name), repo))
    return found


def mapped_rows(readme):
    rows = {}
    with open(readme) as f:
        for line in f:
            m = ROW.match(line)
            if m and m.group(1).startswith(tuple(r + "/" for r in SOURCE_ROOTS)):
                rows[m.group(1)] = m.group(2)
    return rows


def registered_tests(build_dir):
    out = subprocess.run(["ctest", "-N"], cwd=build_dir, capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"Test\s+#\d+: (\S+)", out))


def main():
    repo = os.path.abspath(sys.argv[1])
    readme = os.path.join(repo, "tests", "README.md")
    rows = mapped_rows(readme)
    problems = [f"{path}: no row in tests/README.md (add one naming the tests that cover it)"
                for path in sorted(source_files(repo) - set(rows))]
    problems += [f"tests/README.md names {path}, which does not exist" for path in sorted(rows)
                 if not os.path.exists(os.path.join(repo, path))]
    if len(sys.argv) > 2:
        known = registered_tests(sys.argv[2])
        with open(readme) as f:
            named = set(TEST_NAME.findall(f.read()))
        for name in sorted(named):
            pattern = re.compile("^" + re.escape(name).replace(r"\*", ".*") + "$")
            if not any(pattern.match(k) for k in known):
                problems.append(f"tests/README.md names test {name}, which ctest -N does not list")
    for p in problems:
        print(p)
    print(f"{len(rows)} files mapped, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
