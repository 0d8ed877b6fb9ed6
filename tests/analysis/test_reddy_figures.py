"""The reddy figures (issue 21 part 1): curves and progress measures per setting and seed, the K x B heat map,
refusals that name the jobs."""
import os

import numpy as np

from helpers import TempDirCase

import fake_results as fr
from iclsweep_analysis import figures, reddy_figures
from iclsweep_analysis.load import load

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def reddy_point(K, B, seed, n_ckpt=5):
    rng = np.random.default_rng(seed + 7 * K + B)
    fields = {"reddy/step": np.arange(n_ckpt) * 100.0, "reddy/train_loss": rng.uniform(0, 3.5, n_ckpt),
              "reddy/ic_jump_step": -1.0}
    for key, *_ in reddy_figures.SETS:
        fields[f"reddy/eval/{key}/accuracy"] = rng.uniform(0, 1, n_ckpt)
        fields[f"reddy/eval/{key}/loss"] = rng.uniform(0, 4, n_ckpt)
        fields[f"reddy/final/{key}/accuracy"] = fields[f"reddy/eval/{key}/accuracy"][-1]
    for key, *_ in reddy_figures.PROGRESS:
        fields[f"reddy/progress/{key}"] = rng.uniform(0, 1, n_ckpt)
    params = dict(fr.DEFAULT_PARAMS, **{"run.model_kind": "reddy", "reddy.num_classes": float(K), "reddy.burstiness": float(B),
                                        "reddy.num_labels": 32.0, "reddy.context_pairs": 8.0, "reddy.p_novel": 0.0,
                                        "data.seed": float(seed)})
    return {"params": params, "status": 1, "seed": seed, "fields": fields}


class ReddyFigureTest(TempDirCase):
    def grid_file(self):
        path = os.path.join(self.tmp, "reddy.h5")
        points = [reddy_point(K, B, s) for K in (32, 256) for B in (0, 1) for s in range(2)]
        fr.write_file(path, points, grid_keys=["reddy.num_classes", "reddy.burstiness", "data.seed"])
        return load(path)

    def test_every_figure_draws_a_png(self):
        res = self.grid_file()
        self.assertEqual([d for d, _ in reddy_figures.settings(res.of_kind("reddy"))],
                         ["burstiness=0, num_classes=32", "burstiness=0, num_classes=256",
                          "burstiness=1, num_classes=32", "burstiness=1, num_classes=256"])
        for name in ("reddy_curves", "reddy_progress", "reddy_phase"):
            with self.subTest(figure=name):
                (written,) = figures.draw(name, res, self.tmp)
                with open(written, "rb") as f:
                    self.assertEqual(f.read(8), PNG_MAGIC)

    def test_refusals_name_the_jobs(self):
        path = os.path.join(self.tmp, "tf.h5")
        fr.write_file(path, [fr.transformer_point(dict(fr.DEFAULT_PARAMS), 0)])
        with self.assertRaises(figures.FigureUnavailable) as e:
            figures.draw("reddy_curves", load(path), self.tmp)
        self.assertIn("jobs/lite/reddy_transition.ini", str(e.exception))
        one = os.path.join(self.tmp, "one.h5")
        fr.write_file(one, [reddy_point(32, 1, 0)])
        with self.assertRaises(figures.FigureUnavailable) as e:
            figures.draw("reddy_phase", load(one), self.tmp)
        self.assertIn("jobs/paper/reddy_kb.ini", str(e.exception))
        self.assertIn("jobs/lite/reddy_phase.ini", str(e.exception))
