"""The lm_facts figure (issue 13): one column per fine-tuning arm, mean +- SE over seeds, refuses files without lm_facts points."""
import os

import numpy as np

from helpers import TempDirCase

import fake_results as fr
from iclsweep_analysis import figures, lm_figures
from iclsweep_analysis.load import load

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def lm_point(lr, seed, n_ckpt=4):
    rng = np.random.default_rng(seed + int(lr * 1000))
    fields = {"finetune/checkpoint/step": np.arange(n_ckpt) * 100.0}
    for path, *_ in lm_figures.LINES:
        for g in ("all", "invented", "real"):
            fields[path.format(g=g)] = rng.uniform(0, 1, n_ckpt)
    params = dict(fr.DEFAULT_PARAMS, **{"run.model_kind": "lm_facts", "lm.finetune_learning_rate": lr, "data.seed": float(seed)})
    return {"params": params, "status": 1, "seed": seed, "fields": fields}


class LmFigureTest(TempDirCase):
    def test_draws_one_column_per_arm(self):
        path = os.path.join(self.tmp, "lm.h5")
        points = [lm_point(lr, s) for lr in (0.01, 0.1) for s in range(3)]
        fr.write_file(path, points, grid_keys=["lm.finetune_learning_rate", "data.seed"])
        res = load(path)
        arms = lm_figures.arms(res.of_kind("lm_facts"))
        self.assertEqual([d for d, _ in arms], ["finetune_learning_rate=0.01", "finetune_learning_rate=0.1"])
        self.assertEqual([int(m.sum()) for _, m in arms], [3, 3])
        written = lm_figures.FIGURE.draw(res, self.tmp)
        with open(written[0], "rb") as f:
            self.assertEqual(f.read(8), PNG_MAGIC)

    def test_mean_and_se_over_seeds(self):
        curves = np.array([[0.0, 1.0], [1.0, 1.0], [np.nan, 1.0]])
        mean, se, n = lm_figures.mean_se(curves)
        np.testing.assert_allclose(mean, [0.5, 1.0])
        np.testing.assert_allclose(se, [0.5 / np.sqrt(2), 0.0])  # population std / sqrt(n), NaN left out
        np.testing.assert_array_equal(n, [2, 3])

    def test_refuses_files_without_lm_points(self):
        path = os.path.join(self.tmp, "tf.h5")
        fr.write_file(path, [fr.transformer_point(dict(fr.DEFAULT_PARAMS), 0)])
        with self.assertRaises(figures.FigureUnavailable) as e:
            lm_figures.FIGURE.draw(load(path), self.tmp)
        self.assertIn("jobs/lite/lm_facts.ini", str(e.exception))
