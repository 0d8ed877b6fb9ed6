"""The Raventós 2023 figures (issue 21 part 2): threshold curves against log2 M, the measured cross-over, the dynamics, refusals."""
import math
import os

import numpy as np

from helpers import TempDirCase

import fake_results as fr
from iclsweep_analysis import figures, raventos_figures
from iclsweep_analysis.load import load

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def raventos_point(M, batch, seed, star=6.0):
    """Δ(model, Ridge) on T_True falls with log2 M; the larger batch is farther from Ridge below log2 M = star, nearer above."""
    x = math.log2(M) if M > 0 else 14.0
    slope = 0.02 if batch > 64 else -0.02
    d_ridge = 0.5 / (1 + math.exp(x - star)) + 0.01 + slope * (star - x) / 10
    fields = {
        "final/pretrain/loss": 0.1 + 0.01 * seed, "final/true/loss": 0.2 + d_ridge,
        "baseline/pretrain/ridge_loss": 0.2, "baseline/true/ridge_loss": 0.2,
        "baseline/pretrain/dmmse_loss": 0.05 if M > 0 else math.nan, "baseline/true/dmmse_loss": 1.0 if M > 0 else math.nan,
        "final/true/dist_ridge": d_ridge, "final/true/dist_dmmse": (0.6 - d_ridge) if M > 0 else math.nan,
    }
    steps = np.array([500.0, 1000.0, 1500.0])
    fields_v = {"checkpoint/step": steps, "eval/pretrain/dist_ridge": d_ridge * 1000 / steps,
                "eval/pretrain/dist_dmmse": (0.6 - d_ridge) * 1000 / steps if M > 0 else np.full(3, np.nan)}
    params = dict(fr.DEFAULT_PARAMS, **{"run.model_kind": "raventos", "raventos.num_tasks": float(M),
                                        "raventos.batch_size": float(batch), "data.seed": float(seed)})
    return {"params": params, "status": 1, "seed": seed, "fields": dict({k: np.float64(v) for k, v in fields.items()}, **fields_v)}


class RaventosFigureTest(TempDirCase):
    def _file(self, batches=(64, 128)):
        path = os.path.join(self.tmp, "rav.h5")
        points = [raventos_point(M, b, s) for M in (2, 8, 32, 128, 512, 2048, 0) for b in batches for s in (0, 1)]
        fr.write_file(path, points, grid_keys=["raventos.num_tasks", "raventos.batch_size", "data.seed"])
        return load(path)

    def test_draws_and_measures_the_cross_over(self):
        res = self._file()
        cv, x_inf = raventos_figures.curves(res)
        self.assertEqual(sorted(cv), [64.0, 128.0])
        self.assertEqual(x_inf, 13.0)
        star, how = raventos_figures.threshold(cv, x_inf)
        self.assertTrue(5.0 < star < 7.0, (star, how))
        self.assertIn("cross-over", how)
        written = figures.draw("raventos_threshold", res, self.tmp)
        with open(written[0], "rb") as f:
            self.assertEqual(f.read(8), PNG_MAGIC)

    def test_dynamics_draws_one_line_per_setting(self):
        written = figures.draw("raventos_dynamics", self._file(), self.tmp)
        with open(written[0], "rb") as f:
            self.assertEqual(f.read(8), PNG_MAGIC)

    def test_one_batch_falls_back_to_ridge_vs_dmmse(self):
        cv, x_inf = raventos_figures.curves(self._file(batches=(128,)))
        star, how = raventos_figures.threshold(cv, x_inf)
        self.assertTrue(math.isfinite(star), how)
        self.assertIn("Δ(model, Ridge) = Δ(model, dMMSE)", how)

    def test_refuses_files_without_raventos_points(self):
        path = os.path.join(self.tmp, "theory.h5")
        fr.write_file(path, fr.theory_points())
        with self.assertRaises(figures.FigureUnavailable):
            figures.draw("raventos_threshold", load(path), self.tmp)
