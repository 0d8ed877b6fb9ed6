"""Loss spikes and the training-curve figure (analysis/iclsweep_analysis/dynamics.py): hand-made curves."""
import os
import subprocess

import numpy as np

from helpers import ANALYSIS, TempDirCase

import fake_results as fr
from iclsweep_analysis import dynamics
from iclsweep_analysis.load import MissingData, load


def spiky_point(seed=0):
    """200 blocks of 50 steps: converged at 0.01 from step 2000, spikes at blocks ending 6000-6100 (peak 0.3)
    and at the very end (9950-10000, never recovered); checkpoints every 1000 with the minimum at 9000."""
    p = fr.transformer_point({"data.dataset_size": 64.0}, seed, n_ckpt=11)
    step = np.arange(1, 201) * 50
    loss = np.where(step <= 2000, 1.0, 0.01)
    loss[(step >= 6000) & (step <= 6100)] = [0.1, 0.3, 0.06]
    loss[step == 3000] = 0.2    # before `after`: not a spike
    loss[step >= 9950] = 0.08
    pre = np.linspace(0.5, 0.1, 11)
    pre[9], pre[10] = 0.05, 0.2
    p["fields"].update({"train/step": step, "train/loss": loss, "checkpoint/step": np.arange(11) * 1000,
                        "eval/pretraining/loss": pre, "selected/index": 9})
    return p


class DynamicsTest(TempDirCase):
    def test_spikes_are_runs_of_high_blocks_after_convergence(self):
        p = spiky_point()
        events = dynamics.loss_spikes(p["fields"]["train/step"], p["fields"]["train/loss"])
        self.assertEqual(len(events), 2)
        first, last = events
        self.assertEqual((first.start, first.peak_step, first.end, first.recovered), (6000, 6050, 6100, 150))
        self.assertAlmostEqual(first.peak, 0.3)
        self.assertEqual((last.start, last.end, last.recovered), (9950, 10000, -1))
        self.assertEqual(dynamics.loss_spikes(p["fields"]["train/step"], p["fields"]["train/loss"], threshold=0.5), [])
        self.assertEqual(len(dynamics.loss_spikes(p["fields"]["train/step"], p["fields"]["train/loss"], after=0)), 4)  # + the start and step 3000
        # NaN padding at the end of a shorter point's row is ignored
        step = np.append(p["fields"]["train/step"].astype(float), [np.nan] * 5)
        loss = np.append(p["fields"]["train/loss"], [np.nan] * 5)
        self.assertEqual(len(dynamics.loss_spikes(step, loss)), 2)

    def test_table_and_figure(self):
        res = load(fr.write_file(self.path("s.h5"), [spiky_point(0), spiky_point(1)]))
        rows = dynamics.spike_table(res)
        self.assertEqual([r["spikes"] for r in rows], [2, 2])
        self.assertEqual(rows[0]["max_spike"][0], 6050)
        self.assertAlmostEqual(rows[0]["max_spike"][1], 0.3, places=6)
        self.assertEqual((rows[0]["selected_step"], rows[0]["last_step"]), (9000, 10000))
        path = dynamics.fig_training_curve(res, str(res.ids[0]), self.path("out"))
        with open(path, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        with self.assertRaises(MissingData):
            dynamics.fig_training_curve(res, "no-such-id", self.path("out"))

    def test_command_line(self):
        results = fr.write_file(self.path("s.h5"), [spiky_point(0)])
        script = os.path.join(ANALYSIS, "iclsweep_analysis", "dynamics.py")
        proc = subprocess.run(["/usr/bin/python3", script, results, "--spikes"], capture_output=True, text=True,
                              timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("1 of 1 points have a spike; 1 select a checkpoint before the last", proc.stdout)
        proc = subprocess.run(["/usr/bin/python3", script, self.path("missing.h5"), "--spikes"], capture_output=True,
                              text=True, timeout=120)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("does not exist", proc.stderr)
