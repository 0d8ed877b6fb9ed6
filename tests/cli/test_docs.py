"""Every snippet of README.md and docs/*.md is checked against the real engine:

* ```python snippets run (cwd = a temporary directory holding the files they open, made by iclsweep);
* ```ini snippets are valid job files (`iclsweep list`);
* ```bash / ```sh lines that run or list a job are validated with `iclsweep list` and the same --set options;
  analysis/plot.py and report.py lines name figures and options that exist (--help of each is not enough:
  the options are parsed);
* every job path named in the docs, the analysis scripts and the engine's messages exists.

Usage: test_docs.py /path/to/iclsweep"""
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANALYSIS = os.path.join(REPO, "analysis")
BINARY = None
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", MPLBACKEND="Agg",
           PYTHONPATH=ANALYSIS)
DOCS = [os.path.join(REPO, "README.md")] + sorted(glob.glob(os.path.join(REPO, "docs", "*.md")))
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)

# One small real file with every model kind the snippets touch: a p_high sweep of transformers, gated and
# online points (tiny budgets: a few seconds).
SNIPPET_JOB = """[train]
steps = 40
checkpoint_interval = 20
log_interval = 10
[eval]
num_eval_samples = 20
num_pretraining_samples = 40
[data]
dataset_size = 64
[grid]
run.model_kind = transformer, gated, online
data.p_high = 0.5, 0.9
seeds = 0..1
"""


def snippets(kinds):
    for doc in DOCS:
        with open(doc) as f:
            text = f.read()
        for m in FENCE.finditer(text):
            if m.group(1) in kinds:
                line = text[:m.start()].count("\n") + 1
                yield os.path.relpath(doc, REPO), line, m.group(2)


def iclsweep(*args):
    return subprocess.run([BINARY, *args], capture_output=True, text=True, env=ENV, timeout=300, cwd=REPO)


class DocsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="iclsweep-docs-")
        job = os.path.join(cls.tmp, "snippet.ini")
        with open(job, "w") as f:
            f.write(SNIPPET_JOB)
        results = os.path.join(cls.tmp, "results.h5")
        proc = iclsweep("run", job, "--out", results, "-q")
        assert proc.returncode == 0, proc.stderr
        for name in ("sweep.h5", "results/local.h5"):  # the names the snippets open
            os.makedirs(os.path.dirname(os.path.join(cls.tmp, name)), exist_ok=True)
            shutil.copy(results, os.path.join(cls.tmp, name))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_python_snippets_run(self):
        found = 0
        for doc, line, code in snippets(("python",)):
            found += 1
            with self.subTest(doc=doc, line=line):
                proc = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True, env=ENV,
                                      cwd=self.tmp, timeout=300)
                self.assertEqual(proc.returncode, 0, f"{doc}:{line}: the snippet fails:\n{proc.stderr}")
        self.assertGreaterEqual(found, 3)

    def test_ini_snippets_are_valid_jobs(self):
        for doc, line, code in snippets(("ini",)):
            with self.subTest(doc=doc, line=line):
                path = os.path.join(self.tmp, f"snippet_{line}.ini")
                with open(path, "w") as f:
                    f.write(code)
                proc = iclsweep("list", path)
                self.assertEqual(proc.returncode, 0, f"{doc}:{line}: not a valid job:\n{proc.stderr}")

    def test_shell_snippets_name_valid_jobs_and_options(self):
        checked = 0
        for doc, line, code in snippets(("bash", "sh")):
            for command in code.splitlines():
                command = command.split("  #")[0].strip()
                if not command or command.startswith("#"):
                    continue
                words = shlex.split(command.replace("\\", ""))
                with self.subTest(doc=doc, line=line, command=command):
                    if "iclsweep" in words[0] and len(words) > 2 and words[1] in ("run", "list"):
                        sets = [w for i, w in enumerate(words) if i > 0 and words[i - 1] in ("--set", "-s")]
                        args = ["list", words[2]] + [a for s in sets for a in ("--set", s)]
                        proc = iclsweep(*args)
                        self.assertEqual(proc.returncode, 0, f"{doc}:{line}: {command}\n{proc.stderr}")
                        checked += 1
                    elif words[0].startswith("scripts/run-local.sh") and len(words) > 1:
                        self.assertTrue(os.path.exists(os.path.join(REPO, words[1])), f"{doc}:{line}: {words[1]}")
                        checked += 1
                    elif any(w.endswith(("analysis/plot.py", "analysis/report.py")) for w in words):
                        script = next(w for w in words if w.endswith(("plot.py", "report.py")))
                        self._check_analysis_options(doc, line, script, words[words.index(script) + 1:])
                        checked += 1
        self.assertGreaterEqual(checked, 10)

    def _check_analysis_options(self, doc, line, script, args):
        sys.path.insert(0, ANALYSIS)
        from iclsweep_analysis import figures
        if script.endswith("plot.py") and "--figure" in args:
            for name in args[args.index("--figure") + 1].split(","):
                self.assertTrue(name == "all" or name in figures.FIGURES, f"{doc}:{line}: no figure '{name}'")
        known = {"plot.py": ("--figure", "--out", "--gh", "--alpha-metric", "--no-mixture", "--where", "--curves"),
                 "report.py": ("--by", "--recompute", "--metric", "--splits", "--where", "--format", "--per-point")}
        options = known["plot.py" if script.endswith("plot.py") else "report.py"]
        for word in args:
            if word.startswith("--"):
                self.assertIn(word.split("=")[0], options, f"{doc}:{line}: {script} has no option {word}")

    def test_every_named_job_file_exists(self):
        sources = DOCS + glob.glob(os.path.join(REPO, "analysis", "**", "*.py"), recursive=True) + \
            glob.glob(os.path.join(REPO, "src", "**", "*.cpp"), recursive=True) + \
            glob.glob(os.path.join(REPO, "scripts", "*")) + glob.glob(os.path.join(REPO, "slurm", "*")) + \
            glob.glob(os.path.join(REPO, "jobs", "**", "*.ini"), recursive=True)
        pattern = re.compile(r"(?<![\w/])((?:tests/data/)?jobs/[\w./-]+?\.ini)")
        missing = []
        for path in sources:
            if os.path.isdir(path):
                continue
            with open(path, errors="replace") as f:
                for number, text in enumerate(f, 1):
                    for name in pattern.findall(text):
                        if "<" in name or "*" in name or "NAME" in name:
                            continue
                        if not os.path.exists(os.path.join(REPO, name)):
                            missing.append(f"{os.path.relpath(path, REPO)}:{number}: {name}")
        # The figures' refusal messages name jobs/paper/<job>.ini and jobs/lite/<job>.ini.
        sys.path.insert(0, ANALYSIS)
        from iclsweep_analysis import figures
        for name, spec in figures.FIGURES.items():
            for job in [f"jobs/paper/{j}.ini" for j in spec.paper_jobs] + [f"jobs/lite/{j}.ini" for j in spec.lite_jobs]:
                if not os.path.exists(os.path.join(REPO, job)):
                    missing.append(f"figure {name}: {job}")
        self.assertEqual(missing, [], "job files named but missing:\n" + "\n".join(missing))


if __name__ == "__main__":
    BINARY = os.path.abspath(sys.argv.pop(1))
    unittest.main()
