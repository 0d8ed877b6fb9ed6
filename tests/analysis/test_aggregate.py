"""Checkpoint selection (last minimum) and mean +- SE (ddof=0) against hand-computed values."""
import math
import unittest

import numpy as np

from helpers import TempDirCase

import fake_results as fr
from iclsweep_analysis import aggregate
from iclsweep_analysis.load import load

NAN = math.nan
OOBD = "eval-default-none-flip_label"


def hand_point(seed, pre_loss, pre_error, oobd_error, stored_index=None, status=1, **params):
    """A transformer point with given curves; selected/* stored as `stored_index` (default: none stored)."""
    fields = {"eval/pretraining/loss": pre_loss, "eval/pretraining/error": pre_error, f"eval/{OOBD}/error": oobd_error,
              "checkpoint/step": [0, 10, 20, 30]}
    if stored_index is not None:
        fields["selected/index"] = stored_index
        fields[f"selected/{OOBD}/error"] = oobd_error[stored_index]
    return {"params": dict(fr.DEFAULT_PARAMS, **params, **{"data.seed": float(seed)}), "seed": seed,
            "status": status, "fields": fields}


class LastArgminTest(unittest.TestCase):
    def test_last_of_tied_minima(self):
        self.assertEqual(aggregate.last_argmin([[1.0, 0.0, 0.0, 2.0]]).tolist(), [2])
        self.assertEqual(aggregate.last_argmin([[3.0, NAN, 3.0]]).tolist(), [2])
        self.assertEqual(aggregate.last_argmin([[0.1, 0.2, 0.3]]).tolist(), [0])

    def test_nan_never_wins_and_all_nan_gives_minus_one(self):
        self.assertEqual(aggregate.last_argmin([[NAN, 0.5, NAN], [NAN, NAN, NAN]]).tolist(), [1, -1])

    def test_take_at(self):
        values = aggregate.take_at(np.array([[0.1, 0.2], [0.3, 0.4]]), np.array([1, -1]))
        self.assertAlmostEqual(values[0], 0.2)
        self.assertTrue(np.isnan(values[1]))


class SelectionAndSeedsTest(TempDirCase):
    def setUp(self):
        super().setUp()
        points = [
            # pretraining loss minima: seed 0 -> index 2 (tie with 1), seed 1 -> 3 (tie with 0), seed 2 -> 2
            hand_point(0, [0.5, 0.3, 0.3, 0.4], [0.2, 0.1, 0.1, 0.3], [0.1, 0.2, 0.4, 0.9], stored_index=2),
            hand_point(1, [0.2, 0.5, 0.6, 0.2], [0.3, 0.3, 0.1, 0.2], [0.8, 0.7, 0.3, 0.5], stored_index=3),
            hand_point(2, [NAN, 0.9, 0.1, 0.8], [0.5, 0.4, 0.4, 0.9], [0.0, 0.0, 0.6, 0.0], stored_index=2),
            # not done: must be ignored
            hand_point(3, [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0], stored_index=0, status=0),
            hand_point(4, [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0], stored_index=0, status=2),
            # a second setting (N = 256) with a single seed
            hand_point(0, [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4], [0.25, 0.5, 0.5, 0.5], stored_index=0,
                       **{"data.dataset_size": 256.0}),
        ]
        self.res = load(fr.write_file(self.path("hand.h5"), points))

    def test_only_done_points_are_loaded(self):
        self.assertEqual(len(self.res), 4)
        self.assertEqual(self.res.counts, {"done": 4, "pending": 1, "failed": 1})

    def test_recomputed_selection_is_the_last_minimum(self):
        self.assertEqual(aggregate.selected_index(self.res, "loss", recompute=True).tolist(), [2, 3, 2, 0])
        # by pretraining error: seed 0 -> 2 (tie 1,2), seed 1 -> 2, seed 2 -> 2 (tie 1,2), N=256 -> 0
        self.assertEqual(aggregate.selected_index(self.res, "error", recompute=True).tolist(), [2, 2, 2, 0])

    def test_stored_selection_is_used_unless_recompute(self):
        points = [hand_point(0, [0.5, 0.1, 0.3, 0.4], [0.0] * 4, [0.1, 0.2, 0.4, 0.9], stored_index=3)]
        res = load(fr.write_file(self.path("stored.h5"), points))
        self.assertAlmostEqual(aggregate.selected_values(res, OOBD)[0], 0.9, places=6)
        self.assertAlmostEqual(aggregate.selected_values(res, OOBD, recompute=True)[0], 0.2, places=6)

    def test_mean_and_population_standard_error(self):
        values = aggregate.selected_values(self.res, OOBD, recompute=True)
        np.testing.assert_allclose(values, [0.4, 0.5, 0.6, 0.25], rtol=1e-6)
        table = aggregate.mean_se(self.res, values)
        small = table.match({"data.dataset_size": 64})
        self.assertEqual(small.n.tolist(), [3])
        self.assertAlmostEqual(small.mean[0], 0.5, places=6)
        # population std of (0.4, 0.5, 0.6) = sqrt(0.02 / 3); SE = that / sqrt(3) = 0.047140
        self.assertAlmostEqual(small.se[0], math.sqrt(0.02 / 3) / math.sqrt(3), places=6)
        big = table.match({"data.dataset_size": 256})
        self.assertEqual((big.n[0], big.se[0]), (1, 0.0))
        self.assertAlmostEqual(big.mean[0], 0.25, places=6)

    def test_selection_by_error_reads_the_curves(self):
        values = aggregate.selected_values(self.res, OOBD, by="error")
        np.testing.assert_allclose(values, [0.4, 0.3, 0.6, 0.25], rtol=1e-6)

    def test_nan_values_are_left_out_of_the_mean(self):
        table = aggregate.mean_se(self.res, np.array([0.2, NAN, 0.4, 0.5]))
        small = table.match({"data.dataset_size": 64})
        self.assertEqual(small.n[0], 2)
        self.assertAlmostEqual(small.mean[0], 0.3)
        self.assertAlmostEqual(small.se[0], 0.1 / math.sqrt(2))

    def test_unset_parameters_group_together(self):
        # data.num_relevant_contexts is NaN (unset) everywhere: seeds still form one setting
        self.assertTrue(np.all(np.isnan(self.res.params["data.num_relevant_contexts"])))
        self.assertEqual(len(aggregate.mean_se(self.res, np.zeros(4))), 2)


if __name__ == "__main__":
    unittest.main()
