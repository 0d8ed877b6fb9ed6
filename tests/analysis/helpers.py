"""Shared setup for the analysis tests: import paths and a temporary directory per test case."""
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ANALYSIS = os.path.join(REPO, "analysis")
for path in (HERE, ANALYSIS):
    if path not in sys.path:
        sys.path.insert(0, path)


class TempDirCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="iclsweep-analysis-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class PngCase(TempDirCase):
    def assert_pngs(self, paths, names):
        """`paths` are exactly the files `names`, each a real PNG of some content (> 5 KB)."""
        self.assertEqual(sorted(os.path.basename(p) for p in paths), sorted(names))
        for p in paths:
            with open(p, "rb") as f:
                self.assertEqual(f.read(8), PNG_MAGIC, p)
            self.assertGreater(os.path.getsize(p), 5000, p)
