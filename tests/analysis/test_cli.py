"""plot.py and report.py as a user runs them."""
import os
import subprocess
import unittest

from helpers import ANALYSIS, TempDirCase

import fake_results as fr

PYTHON = "/usr/bin/python3"


def run(script, *args):
    return subprocess.run([PYTHON, os.path.join(ANALYSIS, script), *args], capture_output=True, text=True, timeout=120)


class PlotCliTest(TempDirCase):
    def test_all_writes_and_skips_with_reasons(self):
        points = fr.transformer_points({"data.p_high": [0.5, 0.9, 0.99]}) + fr.theory_points(("v2",))
        results = fr.write_file(self.path("r.h5"), points)
        out = self.path("figs")
        proc = run("plot.py", results, "--figure", "all", "--out", out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("wrote   p_high:", proc.stdout)
        self.assertIn("wrote   theory:", proc.stdout)
        self.assertIn("skipped noisy_labels:", proc.stdout)
        self.assertIn("jobs/paper/noisy_labels.ini", proc.stdout)
        self.assertEqual(sorted(os.listdir(out)), ["p_high.png", "p_high_grid.png", "theory_v2.png"])

    def test_single_figure_that_cannot_be_drawn_fails(self):
        results = fr.write_file(self.path("r.h5"), fr.theory_points(("v1",)))
        proc = run("plot.py", results, "--figure", "p_high", "--out", self.path("figs"))
        self.assertEqual(proc.returncode, 1)
        self.assertIn("jobs/paper/p_high.ini", proc.stdout)

    def test_out_is_checked_before_drawing(self):
        # Issue 22, defect 6's class: `--out ""` drew into the current directory; a --out that is a file ended in
        # a traceback after the figures were drawn.
        results = fr.write_file(self.path("r.h5"), fr.theory_points(("v2",)))
        empty = run("plot.py", results, "--figure", "all", "--out", "")
        self.assertEqual(empty.returncode, 2, empty.stderr)
        self.assertIn("--out is empty", empty.stderr)
        open(self.path("afile"), "w").close()
        proc = run("plot.py", results, "--figure", "all", "--out", self.path("afile"))
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("is a file, not a directory", proc.stderr)
        self.assertNotIn("Traceback", proc.stderr)

    def test_bad_input(self):
        self.assertEqual(run("plot.py", self.path("missing.h5")).returncode, 2)
        results = fr.write_file(self.path("r.h5"), fr.theory_points(("v1",)))
        self.assertEqual(run("plot.py", results, "--figure", "nope").returncode, 2)


class ReportCliTest(TempDirCase):
    def test_report_prints_mean_and_standard_error(self):
        # three seeds whose selected OOBD errors are 0.4, 0.5, 0.6: mean 0.500, SE sqrt(0.02/3)/sqrt(3) = 0.047
        points = []
        for seed, err in enumerate((0.4, 0.5, 0.6)):
            p = fr.transformer_point({"data.p_relevant_context": 0.9, "data.dataset_size": 256.0}, seed)
            p["fields"]["selected/eval-default-none-flip_label/error"] = err
            points.append(p)
        points += fr.theory_points(("v2",))
        broken = fr.transformer_point({"data.dataset_size": 64.0}, 9)
        broken.update(status=2, error="training diverged: non-finite loss at step 7", fields={})
        proc = run("report.py", fr.write_file(self.path("r.h5"), points + [broken]))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("4 done, 0 pending, 1 failed", proc.stdout)
        self.assertIn("failed 0000000000000004: training diverged: non-finite loss at step 7", proc.stdout)
        row = next(line for line in proc.stdout.splitlines() if line.strip().startswith("Transformer"))
        self.assertEqual(row.split()[1:3], ["8", "3"])  # log2 N, seeds
        self.assertIn("0.500±0.047", row)
        self.assertIn("0.49062", proc.stdout)  # theory: IC lower bound for k = 7 (§4.6 table)

    def test_other_kinds_get_their_scalar_fields(self):
        points = [{"params": dict(fr.DEFAULT_PARAMS, **{"run.model_kind": "online", "data.seed": float(s)}), "seed": s,
                   "status": 1, "fields": {"online/alpha_low_final": a, "online/t": [1.0, 2.0]}}
                  for s, a in enumerate((0.2, 0.4))]
        proc = run("report.py", fr.write_file(self.path("r.h5"), points))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("online: 2 done points", proc.stdout)
        line = next(x for x in proc.stdout.splitlines() if "online/alpha_low_final" in x)
        self.assertEqual(line.split()[1:4], ["0.3", "±", "0.0707"])  # SE = 0.1 / sqrt(2)
        self.assertNotIn("online/t ", proc.stdout)  # curves are not summarised

    def test_report_recompute_flag(self):
        results = fr.write_file(self.path("r.h5"), fr.transformer_points({}, n_values=(64,), seeds=(0, 1)))
        proc = run("report.py", results, "--recompute", "--by", "error", "--splits", "eval-default-none")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("pretraining error (recomputed)", proc.stdout)
        self.assertIn("eval-default-none", proc.stdout)


if __name__ == "__main__":
    unittest.main()
