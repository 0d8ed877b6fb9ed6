"""Every figure draws a PNG from a file that has its data, and refuses other files naming the job."""
import os
import unittest

from helpers import PngCase, TempDirCase

import fake_results as fr
from iclsweep_analysis import figure_common, figures
from iclsweep_analysis.load import load


# figure name -> (swept {key: values}, extra fixed params, p_rel values, expected file names)
SWEEPS = {
    "noisy_inputs_v1": ({"data.input_noise_std": [0.0, 0.02, 0.2, 0.4]}, {}, (0.0, 0.9, 1.0),
                        ["noisy_inputs_v1_sigma0.png", "noisy_inputs_v1_sigma0.02.png", "noisy_inputs_v1_sigma0.2.png",
                         "noisy_inputs_v1_sigma0.4.png"]),
    "noisy_inputs_v3": ({"data.input_noise_std": [0.0, 0.02, 0.2, 0.4]}, {}, (0.0, 0.9, 1.0), ["noisy_inputs_v3.png"]),
    "p_high": ({"data.p_high": [0.5, 0.9, 0.99]}, {}, (0.0, 0.9, 1.0), ["p_high.png", "p_high_grid.png"]),
    "p_relevant": ({}, {}, (0.0, 0.1, 0.5, 0.9, 0.99, 1.0), ["p_relevant.png", "p_relevant_grid.png"]),
    "num_low_freq": ({"data.num_low_prob_classes": [5.0, 45.0]}, {}, (0.0, 0.9, 1.0),
                     ["num_low_freq.png", "num_low_freq_2x2.png"]),
    "num_contexts": ({"data.num_contexts": [1.0, 2.0, 4.0]}, {}, (0.0, 0.9, 1.0), ["num_contexts.png"]),
    "num_relevant_contexts": ({"data.num_relevant_contexts": [1.0, 2.0, 3.0, 4.0]}, {"data.num_contexts": 4.0},
                              (0.0, 0.9, 1.0), ["num_relevant_contexts.png", "num_relevant_contexts_grid.png"]),
    "noisy_labels": ({"data.label_noise": [0.001, 0.01, 0.1]}, {"data.input_noise_std": 0.0}, (0.0, 0.9, 1.0),
                     ["noisy_labels.png"]),
}


class FigureTest(PngCase):

    def sweep_file(self, name, **kwargs):
        swept, fixed, p_rel, _ = SWEEPS[name]
        points = fr.transformer_points(swept, p_rel=p_rel, **dict(fixed, **kwargs))
        return load(fr.write_file(self.path(f"{name}.h5"), points))

    def test_every_sweep_figure_writes_its_pngs(self):
        for name, (_, _, _, files) in SWEEPS.items():
            with self.subTest(figure=name):
                self.assert_pngs(figures.draw(name, self.sweep_file(name), self.path("out")), files)

    def test_theory_figure_v2_and_v1(self):
        res = load(fr.write_file(self.path("theory.h5"), fr.theory_points(("v2", "v1"))))
        self.assert_pngs(figures.draw("theory", res, self.path("out")), ["theory_v2.png", "theory_v1.png"])

    def test_theory_from_the_contract_names(self):
        # the brief's names (log2_nx, iw_lower, iw_upper) are accepted as well as the engine's
        point = fr.theory_points(("v2",))[0]
        f = point["fields"]
        f["theory/log2_nx"], f["theory/iw_lower"], f["theory/iw_upper"] = (f.pop("theory/x"), f.pop("theory/iw_band_lower"),
                                                                          f.pop("theory/iw_band_upper"))
        del f["theory/y_limit"]
        res = load(fr.write_file(self.path("theory.h5"), [point]))
        self.assert_pngs(figures.draw("theory", res, self.path("out")), ["theory_v2.png"])

    def test_baselines_stored_once_per_default_p(self):
        # §1.8: IW/IC baselines evaluated per p' (eval.default_p_relevant_context); the figure keeps p' = 0.9
        points = fr.transformer_points({"data.input_noise_std": [0.0, 0.4]}, p_rel=(0.9,),
                                       **{"eval.default_p_relevant_context": 0.9})
        for p_eval in (0.5, 0.9):
            points += fr.transformer_points({"data.input_noise_std": [0.0, 0.4]}, p_rel=(0.0, 1.0),
                                            **{"eval.default_p_relevant_context": p_eval})
        res = load(fr.write_file(self.path("baselines.h5"), points))
        tf = figure_common._transformers("noisy_inputs_v3", res)
        found = figure_common.curves("noisy_inputs_v3", tf, "eval-default-high_prob", line_key=figure_common.SIGMA)
        self.assertEqual(sorted(found), sorted((role, s) for role in (figure_common.IW, figure_common.IC, figure_common.TF)
                                               for s in (0.0, 0.4)))
        self.assert_pngs(figures.draw("noisy_inputs_v3", res, self.path("out")), ["noisy_inputs_v3.png"])

    def test_figures_ignore_other_kinds_and_unfinished_points(self):
        points = fr.transformer_points({"data.p_high": [0.5, 0.9]}) + fr.theory_points(("v2",))
        points[0]["status"], points[1]["status"] = 0, 2
        res = load(fr.write_file(self.path("mixed.h5"), points))
        self.assert_pngs(figures.draw("p_high", res, self.path("out")), ["p_high.png", "p_high_grid.png"])
        self.assert_pngs(figures.draw("theory", res, self.path("out2")), ["theory_v2.png"])


