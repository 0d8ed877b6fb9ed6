"""The stylized g/h/alpha figure (gated points) and the Algorithm 1 figure (online points): PNGs, hand-computed
means +- SE over seeds, options, and refusals naming the jobs."""
import math
import os
import subprocess
import unittest

import numpy as np

from helpers import ANALYSIS, PngCase, TempDirCase

import fake_results as fr
from iclsweep_analysis import figures, online_figures, stylized_figures
from iclsweep_analysis.load import load

REL_CL = "eval-relevant_context-low_prob"
STYLIZED_JOBS = ("jobs/paper/stylized_noisy_inputs.ini", "jobs/paper/stylized_p_high.ini",
                 "jobs/paper/stylized_num_contexts.ini", "jobs/paper/stylized_num_low_freq.ini",
                 "jobs/lite/stylized_noisy_inputs.ini", "jobs/lite/stylized_p_high.ini")


class RefusingPngCase(PngCase):
    def assert_refuses(self, name, res, *fragments):
        with self.assertRaises(figures.FigureUnavailable) as ctx:
            figures.draw(name, res, self.path("out"))
        for text in (f"'{name}'",) + fragments:
            self.assertIn(text, str(ctx.exception))
        self.assertFalse(os.path.exists(self.path("out")) and os.listdir(self.path("out")))


def hand_gated_points():
    """Three seeds at N = 64 and one at N = 256 (sigma 0.2 everywhere) with chosen values on Rel C_L."""
    points = []
    for seed, (p_iwl, g_mix, g_p0, h_mix, f_err) in enumerate([(0.1, 0.5, 0.9, 0.0, 0.2), (0.2, 0.5, 0.9, 0.1, 0.3),
                                                               (0.6, 0.8, 0.9, 0.2, 0.7)]):
        p = fr.gated_point({"data.dataset_size": 64.0}, seed)
        p["fields"].update({f"alpha/selected/{REL_CL}/p_iwl": p_iwl, f"alpha/selected_iw/{REL_CL}/error": g_mix,
                            f"iw/selected/{REL_CL}/error": g_p0, f"alpha/selected_ic/{REL_CL}/error": h_mix,
                            f"alpha/selected/{REL_CL}/error": f_err})
        points.append(p)
    p = fr.gated_point({"data.dataset_size": 256.0}, 0)
    p["fields"][f"alpha/selected/{REL_CL}/p_iwl"] = 0.95
    return points + [p]


