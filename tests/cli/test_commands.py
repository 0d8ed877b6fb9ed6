"""The everyday commands on real (tiny) results files made by the engine: show, merge, run --from, status
--where / running now / failed parameters, list --where, keys, sample's effective parameters, and the
float64 dtype of numeric parameters. Usage: test_commands.py /path/to/iclsweep"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import h5py
import numpy as np

BINARY = None
SHARED_OMNIGLOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "data", "omniglot")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")
TINY = ["--set", "train.steps=60", "--set", "train.checkpoint_interval=30", "--set", "train.log_interval=10",
        "--set", "eval.num_eval_samples=20", "--set", "eval.num_pretraining_samples=40", "--set", "dataset_size=64"]


def run(*args, check=True):
    proc = subprocess.run([BINARY, *args], capture_output=True, text=True, env=ENV, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"iclsweep {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


class CommandsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="iclsweep-cli-")
        cls.job = cls.path("small.ini")
        with open(cls.job, "w") as f:
            f.write("[data]\ndataset_size = 64\n[train]\nsteps = 60\ncheckpoint_interval = 30\nlog_interval = 10\n"
                    "[eval]\nnum_eval_samples = 20\nnum_pretraining_samples = 40\n[grid]\n"
                    "data.p_relevant_context = 0.0, 0.9\nseeds = 0\n")
        cls.grown = cls.path("grown.ini")
        with open(cls.grown, "w") as f:
            with open(cls.job) as small:
                f.write(small.read().replace("seeds = 0", "seeds = 0..1"))
        run("run", cls.job, "--out", cls.path("a.h5"), "-q")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def path(cls, name):
        return os.path.join(cls.tmp, name)

    def test_show_by_index_and_id(self):
        with h5py.File(self.path("a.h5"), "r") as f:
            point_id = f["points/id"][1].decode()
            selected = int(f["points/selected/index"][1])
            err = float(f["points/selected/eval-default-none-flip_label/error"][1])
            in_weight = float(f["points/selected/eval-default-none-flip_label/in_weight_frac"][1])
        for token in ("1", point_id):
            out = run("show", self.path("a.h5"), token).stdout
            self.assertIn(f"point 1 of {self.path('a.h5')}: id {point_id}, seed 0, done", out)
            self.assertRegex(out, r"data.p_relevant_context +0.9 \*")
            self.assertIn(f"selected checkpoint of the model: index {selected}, step {30 * selected}", out)
            row = next(line for line in out.splitlines() if line.startswith("eval-default-none-flip_label "))
            self.assertAlmostEqual(float(row.split()[1]), err, places=3)
            # the ICL/IWL readout columns after error, loss, context_fraction; "-" on splits without a flip
            header = next(line for line in out.splitlines() if line.startswith("split "))
            self.assertEqual(header.split()[1:7], ["error", "loss", "context_fraction", "in_context_frac",
                                                   "in_weight_frac", "other_frac"])
            self.assertAlmostEqual(float(row.split()[5]), in_weight, places=3)
            plain = next(line for line in out.splitlines() if line.startswith("eval-default-none "))
            self.assertEqual(plain.split()[4:7], ["-", "-", "-"])
            self.assertIn("run: rank 0 on", out)
        bad = run("show", self.path("a.h5"), "7", check=False)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("outside 0..1", bad.stderr)

    def test_grow_with_from_and_merge(self):
        # The grown job (2 seeds) reuses the 2 points of a.h5: only the 2 new ones are trained.
        proc = run("run", self.grown, "--out", self.path("g.h5"), "--from", self.path("a.h5"))
        self.assertIn("copied 2 done point(s)", proc.stderr)
        self.assertIn("4 points (2 already recorded)", proc.stderr)
        with h5py.File(self.path("a.h5"), "r") as a, h5py.File(self.path("g.h5"), "r") as g:
            ids_g = [x.decode() for x in g["points/id"][:]]
            self.assertTrue(np.all(g["points/status"][:] == 1))
            for i, point_id in enumerate(x.decode() for x in a["points/id"][:]):
                j = ids_g.index(point_id)
                np.testing.assert_array_equal(a["points/eval/pretraining/loss"][i], g["points/eval/pretraining/loss"][j])
        # merge: the seed-0 points are in both files (kept once), the seed-1 points only in g.h5
        proc = run("merge", self.path("a.h5"), self.path("g.h5"), "--out", self.path("m.h5"))
        self.assertIn("4 points (4 done, 0 failed, 0 pending) from 2 files; 2 duplicate ids kept once", proc.stdout)
        with h5py.File(self.path("m.h5"), "r") as m:
            self.assertEqual(len(set(m["points/id"][:])), 4)
            self.assertIn("data.seed", [k.decode() if isinstance(k, bytes) else k for k in m.attrs["grid_keys"]])
        again = run("merge", self.path("a.h5"), self.path("g.h5"), "--out", self.path("m.h5"), check=False)
        self.assertEqual(again.returncode, 5)
        self.assertIn("already exists", again.stderr)
        # A conflicting point (same id, other numbers) is refused and nothing is written.
        shutil.copy(self.path("a.h5"), self.path("c.h5"))
        with h5py.File(self.path("c.h5"), "r+") as c:
            c["points/eval/pretraining/loss"][0, 0] += 1.0
        conflict = run("merge", self.path("a.h5"), self.path("c.h5"), "--out", self.path("x.h5"), check=False)
        self.assertEqual(conflict.returncode, 5)
        self.assertIn("different results", conflict.stderr)
        self.assertIn("eval/pretraining/loss", conflict.stderr)
        self.assertFalse(os.path.exists(self.path("x.h5")))

    def test_merge_ignores_timing_fields(self):
        # Found while checking issue 22's merge: online points record their throughput (steps_per_second,
        # "timing; not reproducible"), so two runs of the same online points always "conflicted".
        job = self.path("online.ini")
        with open(job, "w") as f:
            f.write("[run]\nmodel_kind = online\n[train]\nsteps = 200\n[online]\nrecords = 4\n[grid]\nseeds = 0..5\n")
        run("run", job, "--out", self.path("on1.h5"), "-q")
        run("run", job, "--out", self.path("on2.h5"), "-q", "--set", "seeds=3..8")
        proc = run("merge", self.path("on1.h5"), self.path("on2.h5"), "--out", self.path("on-m.h5"))
        self.assertIn("9 points (9 done, 0 failed, 0 pending) from 2 files; 3 duplicate ids kept once", proc.stdout)
        with h5py.File(self.path("on1.h5"), "r+") as f:  # a real result still conflicts
            f["points/online/alpha_high_final"][3] += 0.5
        proc = run("merge", self.path("on1.h5"), self.path("on2.h5"), "--out", self.path("on-x.h5"), check=False)
        self.assertEqual(proc.returncode, 5, proc.stderr)
        self.assertIn("online/alpha_high_final", proc.stderr)

    def test_run_summary_has_every_kinds_columns_and_no_fill_values(self):
        # Issue 22, defect 7's class in `iclsweep run`'s end table: only the first point's kind had columns,
        # and other kinds' rows printed their fill values ("nan").
        job = self.path("mixed.ini")
        with open(job, "w") as f:
            f.write("[data]\ndataset_size = 64\n[train]\nsteps = 20\ncheckpoint_interval = 10\nlog_interval = 10\n"
                    "[eval]\nnum_eval_samples = 20\nnum_pretraining_samples = 40\n[grid]\n"
                    "run.model_kind = online, transformer\n")
        out = run("run", job, "--out", self.path("mixed.h5")).stdout
        header = next(line for line in out.splitlines() if line.startswith("#  status"))
        self.assertIn("OOBD_err", header)
        online = next(line for line in out.splitlines() if line.split()[:3] == ["0", "done", "online"])
        self.assertEqual(online.split()[3:], ["-"] * (len(header.split()) - 3))
        transformer = next(line for line in out.splitlines() if line.split()[:3] == ["1", "done", "transformer"])
        self.assertNotIn("-", transformer.split()[3:])
        self.assertNotIn("nan", out)

    def test_status_where_and_failed_parameters(self):
        out = run("status", self.path("a.h5"), "--where", "p_relevant_context=0.9").stdout
        self.assertIn("--where data.p_relevant_context=0.9: 1 of them", out)
        self.assertIn("done 1 (100.0%)", out)
        shutil.copy(self.path("a.h5"), self.path("f.h5"))
        with h5py.File(self.path("f.h5"), "r+") as f:
            f["points/status"][1] = 2
            f["points/error"][1] = b"training diverged"
        proc = run("status", self.path("f.h5"), check=False)
        self.assertEqual(proc.returncode, 4)
        self.assertIn("(data.p_relevant_context=0.9, data.seed=0): training diverged", proc.stdout)
        with h5py.File(self.path("f.h5"), "r+") as f:
            f["points/status"][1] = 0
        proc = run("status", self.path("f.h5"), check=False)
        self.assertIn("not running now", proc.stdout)

    def test_status_sees_a_running_sweep(self):
        # Issue 22, defect 3: a real `iclsweep run` (the engine locks the results file itself), not a faked lock.
        out = self.path("live.h5")
        proc = subprocess.Popen([BINARY, "run", self.job, "--out", out, "--set", "train.steps=1000000", "--grace", "0",
                                 "--progress", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
        try:
            seen = None
            while proc.poll() is None:  # the point runs for minutes: status must see the sweep while it does
                if os.path.exists(out):
                    status = run("status", out, check=False)
                    if "running now" in status.stdout or "not running now" not in status.stdout:
                        seen = status.stdout
                        break
                time.sleep(0.2)
            self.assertIsNotNone(seen, "the sweep ended before status could look at it")
            self.assertIn("running now: a sweep holds the writer lock of", seen)
            self.assertNotIn("not running now", seen)
            self.assertIn("ETA", seen)  # the ETA section of a live sweep (no point finished yet: "not yet known")
            # through a symlink too: the lock is on the file, not on a name
            os.symlink(out, self.path("live-link.h5"))
            self.assertIn("running now", run("status", self.path("live-link.h5"), check=False).stdout)
        finally:
            proc.terminate()
            proc.communicate(timeout=300)
        self.assertEqual(proc.returncode, 3)
        after = run("status", out, check=False).stdout
        self.assertIn("not running now", after)

    def test_damaged_shape_is_refused_by_name(self):
        # Issue 22, defect 2: a _shape value larger than its field crashed show / merge / run --from (SIGSEGV).
        bad = self.path("bad-shape.h5")
        shutil.copy(self.path("a.h5"), bad)
        with h5py.File(bad, "r+") as f:
            f["points/train/loss_shape"][1, 0] = 1 << 30
        for args in (["show", bad, "1"], ["merge", self.path("a.h5"), bad, "--out", self.path("bad-merge.h5")],
                     ["run", self.grown, "--out", self.path("bad-from.h5"), "--from", bad]):
            proc = run(*args, check=False)
            self.assertEqual(proc.returncode, 5, f"{args}: {proc.stderr}")
            self.assertIn("is damaged: dataset 'points/train/loss_shape' row 1", proc.stderr)
        self.assertFalse(os.path.exists(self.path("bad-merge.h5")))
        self.assertFalse(os.path.exists(self.path("bad-from.h5")), "--from created its output before refusing")
        with h5py.File(bad, "r+") as f:
            f["points/train/loss_shape"][1, 0] = -7
        proc = run("show", bad, "1", check=False)
        self.assertEqual(proc.returncode, 5, proc.stderr)
        self.assertIn("row 1 is (-7)", proc.stderr)

    def test_done_status_over_empty_data_is_damaged(self):
        # Issue 22, defect 8: a status byte 1 over a point that recorded nothing was shown and copied as done.
        empty = self.path("empty-done.h5")
        shutil.copy(self.path("a.h5"), empty)
        with h5py.File(empty, "r+") as f:
            for name in f.attrs["fields"]:
                if name + "_shape" in f["points"]:
                    f["points/" + name + "_shape"][1] = -1
        for args in (["show", empty, "1"], ["merge", self.path("a.h5"), empty, "--out", self.path("empty-m.h5")]):
            proc = run(*args, check=False)
            self.assertEqual(proc.returncode, 5, f"{args}: {proc.stderr}")
            self.assertIn("/points/status[1] = 1 (done) but the point recorded no data", proc.stderr)
        self.assertFalse(os.path.exists(self.path("empty-m.h5")))

    def test_sizes_a_file_cannot_hold_are_damaged(self):
        # Issue 22, defect 5: a small file whose datasets declare 2^30 points (chunked, never written) made
        # status/show allocate gigabytes (exit 1, out of memory) instead of saying the file is damaged.
        crafted = self.path("crafted.h5")
        P = 1 << 30
        with h5py.File(self.path("a.h5"), "r") as src, h5py.File(crafted, "w") as dst:
            for k, v in src.attrs.items():
                dst.attrs[k] = v
            dst.attrs["num_points"] = np.int64(P)

            def copy(name, obj):
                if isinstance(obj, h5py.Dataset):
                    shape = obj.shape
                    if shape and shape[0] == 2:
                        shape = (P,) + shape[1:]
                    chunks = (1024,) + shape[1:] if shape and shape[0] == P else None
                    d = dst.create_dataset(name, shape=shape, dtype=obj.dtype, chunks=chunks)
                    if chunks is None:
                        d[...] = obj[...]
                    for k, v in obj.attrs.items():
                        d.attrs[k] = v
            src.visititems(copy)
        self.assertLess(os.path.getsize(crafted), 4 << 20)
        for args in (["status", crafted], ["show", crafted, "0"]):
            proc = run(*args, check=False)
            self.assertEqual(proc.returncode, 5, f"{args}: {proc.returncode} {proc.stderr}")
            self.assertIn("is damaged", proc.stderr)

    def test_outputs_checked_first_and_temporaries_cleaned(self):
        # Issue 22, defect 6: `merge --out ""` is refused before any input is read (exit 2); a killed writer's
        # temporaries (`.creating-PID-N`, an older merge's `.merging-PID`) are removed by the next writer in
        # that directory once no writer holds them, and files that only start like them are never touched.
        proc = run("merge", self.path("a.h5"), self.path("a.h5"), "--out", "", check=False)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("--out is empty", proc.stderr)
        work = self.path("tmpdir")
        os.makedirs(work)
        stale = [os.path.join(work, n) for n in ("m.h5.merging-4242", "other.h5.creating-4242-0")]
        kept = [os.path.join(work, n) for n in ("m.h5.creating-notes.txt", "m.h5.merging-4242.bak", "m.h5.mine")]
        for name in stale + kept:
            with open(name, "wb") as f:
                f.write(b"x" * 1000)
            os.utime(name, (1e9, 1e9))  # older than a minute
        proc = run("merge", self.path("a.h5"), self.path("a.h5"), "--out", os.path.join(work, "new.h5"))
        for name in stale:
            self.assertFalse(os.path.exists(name), f"{name} was left")
            self.assertIn("removed " + name, proc.stderr)
        for name in kept:
            self.assertTrue(os.path.exists(name), f"{name} (a user's file) was removed")
        self.assertEqual(sorted(os.listdir(work)), sorted([os.path.basename(k) for k in kept] + ["new.h5"]))

    def test_lm_corpus_generator_is_fingerprinted(self):
        # Issue 22, defect 1 for lm_facts: the corpus is generated by built-in lists; a file made by another
        # generator (simulated by editing the stored fingerprint) is not resumed with this one.
        lm = ["--set", "run.model_kind=lm_facts", "--set", "lm.pretrain_steps=20", "--set", "lm.pretrain_eval_interval=10",
              "--set", "lm.pretrain_log_interval=1", "--set", "lm.finetune_steps=2", "--set", "lm.finetune_checkpoint_interval=1",
              "--set", "lm.finetune_log_interval=1", "--set", "lm.eval_samples=2", "--set", "lm.gate_icl=0",
              "--set", "lm.gate_iwl=0", "--set", "lm.layers=1", "--set", "lm.width=8", "--set", "lm.heads=1"]
        out = self.path("lm.h5")
        run("train", "-q", "--out", out, *lm)
        with h5py.File(out, "r+") as f:
            text = f.attrs["input_fingerprints"]
            self.assertIn("lm_facts corpus generator", text)
            f.attrs["input_fingerprints"] = text.replace("xxh64 ", "xxh64 0")
            f["points/status"][0] = 0
        proc = run("train", "-q", "--out", out, *lm, check=False)
        self.assertEqual(proc.returncode, 5, proc.stderr)
        self.assertIn("lm_facts corpus generator", proc.stderr)
        self.assertIn("when it was created", proc.stderr)

    def test_input_data_is_fingerprinted(self):
        # Issue 22, defect 1: an Omniglot sweep resumed after its data folder changed mixed C = 242 and C = 136.
        full, half = self.path("omni-full"), self.path("omni-half")
        os.makedirs(full)
        os.makedirs(half)
        for z in ("images_background_small1.zip", "images_background_small2.zip"):
            shutil.copy(os.path.join(SHARED_OMNIGLOT, z), full)
        shutil.copy(os.path.join(SHARED_OMNIGLOT, "images_background_small1.zip"), half)
        job = self.path("omni.ini")
        with open(job, "w") as f:
            f.write("[run]\nmodel_kind = omniglot\n[model]\ninput_tokenizer = resnet_v1\n[omniglot]\nimage_size = 8\n"
                    "[data]\nnum_high_prob_classes = 2\nnum_contexts = 1\ndataset_size = 256\n"
                    "[train]\nsteps = 4\ncheckpoint_interval = 2\nlog_interval = 2\nbatch_size = 4\n"
                    "[eval]\nnum_eval_samples = 64\nnum_pretraining_samples = 64\nbatch_size = 64\n"
                    "[grid]\nseeds = 0..1\n")
        out = self.path("omni.h5")
        folder = ["--set", "omniglot.path=" + self.path("omni-data")]
        os.symlink(full, self.path("omni-data"))
        run("run", job, "--out", out, "-q", *folder)
        with h5py.File(out, "r") as f:
            self.assertIn("Omniglot data", f.attrs["input_fingerprints"])
            self.assertIn("242 classes", f.attrs["input_fingerprints"])
        with h5py.File(out, "r+") as f:
            f["points/status"][1] = 0  # as if interrupted before point 1
        before = open(out, "rb").read()
        os.remove(self.path("omni-data"))
        os.symlink(half, self.path("omni-data"))  # the same omniglot.path now holds one zip
        proc = run("run", job, "--out", out, "-q", *folder, check=False)
        self.assertEqual(proc.returncode, 5, proc.stderr)
        self.assertIn("other input data", proc.stderr)
        self.assertIn("Omniglot data (omniglot.path = ", proc.stderr)
        self.assertRegex(proc.stderr, r"242 classes.*when it was created, 136 classes.* now")
        self.assertIn("--accept-changed-inputs", proc.stderr)
        self.assertEqual(open(out, "rb").read(), before, "a refused resume changed the file")
        # --from a file made from other data: refused before the output exists
        grown = self.path("omni-grown.ini")
        with open(grown, "w") as f:
            f.write(open(job).read().replace("seeds = 0..1", "seeds = 0..2"))
        proc = run("run", grown, "--out", self.path("omni-grown.h5"), "--from", out, "-q", *folder, check=False)
        self.assertEqual(proc.returncode, 5, proc.stderr)
        self.assertIn("--from " + out + " was made from other input data", proc.stderr)
        self.assertFalse(os.path.exists(self.path("omni-grown.h5")))
        # merge of files made from different data: refused, nothing written; accepted on request
        run("run", job, "--out", self.path("omni-half.h5"), "-q", "--set", "seeds=2", *folder)  # other points
        proc = run("merge", out, self.path("omni-half.h5"), "--out", self.path("omni-m.h5"), check=False)
        self.assertEqual(proc.returncode, 5, proc.stderr)
        self.assertIn("different input data", proc.stderr)
        self.assertFalse(os.path.exists(self.path("omni-m.h5")))
        run("merge", out, self.path("omni-half.h5"), "--out", self.path("omni-m.h5"), "--accept-changed-inputs")
        with h5py.File(self.path("omni-m.h5"), "r") as f:  # both fingerprints: later mixing is refused too
            self.assertRegex(f.attrs["input_fingerprints"], r"242 classes.* \| 136 classes")
        # the explicit option resumes anyway, and says so
        proc = run("run", job, "--out", out, "-q", "--accept-changed-inputs", *folder)
        self.assertIn("--accept-changed-inputs", proc.stderr)

    def test_list_where_and_keys(self):
        out = run("list", self.grown, "--where", "seed=1").stdout
        self.assertIn("2 of 4 points match --where data.seed=1", out)
        bad = run("list", self.grown, "--where", "nosuchkey=1", check=False)
        self.assertEqual(bad.returncode, 2)
        keys = run("keys", "train.").stdout.splitlines()
        self.assertTrue(keys and all(line.startswith("train.") for line in keys))
        self.assertIn("one of: none | high_prob | low_prob", run("keys", "data.conditioning").stdout)
        self.assertIn("PREFIX", run("keys", "--help").stdout)
        self.assertEqual(run("keys", "nope.", check=False).returncode, 2)

    def test_numeric_keys_are_float64_even_when_unset(self):
        with h5py.File(self.path("a.h5"), "r") as f:
            for key in ("data.num_relevant_contexts", "eval.default_p_relevant_context", "data.p_high"):
                ds = f["points/params/" + key]
                self.assertEqual(ds.dtype, np.float64, key)
            self.assertTrue(np.all(np.isnan(f["points/params/data.num_relevant_contexts"][:])))
            self.assertEqual(h5py.check_string_dtype(f["points/params/data.conditioning"].dtype).encoding, "utf-8")

    def test_sample_records_the_split_it_drew(self):
        out = self.path("s.h5")
        run("sample", "--set", "p_relevant_context=0.9", "--split", "eval-irrelevant_context-none-flip_label",
            "--count", "5", "--out", out)
        with h5py.File(out, "r") as f:
            self.assertEqual(f.attrs["data.p_relevant_context"], 0.0)
            self.assertEqual(f.attrs["data.flip_label"], 1)
            self.assertEqual(f.attrs["data.dataset_size"], 5000)  # the evaluation pool: 5 x num_eval_samples
            self.assertEqual(f.attrs["training.data.p_relevant_context"], "0.9")

    def test_train_progress_shows_step_loss_and_evaluation(self):
        proc = run("train", *TINY, "--set", "train.steps=3000", "--set", "train.checkpoint_interval=1000",
                   "--progress", "0.5", "--out", self.path("t.h5"))
        line = next((x for x in proc.stderr.splitlines() if "| step " in x), None)
        self.assertIsNotNone(line, proc.stderr)
        self.assertRegex(line, r"ETA \S+ \| step \d+/3000 loss [0-9.e-]+ \| eval @ step \d+: pretraining loss")

    @unittest.skipUnless(os.path.isdir(SHARED_OMNIGLOT), "no ../shared/data/omniglot")
    def test_omniglot_bench_reports_images_and_batch_assembly(self):
        proc = run("bench", "--model", "omniglot", "--L", "1", "--image-size", "16", "--classes", "10", "--chunks", "1",
                   "--steps", "1", "--omniglot", SHARED_OMNIGLOT)
        self.assertRegex(proc.stdout, r"images: 242 classes, 4840 drawings from .*, [0-9.]+ MB held")
        self.assertIn("assembly ms", proc.stdout)
        row = next(x for x in proc.stdout.splitlines() if x.split()[:2] == ["1", "64"])
        assembly_ms, share, pool_mb = row.split()[-3:]
        self.assertGreater(float(assembly_ms), 0.0)
        self.assertTrue(share.endswith("%"), row)
        self.assertAlmostEqual(float(pool_mb), 0.4, delta=0.05)  # 10^5 sequences x 2 uint16 classes
        missing = run("bench", "--model", "omniglot", "--L", "1", "--image-size", "16", "--classes", "10", "--chunks", "1",
                      "--steps", "1", "--omniglot", self.path("no-such-folder"))
        self.assertIn("images: none read from", missing.stdout)
        self.assertNotIn("assembly ms", missing.stdout)


if __name__ == "__main__":
    BINARY = os.path.abspath(sys.argv.pop(1))
    unittest.main()
