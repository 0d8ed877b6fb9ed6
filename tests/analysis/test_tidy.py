"""Tidy tables, --where, several files, report formats and the figure fixes of issue 12."""
import json
import os
import subprocess

import numpy as np

from helpers import ANALYSIS, TempDirCase

import fake_results as fr
from iclsweep_analysis import figures, load, tidy, transformer_figures

PYTHON = "/usr/bin/python3"


def run(script, *args, stdin_pipe_to=None):
    return subprocess.run([PYTHON, os.path.join(ANALYSIS, script), *args], capture_output=True, text=True, timeout=120)


class TidyTest(TempDirCase):
    def test_points_frame_one_row_per_point_with_status(self):
        points = fr.transformer_points({"data.p_high": [0.5, 0.9]}, n_values=(64,), seeds=(0, 1))
        points[1]["status"], points[1]["fields"] = 2, {}
        points[2]["status"], points[2]["fields"] = 0, {}
        path = fr.write_file(self.path("r.h5"), points, grid_keys=("data.p_high", "data.p_relevant_context", "data.seed"))
        df = tidy.points_frame(load.load(path, statuses=load.ALL_STATUSES), splits=["eval-default-none-flip_label"])
        self.assertEqual(len(df), len(points))
        self.assertEqual(list(df["status"][:3]), ["done", "failed", "pending"])
        for column in ("index", "id", "seed", "model_kind", "data.p_high", "selected_index", "selected_step",
                       "eval-default-none-flip_label/error", "eval-default-none-flip_label/loss"):
            self.assertIn(column, df.columns)
        p0 = points[0]["fields"]
        self.assertEqual(df["selected_index"][0], p0["selected/index"])
        self.assertEqual(df["selected_step"][0], p0["checkpoint/step"][p0["selected/index"]])
        self.assertAlmostEqual(df["eval-default-none-flip_label/error"][0],
                               p0["selected/eval-default-none-flip_label/error"], places=6)
        self.assertTrue(np.isnan(df["eval-default-none-flip_label/error"][1]))  # a failed point has no metrics
        self.assertEqual(df["selected_index"][2], -1)

    def test_checkpoints_frame_long_form_marks_the_selected_checkpoint(self):
        points = fr.transformer_points({}, n_values=(64,), seeds=(0,), p_rel=(0.9,), n_ckpt=4)
        res = load.load(fr.write_file(self.path("r.h5"), points))
        long = tidy.checkpoints_frame(res, splits=["pretraining", "eval-default-none"])
        self.assertEqual(len(long), 2 * 4)
        self.assertEqual(set(long["split"]), {"pretraining", "eval-default-none"})
        chosen = long[long["selected"]]
        self.assertEqual(len(chosen), 2)
        self.assertEqual(int(chosen["checkpoint"].iloc[0]), points[0]["fields"]["selected/index"])
        np.testing.assert_allclose(long[long.split == "pretraining"]["loss"],
                                   points[0]["fields"]["eval/pretraining/loss"], rtol=1e-6)

    def test_new_per_split_metrics_are_found(self):
        points = fr.transformer_points({}, n_values=(64,), seeds=(0,), p_rel=(0.9,))
        points[0]["fields"]["eval/pretraining/in_context_frac"] = [0.1, 0.2, 0.3, 0.4]
        res = load.load(fr.write_file(self.path("r.h5"), points))
        df = tidy.points_frame(res, splits=["pretraining"], metrics="all")
        self.assertIn("pretraining/in_context_frac", df.columns)

    def test_summary_frame_and_xarray(self):
        res = load.load(fr.write_file(self.path("r.h5"), fr.transformer_points({}, n_values=(64, 256), seeds=(0,))))
        summary = tidy.summary_frame(res, [("eval-default-none", "IBD")])
        self.assertEqual(list(summary["seeds"]), [1] * 6)
        self.assertTrue(summary["IBD/se"].isna().all())  # SE of one seed: n/a, not 0
        try:
            import xarray  # noqa: F401
        except ImportError:
            self.skipTest("python3-xarray not installed")
        df = tidy.points_frame(res, splits=["eval-default-none"])
        da = tidy.to_xarray(df, "eval-default-none/error")
        self.assertEqual(set(da.dims), {"data.dataset_size", "data.p_relevant_context", "data.seed", "seed"} & set(da.dims))
        self.assertEqual(da.sizes["data.dataset_size"], 2)

    def test_where_and_short_names(self):
        res = load.load(fr.write_file(self.path("r.h5"), fr.transformer_points({"data.p_high": [0.5, 0.9]})))
        self.assertEqual(len(res.where(["p_high=0.5"])), len(res) // 2)
        self.assertEqual(len(res.where(["data.p_high=0.5,0.9", "p_relevant_context=0.9"])), len(res) // 3)
        self.assertEqual(len(res.where({"data.num_relevant_contexts": "unset"})), len(res))
        with self.assertRaises(load.MissingData):
            res.where(["nosuch=1"])
        with self.assertRaises(load.MissingData):
            res.where(["p_high=abc"])

    def test_load_many_keeps_shared_points_once_and_refuses_conflicts(self):
        points = fr.transformer_points({}, n_values=(64,), seeds=(0, 1, 2), p_rel=(0.9,))
        ids = [f"{i:016x}" for i in range(3)]
        a = fr.write_file(self.path("a.h5"), points[:2], ids=ids[:2])
        b = fr.write_file(self.path("b.h5"), points[1:], ids=ids[1:])
        both = load.load_many([a, b])
        self.assertEqual(sorted(both.ids), ids)
        self.assertEqual(sorted(both.seeds), [0, 1, 2])
        points[1]["fields"]["eval/pretraining/loss"] = points[1]["fields"]["eval/pretraining/loss"] + 1
        c = fr.write_file(self.path("c.h5"), points[1:], ids=ids[1:])
        with self.assertRaisesRegex(load.MissingData, "different results"):
            load.load_many([a, c])

    def test_selection_rule_follows_the_figures(self):
        sweep = load.load(fr.write_file(self.path("p.h5"), fr.transformer_points({}, p_rel=(0.0, 0.5, 0.9, 1.0))))
        self.assertEqual(transformer_figures.selection_rule(sweep)[0], "error")
        plain = load.load(fr.write_file(self.path("q.h5"), fr.transformer_points({})))
        self.assertEqual(transformer_figures.selection_rule(plain)[0], "loss")
        proc = run("report.py", self.path("p.h5"))
        self.assertIn("a p_rel sweep: selected by the pretraining 0-1 error, as the p_relevant figure", proc.stdout)


class ReportAndPlotCliTest(TempDirCase):
    def test_report_formats(self):
        path = fr.write_file(self.path("r.h5"), fr.transformer_points({"data.p_high": [0.5, 0.9]}, n_values=(64,)))
        csv = run("report.py", path, "--format", "csv", "--where", "p_high=0.5")
        self.assertEqual(csv.returncode, 0, csv.stderr)
        lines = csv.stdout.strip().splitlines()
        self.assertEqual(len(lines), 1 + 3)  # header + 3 p_rel values
        self.assertIn("OOBD/mean", lines[0])
        records = json.loads(run("report.py", path, "--format", "json", "--per-point").stdout)
        self.assertEqual(len(records), 2 * 3 * 3)
        self.assertIn("eval-default-none-flip_label/error", records[0])

    def test_report_every_kind_gets_rows_and_fill_values_are_not_averaged(self):
        # Issue 22, defect 7: --format csv|json wrote an empty table for files without transformer points, and a
        # merged file printed another kind's -1 fill values as measurements ("selected/index -1 ± 0").
        import csv as csvmod
        import io
        only = fr.write_file(self.path("online.h5"), fr.online_points())
        table = list(csvmod.DictReader(io.StringIO(run("report.py", only, "--format", "csv").stdout)))
        self.assertEqual(len(table), 2)  # two sigma settings
        self.assertEqual({r["model_kind"] for r in table}, {"online"})
        self.assertIn("online/alpha_high_final/mean", table[0])
        records = json.loads(run("report.py", only, "--format", "json").stdout)
        self.assertEqual(len(records), 2)
        mixed = fr.write_file(self.path("mixed.h5"), fr.transformer_points({}, n_values=(64,)) + fr.online_points())
        table = list(csvmod.DictReader(io.StringIO(run("report.py", mixed, "--format", "csv").stdout)))
        kinds = [r["model_kind"] for r in table]
        self.assertEqual(kinds.count("transformer"), 3)
        self.assertEqual(kinds.count("online"), 2)
        for row in table:
            if row["model_kind"] == "online":
                self.assertNotIn("-1", [row.get(k) for k in row if k.startswith("selected/")])
        text = run("report.py", mixed).stdout
        online = text[text.index("\nonline:"):]
        self.assertNotIn("selected/index", online)
        self.assertNotIn("-1 ±", online)

    def test_report_one_seed_says_n_a_and_headers_do_not_run_together(self):
        path = fr.write_file(self.path("r.h5"), fr.transformer_points({}, n_values=(64,), seeds=(0,)))
        out = run("report.py", path, "--splits", "eval-relevant_context-low_prob-flip_label,pretraining").stdout
        self.assertIn("±n/a", out)
        self.assertNotIn("±0.000", out)
        header = next(line for line in out.splitlines() if "log2N" in line)
        self.assertIn(" eval-relevant_context-low_prob-flip_label ", header + " ")
        self.assertIn("  pretraining", header)

    def test_report_gated_file_is_a_short_table(self):
        path = fr.write_file(self.path("g.h5"), fr.gated_points({"data.input_noise_std": [0.0, 0.4]}))
        out = run("report.py", path).stdout
        self.assertIn("RelCL-OOBD:α", out)
        self.assertLess(len(out.splitlines()), 40)

    def test_report_under_head_ends_quietly(self):
        path = fr.write_file(self.path("r.h5"), fr.transformer_points({"data.p_high": [0.5, 0.9, 0.99]}))
        proc = subprocess.run(f"{PYTHON} {os.path.join(ANALYSIS, 'report.py')} {path} | head -2", shell=True,
                              capture_output=True, text=True, timeout=120)
        self.assertNotIn("Traceback", proc.stderr)
        self.assertNotIn("BrokenPipe", proc.stderr)

    def test_noisy_inputs_v1_draws_a_single_sigma(self):
        path = fr.write_file(self.path("r.h5"), fr.transformer_points({}, n_values=(64, 256)))
        proc = run("plot.py", path, "--figure", "all", "--out", self.path("figs"))
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("noisy_inputs_v1_sigma0.2.png", proc.stdout)

    def test_curves_and_where(self):
        path = fr.write_file(self.path("r.h5"), fr.transformer_points({"data.p_high": [0.5, 0.9]}))
        proc = run("plot.py", path, "--curves", "3", "0000000000000004", "--out", self.path("c"))
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(sorted(os.listdir(self.path("c"))), ["curves_3.png", "curves_4.png"])
        self.assertEqual(run("plot.py", path, "--curves", "999", "--out", self.path("c")).returncode, 1)
        proc = run("plot.py", path, "--where", "p_high=0.5", "--figure", "p_high", "--out", self.path("w"))
        self.assertEqual(proc.returncode, 1)  # one p_high value left: the figure refuses
        self.assertIn("is not swept", proc.stdout)

    def test_context_length_needs_both_files(self):
        rel = fr.transformer_points({"data.num_relevant_contexts": [1.0, 2.0]}, n_values=(64, 256), seeds=(0,),
                                    **{"data.num_contexts": 4.0})
        length = fr.transformer_points({"data.num_contexts": [1.0, 2.0, 4.0]}, n_values=(64, 256), seeds=(0,))
        a = fr.write_file(self.path("rel.h5"), rel, ids=[f"a{i:015x}" for i in range(len(rel))])
        b = fr.write_file(self.path("len.h5"), length, ids=[f"b{i:015x}" for i in range(len(length))])
        alone = run("plot.py", a, "--figure", "context_length", "--out", self.path("f"))
        self.assertEqual(alone.returncode, 1)
        self.assertIn("jobs/lite/num_contexts.ini", alone.stdout)
        both = run("plot.py", a, b, "--figure", "context_length", "--out", self.path("f"))
        self.assertEqual(both.returncode, 0, both.stdout + both.stderr)
        self.assertTrue(os.path.exists(self.path("f/context_length.png")))


class StyleTest(TempDirCase):
    def test_panels_are_page_sized_and_the_legend_is_outside(self):
        import matplotlib.image
        res = load.load(fr.write_file(self.path("r.h5"), fr.transformer_points({"data.p_high": [0.5, 0.9, 0.99]})))
        path = figures.draw("p_high", res, self.path("f"))[0]
        height, width = matplotlib.image.imread(path).shape[:2]
        self.assertGreaterEqual(width, 540)
        self.assertGreaterEqual(height, 450)

    def test_stylized_alpha_has_its_own_axis(self):
        import matplotlib.pyplot as plt
        res = load.load(fr.write_file(self.path("g.h5"), fr.gated_points({"data.input_noise_std": [0.0]})))
        seen = {}
        original = plt.Figure.savefig

        def capture(fig, *args, **kwargs):
            seen["axes"] = fig.axes
            seen["legends"] = fig.legends
            return original(fig, *args, **kwargs)
        plt.Figure.savefig = capture
        try:
            figures.draw("stylized", res, self.path("s"))
        finally:
            plt.Figure.savefig = original
        self.assertEqual(len(seen["axes"]), 16)  # 8 error panels + 8 alpha axes
        alpha_axes = [ax for ax in seen["axes"] if any("alpha" in (line.get_label() or "") for line in ax.get_lines())]
        self.assertEqual(len(alpha_axes), 8)
        for ax in alpha_axes:  # no chance line and no error line on the alpha axes
            self.assertEqual(len(ax.get_lines()), 1)
        self.assertEqual(len(seen["legends"]), 1)  # one figure legend, outside the panels
        self.assertTrue(all(ax.get_legend() is None for ax in seen["axes"]))
