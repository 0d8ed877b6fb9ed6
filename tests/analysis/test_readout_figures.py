"""The ICL/IWL readout figures draw from transformer and gated files with the readout fields, and refuse
files without them."""
import os
import unittest

import numpy as np

from helpers import PngCase

import fake_results as fr
from iclsweep_analysis import figures
from iclsweep_analysis.load import load
from iclsweep_analysis.tidy import points_frame



class ReadoutFigureTest(PngCase):

    def transformer_file(self, swept=None):
        points = fr.with_readout(fr.transformer_points(swept or {}))
        return load(fr.write_file(self.path("tf.h5"), points))

    def test_transformer_readout_vs_n_and_steps(self):
        res = self.transformer_file()
        self.assert_pngs(figures.draw("readout", res, self.path("out")), ["readout.png"])
        self.assert_pngs(figures.draw("readout_steps", res, self.path("out")), ["readout_steps.png"])

    def test_one_file_per_other_swept_value(self):
        res = self.transformer_file({"data.input_noise_std": [0.0, 0.4]})
        paths = figures.draw("readout", res, self.path("out"))
        self.assertEqual(len(paths), 2)
        self.assertEqual(sorted(os.path.basename(p) for p in paths),
                         ["readout_input_noise_std0.4.png", "readout_input_noise_std0.png"])

    def test_gated_views(self):
        points = fr.with_readout(fr.gated_points({}))
        res = load(fr.write_file(self.path("gated.h5"), points))
        self.assert_pngs(figures.draw("readout", res, self.path("out")), ["readout.png"])
        self.assert_pngs(figures.draw("readout_steps", res, self.path("out")), ["readout_steps.png"])

    def test_refuses_a_file_without_the_readout(self):
        res = load(fr.write_file(self.path("old.h5"), fr.transformer_points({})))
        with self.assertRaisesRegex(figures.FigureUnavailable, "no readout fields"):
            figures.draw("readout", res, self.path("out"))

    def test_tidy_frame_has_the_fractions_and_they_sum_to_one(self):
        res = self.transformer_file()
        df = points_frame(res, metrics="all")
        split = "eval-relevant_context-low_prob-flip_label"
        cols = [f"{split}/{m}" for m in fr.READOUT]
        for c in cols:
            self.assertIn(c, df.columns)
        np.testing.assert_allclose(df[cols].sum(axis=1), 1.0)


if __name__ == "__main__":
    unittest.main()