class StylizedTest(RefusingPngCase):
    def test_one_figure_per_swept_value(self):
        res = load(fr.write_file(self.path("s.h5"), fr.gated_points({"data.input_noise_std": [0.0, 0.02, 0.2, 0.4]})))
        self.assert_pngs(figures.draw("stylized", res, self.path("out")),
                         ["stylized_sigma0.png", "stylized_sigma0.02.png", "stylized_sigma0.2.png", "stylized_sigma0.4.png"])
        self.assert_pngs(figures.draw("stylized", res, self.path("p0"), gh="p0", show_mixture=False),
                         ["stylized_sigma0_p0.png", "stylized_sigma0.02_p0.png", "stylized_sigma0.2_p0.png",
                          "stylized_sigma0.4_p0.png"])

    def test_other_sweeps_name_their_key(self):
        for key, values, names in (("data.p_high", [0.5, 0.99], ["stylized_p_high0.5.png", "stylized_p_high0.99.png"]),
                                   ("data.num_contexts", [1.0, 8.0], ["stylized_L1.png", "stylized_L8.png"]),
                                   ("data.num_low_prob_classes", [5.0, 45.0], ["stylized_Lo5.png", "stylized_Lo45.png"])):
            with self.subTest(key=key):
                res = load(fr.write_file(self.path(f"{key}.h5"), fr.gated_points({key: values}, n_values=(64, 256))))
                self.assert_pngs(figures.draw("stylized", res, self.path(key)), names)

    def test_chance_line_follows_the_number_of_classes(self):
        res = load(fr.write_file(self.path("lo.h5"), fr.gated_points({"data.num_low_prob_classes": [5.0, 45.0]})))
        self.assertAlmostEqual(stylized_figures.stylized_curves(res, REL_CL, {"data.num_low_prob_classes": 45.0})["g"].chance, 0.98)
        self.assertAlmostEqual(stylized_figures.stylized_curves(res, REL_CL, {"data.num_low_prob_classes": 5.0})["g"].chance, 0.9)

    def test_hand_computed_mean_and_standard_error(self):
        res = load(fr.write_file(self.path("hand.h5"), hand_gated_points()))
        self.assertEqual(stylized_figures.stylized_settings(res), ([], [()]))
        mixture = stylized_figures.stylized_curves(res, REL_CL, gh="mixture")
        np.testing.assert_allclose(mixture["alpha"].x, [6.0, 8.0])
        # p_iwl (0.1, 0.2, 0.6): mean 0.3, population std sqrt(0.14 / 3), SE = that / sqrt(3); N = 256: one seed
        np.testing.assert_allclose(mixture["alpha"].mean, [0.3, 0.95], rtol=1e-6)
        np.testing.assert_allclose(mixture["alpha"].se, [math.sqrt(0.14 / 3) / math.sqrt(3), 0.0], atol=1e-7)
        # g of the mixture stage (0.5, 0.5, 0.8): mean 0.6, population std sqrt(0.06 / 3)
        self.assertAlmostEqual(mixture["g"].mean[0], 0.6, places=6)
        self.assertAlmostEqual(mixture["g"].se[0], math.sqrt(0.06 / 3) / math.sqrt(3), places=6)
        self.assertAlmostEqual(mixture["h"].mean[0], 0.1, places=6)
        self.assertAlmostEqual(mixture["f"].mean[0], 0.4, places=6)
        p0 = stylized_figures.stylized_curves(res, REL_CL, gh="p0")
        self.assertAlmostEqual(p0["g"].mean[0], 0.9, places=6)
        self.assertAlmostEqual(p0["g"].se[0], 0.0, places=6)
        self.assertAlmostEqual(p0["alpha"].mean[0], 0.3, places=6)  # alpha is the mixture's whatever gh says
        self.assert_pngs(figures.draw("stylized", res, self.path("out")), ["stylized.png"])

    def test_falls_back_to_the_curves_at_the_selected_index(self):
        points = [fr.gated_point({"data.dataset_size": 64.0}, seed, store_selected=False) for seed in (0, 1)]
        points[0]["fields"].update({f"alpha/eval/{REL_CL}/p_iwl": [0.9, 0.2, 0.4], "alpha/selected/index": 1})
        points[1]["fields"].update({f"alpha/eval/{REL_CL}/p_iwl": [0.1, 0.3, 0.8], "alpha/selected/index": 2})
        res = load(fr.write_file(self.path("curves.h5"), points))
        self.assertAlmostEqual(stylized_figures.stylized_curves(res, REL_CL)["alpha"].mean[0], 0.5, places=6)  # (0.2 + 0.8) / 2

    def test_g_and_h_default_to_their_own_selected_checkpoints(self):
        # g alone's pretraining loss is last minimal at checkpoint 0 for seed 0 and at 2 for seed 1 (ties go
        # to the later one); h's at 1 and 1. The mixture's own selection (index 1 for both) must not be used.
        def points(store):
            out = [fr.gated_point({"data.dataset_size": 64.0}, seed, store_selected=store) for seed in (0, 1)]
            for p, g_loss, h_loss in ((out[0], [0.1, 0.5, 0.3], [0.9, 0.2, 0.4]), (out[1], [0.3, 0.2, 0.2], [0.5, 0.1, 0.6])):
                p["fields"].update({"alpha/eval_iw/pretraining/loss": g_loss, "alpha/eval_ic/pretraining/loss": h_loss,
                                    f"alpha/eval_iw/{REL_CL}/error": [0.6, 0.1, 0.8],
                                    f"alpha/eval_ic/{REL_CL}/error": [0.0, 0.4, 1.0], "alpha/selected/index": 1})
            return out
        recomputed = load(fr.write_file(self.path("curves.h5"), points(False)))  # files without the own fields
        own = stylized_figures.stylized_curves(recomputed, REL_CL)
        self.assertAlmostEqual(own["g"].mean[0], (0.6 + 0.8) / 2, places=6)
        self.assertAlmostEqual(own["h"].mean[0], 0.4, places=6)
        self.assertAlmostEqual(stylized_figures.stylized_curves(recomputed, REL_CL, gh="mixture")["g"].mean[0], 0.1, places=6)
        stored = points(True)
        for p, g, h in ((stored[0], 0.25, 0.5), (stored[1], 0.75, 0.0)):  # the engine's scalars win when present
            p["fields"].update({f"alpha/own_selected_iw/{REL_CL}/error": g, f"alpha/own_selected_ic/{REL_CL}/error": h})
        res = load(fr.write_file(self.path("stored.h5"), stored))
        self.assertAlmostEqual(stylized_figures.stylized_curves(res, REL_CL)["g"].mean[0], 0.5, places=6)
        self.assertAlmostEqual(stylized_figures.stylized_curves(res, REL_CL)["h"].mean[0], 0.25, places=6)
        self.assert_pngs(figures.draw("stylized", res, self.path("out"), gh="mixture"), ["stylized_mixture.png"])

    def test_title_names_the_protocol(self):
        points = fr.gated_points({"data.input_noise_std": [0.0]}, n_values=(64,), seeds=(0,), **{"model.gated_protocol": "p2_fresh"})
        res = load(fr.write_file(self.path("proto.h5"), points))
        self.assertIn("P2-fresh", stylized_figures._protocol_text(res, {}))
        self.assertIsNone(stylized_figures._protocol_text(res, {"model.gated_protocol": "p2_fresh"}))  # a setting: named there

    def test_alpha_metric_option(self):
        points = hand_gated_points()
        for seed, v in enumerate((0.0, 1.0, 1.0)):
            points[seed]["fields"][f"alpha/selected/{REL_CL}/p_iwl_ge_half"] = v
        res = load(fr.write_file(self.path("ge.h5"), points))
        self.assertAlmostEqual(stylized_figures.stylized_curves(res, REL_CL, alpha_metric="p_iwl_ge_half")["alpha"].mean[0],
                               2 / 3, places=6)
        with self.assertRaises(ValueError):
            figures.draw("stylized", res, self.path("out"), gh="p1")

    def test_ignores_other_kinds(self):
        points = fr.gated_points({"data.p_high": [0.5, 0.9]}) + fr.transformer_points({"data.input_noise_std": [0.0, 0.4]})
        res = load(fr.write_file(self.path("mixed.h5"), points))
        self.assert_pngs(figures.draw("stylized", res, self.path("out")), ["stylized_p_high0.5.png", "stylized_p_high0.9.png"])

    def test_refuses_without_gated_points(self):
        res = load(fr.write_file(self.path("tf.h5"), fr.transformer_points({"data.p_high": [0.5, 0.9]})))
        self.assert_refuses("stylized", res, "no done gated points", *STYLIZED_JOBS)

    def test_refuses_when_a_field_is_missing(self):
        points = fr.gated_points({"data.input_noise_std": [0.0, 0.4]}, n_values=(64,), seeds=(0,))
        for p in points:
            for key in [k for k in p["fields"] if k.startswith("alpha/") and "_iw/" in k]:
                del p["fields"][key]
        res = load(fr.write_file(self.path("noiw.h5"), points))
        self.assert_refuses("stylized", res, "alpha/own_selected_iw/eval-relevant_context-high_prob/error",
                            "alpha/eval_iw/", *STYLIZED_JOBS)
        self.assert_pngs(figures.draw("stylized", res, self.path("p0"), gh="p0"),
                         ["stylized_sigma0_p0.png", "stylized_sigma0.4_p0.png"])


