"""load() refuses what it cannot read correctly (issue 10): another format_version, status bytes other than
0/1/2 (a status of 7 is not "complete"), and names the file and the rule."""
import unittest

import h5py
import numpy as np

from helpers import TempDirCase

import fake_results as fr
from iclsweep_analysis.load import BadResultsFile, MissingData, load


class LayoutChecksTest(TempDirCase):
    def setUp(self):
        super().setUp()
        points = fr.transformer_points({}, n_values=(64, 256), p_rel=(0.9,), seeds=(0,))
        self.file = fr.write_file(self.path("r.h5"), points)

    def test_a_good_file_loads(self):
        self.assertEqual(load(self.file).counts["done"], 2)

    def test_status_seven_is_an_error_naming_file_and_rule(self):
        with h5py.File(self.file, "r+") as f:
            f["points/status"][1] = 7
        with self.assertRaises(BadResultsFile) as cm:
            load(self.file)
        self.assertIn(self.file, str(cm.exception))
        self.assertIn("= 7", str(cm.exception))
        self.assertIn("0 pending, 1 done or 2 failed", str(cm.exception))
        self.assertTrue(issubclass(BadResultsFile, MissingData))  # plot.py / report.py report it and exit

    def test_another_format_version_is_refused(self):
        with h5py.File(self.file, "r+") as f:
            f.attrs["format_version"] = np.int32(2)
        with self.assertRaisesRegex(BadResultsFile, "format_version 2"):
            load(self.file)

    def test_a_missing_format_version_is_refused(self):
        with h5py.File(self.file, "r+") as f:
            del f.attrs["format_version"]
        with self.assertRaisesRegex(BadResultsFile, "no root attribute format_version"):
            load(self.file)


if __name__ == "__main__":
    unittest.main()

class DeclaredSizesTest(TempDirCase):
    def test_a_file_declaring_more_than_it_holds_is_damaged(self):
        # Issue 22, defect 5 (the same class in the analysis package): datasets declaring 2^30 points that the
        # file does not hold are refused before numpy allocates gigabytes.
        path = self.path("crafted.h5")
        with h5py.File(path, "w") as f:
            f.attrs["format"] = "iclsweep-results"
            f.attrs["format_version"] = np.int32(1)
            f.create_dataset("points/status", shape=(1 << 30,), dtype=np.uint8, chunks=(1 << 16,))
        with self.assertRaisesRegex(BadResultsFile, "points/status' declares 1073741824 values .* the file is damaged"):
            load(path)