class RefusalTest(TempDirCase):
    def assert_refuses(self, name, res, job, *fragments):
        with self.assertRaises(figures.FigureUnavailable) as ctx:
            figures.draw(name, res, self.path("out"))
        message = str(ctx.exception)
        for text in (f"'{name}'", f"jobs/paper/{job}.ini", f"jobs/lite/{job}.ini") + fragments:
            self.assertIn(text, message)
        self.assertFalse(os.path.exists(self.path("out")) and os.listdir(self.path("out")))

    def test_unswept_key(self):
        res = load(fr.write_file(self.path("noisy.h5"), fr.transformer_points({"data.input_noise_std": [0.0, 0.4]})))
        self.assert_refuses("p_high", res, "p_high", "data.p_high is not swept")
        self.assert_refuses("p_relevant", res, "p_relevant", "baseline crossing")
        self.assert_refuses("num_relevant_contexts", res, "num_relevant_contexts", "unset")
        self.assert_refuses("noisy_labels", res, "noisy_labels")

    def test_no_theory_points(self):
        res = load(fr.write_file(self.path("t.h5"), fr.transformer_points({"data.p_high": [0.5, 0.9]})))
        self.assert_refuses("theory", res, "theory", "no done theory points")

    def test_no_transformer_points(self):
        res = load(fr.write_file(self.path("t.h5"), fr.theory_points(("v2",))))
        self.assert_refuses("noisy_inputs_v1", res, "noisy_inputs", "no done transformer points")

    def test_missing_split_field(self):
        splits = [s for s in fr.SPLITS if not s.startswith("eval-relevant_context")]
        points = [fr.transformer_point({"data.input_noise_std": s, "data.p_relevant_context": p}, seed, splits=splits)
                  for s in (0.0, 0.4) for p in (0.0, 0.9, 1.0) for seed in (0, 1)]
        res = load(fr.write_file(self.path("t.h5"), points))
        self.assert_refuses("noisy_inputs_v1", res, "noisy_inputs", "eval-relevant_context-high_prob")

    def test_other_parameters_varying(self):
        points = fr.transformer_points({"data.input_noise_std": [0.0, 0.4], "data.p_high": [0.5, 0.9]})
        res = load(fr.write_file(self.path("t.h5"), points))
        self.assert_refuses("noisy_inputs_v3", res, "noisy_inputs", "data.p_high also vary")

    def test_unknown_figure(self):
        res = load(fr.write_file(self.path("t.h5"), fr.theory_points(("v2",))))
        with self.assertRaises(KeyError):
            figures.draw("no_such_figure", res, self.path("out"))


if __name__ == "__main__":
    unittest.main()
