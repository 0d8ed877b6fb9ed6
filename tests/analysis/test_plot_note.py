"""plot.py --note: a strip with the text under every written figure, the figure itself unchanged above it."""
import os
import subprocess

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from helpers import ANALYSIS, TempDirCase  # noqa: E402

import fake_results as fr  # noqa: E402


class PlotNoteTest(TempDirCase):
    def test_note_adds_a_strip_below_an_unchanged_figure(self):
        results = fr.write_file(self.path("r.h5"), fr.theory_points(("v2",)))
        def plot(out, *extra):
            proc = subprocess.run(["/usr/bin/python3", os.path.join(ANALYSIS, "plot.py"), results, "--figure", "theory",
                                   "--out", self.path(out), *extra], capture_output=True, text=True, timeout=120)
            self.assertEqual(proc.returncode, 0, proc.stderr)
        plot("plain")  # the same command without --note: the figure the strip is added to
        plain = plt.imread(os.path.join(self.path("plain"), "theory_v2.png"))
        plot("noted", "--note", "PARTIAL: 1 of 2 points")
        noted = plt.imread(os.path.join(self.path("noted"), "theory_v2.png"))
        self.assertEqual(noted.shape[0], plain.shape[0] + 30)
        self.assertEqual(noted.shape[1], plain.shape[1])
        np.testing.assert_allclose(noted[:plain.shape[0], :, :3], plain[:, :, :3], atol=1 / 255)
        strip = noted[plain.shape[0]:, :, :3]
        self.assertTrue((strip[..., 0] - strip[..., 2] > 0.3).any())  # red text in the strip
