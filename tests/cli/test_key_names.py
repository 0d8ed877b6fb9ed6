#!/usr/bin/python3
"""Every parameter key that the engine's source names in a string (error messages, help, hints) exists.

  test_key_names.py ENGINE SRC_DIR...

A message that names a key the registry does not have (`eval.pretraining_samples` for
`eval.num_pretraining_samples`) sends a user looking for a setting that is not there. This scans every
string literal under the given source folders for `section.name` where `section` is one of the registry's
sections, and fails naming the file, line and key when `iclsweep keys` does not list it.
"""
import os, re, subprocess, sys

engine, roots = sys.argv[1], sys.argv[2:]
keys = set()
for line in subprocess.run([engine, "keys"], capture_output=True, text=True, check=True).stdout.splitlines():
    if line and not line[0].isspace():
        keys.add(line.split()[0])
sections = sorted({k.split(".", 1)[0] for k in keys if "." in k})
if len(keys) < 50 or not sections:
    sys.exit(f"test_key_names: `{engine} keys` listed only {len(keys)} keys: cannot check")
# The engine's own result paths and file names share the dotted look; these are not parameter keys.
not_keys = re.compile(r"\.(h5|ini|json|csv|png|txt|lock|md|py|sh|sbatch|cpp|hpp|zip)$")
key_re = re.compile(r"(?<![\w./-])(" + "|".join(sections) + r")\.([a-z_][a-z0-9_]*)(?![\w(/-])")
string_re = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
problems, checked = [], 0
for root in roots:
    for folder, _, files in os.walk(root):
        for name in sorted(files):
            if not name.endswith((".cpp", ".hpp")):
                continue
            path = os.path.join(folder, name)
            for n, line in enumerate(open(path, encoding="utf-8"), 1):
                if line.lstrip().startswith("//") or line.lstrip().startswith("#include"):
                    continue
                for literal in string_re.findall(line):
                    for m in key_re.finditer(literal):
                        key = m.group(0)
                        if not_keys.search(key):
                            continue
                        checked += 1
                        if key not in keys:
                            problems.append(f"{path}:{n}: '{key}' is not a parameter key (iclsweep keys)")
if problems:
    print("test_key_names: FAIL: the source names keys that do not exist:\n  " + "\n  ".join(problems))
    sys.exit(1)
print(f"test_key_names: the {checked} key names in string literals all exist ({len(keys)} keys)")