class OnlineTest(RefusingPngCase):
    def test_one_panel_per_sigma(self):
        res = load(fr.write_file(self.path("o.h5"), fr.online_points(sigmas=(0.0, 0.2, 0.4))))
        keys, found = online_figures.online_curves(res)
        self.assertEqual(keys, ["data.input_noise_std"])
        self.assertEqual(sorted(found), [(0.0,), (0.2,), (0.4,)])
        self.assert_pngs(figures.draw("online", res, self.path("out")), ["online.png"])

    def test_hand_computed_alpha_and_regret_per_step(self):
        t = (1.0, 2.0, 4.0)
        points = [fr.online_point({}, 0, t, alpha_high=[0.5, 0.6, 0.9], regret_mix_low=[0.0, 2.0, 8.0]),
                  fr.online_point({}, 1, t, alpha_high=[0.5, 0.8, 1.0], regret_mix_low=[0.0, 4.0, 4.0])]
        res = load(fr.write_file(self.path("hand.h5"), points))
        keys, found = online_figures.online_curves(res)
        self.assertEqual((keys, list(found)), ([], [()]))
        panel = found[()]
        np.testing.assert_allclose(panel["alpha_high"].x, np.log10(t))
        np.testing.assert_allclose(panel["alpha_high"].mean, [0.5, 0.7, 0.95])
        np.testing.assert_allclose(panel["alpha_high"].se, [0.0, 0.1 / math.sqrt(2), 0.05 / math.sqrt(2)], atol=1e-12)
        # regret / t per seed: (0, 1, 2) and (0, 2, 1)
        np.testing.assert_allclose(panel["regret_low"].mean, [0.0, 1.5, 1.5])
        np.testing.assert_allclose(panel["regret_low"].se, [0.0, 0.5 / math.sqrt(2), 0.5 / math.sqrt(2)], atol=1e-12)
        self.assertEqual(panel["alpha_high"].seeds, 2)
        self.assert_pngs(figures.draw("online", res, self.path("out")), ["online.png"])

    def test_refuses_without_online_points(self):
        res = load(fr.write_file(self.path("g.h5"), fr.gated_points({"data.p_high": [0.5, 0.9]})))
        self.assert_refuses("online", res, "no done online points", "jobs/paper/online.ini", "model_kind = online")

    def test_refuses_missing_curve_and_unequal_steps(self):
        points = fr.online_points()
        for p in points:
            del p["fields"]["online/regret_mix_low"]
        res = load(fr.write_file(self.path("noregret.h5"), points))
        self.assert_refuses("online", res, "online/regret_mix_low")
        points = [fr.online_point({}, 0, (1.0, 2.0, 4.0)), fr.online_point({}, 1, (1.0, 3.0, 4.0))]
        res = load(fr.write_file(self.path("steps.h5"), points))
        self.assert_refuses("online", res, "online/t differs")


class CliTest(TempDirCase):
    def test_plot_all_draws_both_and_passes_options(self):
        points = fr.gated_points({"data.input_noise_std": [0.0, 0.4]}, n_values=(64, 256)) + fr.online_points()
        results = fr.write_file(self.path("r.h5"), points)
        out = self.path("figs")
        proc = subprocess.run(["/usr/bin/python3", os.path.join(ANALYSIS, "plot.py"), results, "--figure", "all",
                               "--out", out, "--gh", "p0"], capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("wrote   stylized:", proc.stdout)
        self.assertIn("wrote   online:", proc.stdout)
        self.assertIn("skipped p_high:", proc.stdout)
        self.assertEqual(sorted(os.listdir(out)), ["online.png", "stylized_sigma0.4_p0.png", "stylized_sigma0_p0.png"])


if __name__ == "__main__":
    unittest.main()
