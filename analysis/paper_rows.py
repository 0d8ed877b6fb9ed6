#!/usr/bin/env python3
"""The paper-scale rows of docs/reproduction.md, computed from the committed per-setting summaries.

Each row is one quantity of a headline result (PAPER-SPEC §6.3) beside the paper's value: mean ± standard
error over seeds at every dataset size N, read from a `report.py --format csv` summary committed next to its
figure under docs/figures/paper/. The doc holds the rows between markers,

    <!-- paper-rows begin -->  ...  <!-- paper-rows end -->

and tests/analysis/test_paper_rows.py fails when they differ from what this script computes, so the numbers
in the docs and the CSVs (and the figures drawn from the same files) cannot drift apart.

    /usr/bin/python3 analysis/paper_rows.py            # print the rows
    /usr/bin/python3 analysis/paper_rows.py --write    # rewrite them in docs/reproduction.md
"""
import argparse
import csv
import math
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DOC = os.path.join(ROOT, "docs", "reproduction.md")
BEGIN, END = "<!-- paper-rows begin -->", "<!-- paper-rows end -->"

# Which model a p_relevant_context value is (PAPER-SPEC §6.1): the IW baseline never sees a relevant context,
# the IC baseline always does, the transformer at the paper's 0.9.
MODELS = {"Transformer": 0.9, "IC baseline": 1.0, "IW baseline": 0.0}

# (hypothesis, summary CSV under docs/figures/paper/, quantity, model, CSV column, the paper's value)
ROWS = [
    ("H1", "noisy_inputs_sigma0.2.csv", "OOBD Rel C_L", "Transformer", "RelCL-OOBD",
     "≈0.6 at 2^6, minimum ≈0.25 at 2^8, ≈1.0 by 2^14–2^16"),
    ("H1", "noisy_inputs_sigma0.2.csv", "OOBD Rel C_H", "Transformer", "RelCH-OOBD", "≈0.3 at 2^6 → ≈1.0 by 2^10"),
    ("H1", "noisy_inputs_sigma0.2.csv", "OOBD Rel C_L", "IC baseline", "RelCL-OOBD", "≈0 throughout"),
    ("H1", "noisy_inputs_sigma0.2.csv", "OOBD Rel C_H", "IC baseline", "RelCH-OOBD", "≈0 throughout"),
    ("H1", "noisy_inputs_sigma0.2.csv", "IBD Irrel C_L", "Transformer", "IrrCL-IBD", "≈0.95 at 2^6 → ≈0 by 2^16"),
    ("H1", "noisy_inputs_sigma0.2.csv", "IBD Irrel C_L", "IW baseline", "IrrCL-IBD", "≈0.7 → ≈0 by 2^12"),
    ("H2", "noisy_inputs_sigma0.4.csv", "OOBD Rel C_L", "Transformer", "RelCL-OOBD",
     "≈0.7 → ≈0.2 (2^8–2^10) → ≈0.6 (2^16–2^20)"),
    ("H2", "noisy_inputs_sigma0.4.csv", "OOBD Rel C_H", "Transformer", "RelCH-OOBD", "≈0.05 at 2^8 → ≈0.8 at 2^20"),
    ("H2", "noisy_inputs_sigma0.4.csv", "IBD Irrel C_L", "IW baseline", "IrrCL-IBD", "stays high (≈0.5–0.9)"),
]


def log2_label(n):
    k = math.log2(n)
    return f"2^{int(round(k))}" if abs(k - round(k)) < 1e-9 else f"{n:g}"


def read_summary(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def cell(rows, model, column):
    """'0.67 ± 0.07 (2^6), …' over N for one model; seeds counted when fewer than the most any N has."""
    p = MODELS[model]
    picked = sorted((r for r in rows if abs(float(r["data.p_relevant_context"]) - p) < 1e-9),
                    key=lambda r: float(r["data.dataset_size"]))
    if not picked:
        return None
    most = max(int(r["seeds"]) for r in picked)
    parts = []
    for r in picked:
        seeds = int(r["seeds"])
        text = f"{float(r[column + '/mean']):.2f} ± {float(r[column + '/se']):.2f}"
        if seeds < most:
            text += f" [{seeds} seeds]"
        parts.append(f"{log2_label(float(r['data.dataset_size']))}: {text}")
    return "; ".join(parts), most


def table():
    lines = ["| # | quantity | paper (≈, §6.3) | paper scale: mean ± SE over seeds, per N |", "|---|---|---|---|"]
    for hyp, name, quantity, model, column, paper in ROWS:
        path = os.path.join(ROOT, "docs", "figures", "paper", name)
        if not os.path.exists(path):
            lines.append(f"| {hyp} | {quantity}, {model} | {paper} | not run yet (`{name}` missing) |")
            continue
        got = cell(read_summary(path), model, column)
        measured = "no points yet" if got is None else f"{got[0]} ({got[1]} seeds unless marked)"
        lines.append(f"| {hyp} | {quantity}, {model} | {paper} | {measured} |")
    return "\n".join(lines) + "\n"


def replace_block(text, rows):
    if BEGIN not in text or END not in text:
        raise SystemExit(f"paper_rows: {DOC} has no '{BEGIN}' … '{END}' block: add the two markers where the rows go")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return head + BEGIN + "\n" + rows + END + tail


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help=f"rewrite the rows in {os.path.relpath(DOC, ROOT)}")
    a = ap.parse_args(argv)
    rows = table()
    if a.write:
        with open(DOC) as f:
            text = f.read()
        with open(DOC, "w") as f:
            f.write(replace_block(text, rows))
        print(f"paper_rows: rewrote the rows in {DOC}")
    else:
        sys.stdout.write(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
