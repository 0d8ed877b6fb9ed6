"""docs/reproduction.md's paper-scale rows are what analysis/paper_rows.py computes from the committed CSVs."""
import os
import sys
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "analysis"))
import paper_rows  # noqa: E402


class PaperRows(unittest.TestCase):
    def test_the_doc_holds_the_rows_the_csvs_give(self):
        with open(paper_rows.DOC) as f:
            text = f.read()
        self.assertEqual(text, paper_rows.replace_block(text, paper_rows.table()),
                         "docs/reproduction.md's paper-scale rows differ from the committed CSVs: run "
                         "`/usr/bin/python3 analysis/paper_rows.py --write` and look at what changed")

    def test_a_changed_summary_changes_the_rows(self):
        # the rows are read from the CSV, not written by hand: alter one mean and the row follows
        hyp, name, _, model, column, _ = paper_rows.ROWS[0]
        path = os.path.join(paper_rows.ROOT, "docs", "figures", "paper", name)
        rows = paper_rows.read_summary(path)
        target = next(r for r in rows if abs(float(r["data.p_relevant_context"]) - paper_rows.MODELS[model]) < 1e-9)
        target[column + "/mean"] = "0.123456"
        text, _ = paper_rows.cell(rows, model, column)
        self.assertIn("0.12 ±", text)
        self.assertEqual(hyp, "H1")

    def test_a_doc_without_markers_is_refused(self):
        with self.assertRaises(SystemExit) as caught:
            paper_rows.replace_block("no markers here", "| row |\n")
        self.assertIn("paper-rows begin", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
