#!/usr/bin/python3
"""Draw the paper figures from an iclsweep results file.

    /usr/bin/python3 analysis/plot.py RESULTS.h5 --figure NAME|all --out DIR [--gh mixture|p0]
                                      [--alpha-metric p_iwl|p_iwl_ge_half] [--no-mixture]

Writes PNGs into DIR and prints which figures were written and which were skipped, and why.
Exit status: 0 when every requested figure was written (or, with --figure all, at least one),
1 when a requested figure could not be drawn, 2 for a bad command line or an unreadable file.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from iclsweep_analysis import figures  # noqa: E402
from iclsweep_analysis import lm_figures  # noqa: E402

figures.FIGURES.setdefault("lm_facts", lm_figures.FIGURE)
from iclsweep_analysis.load import MissingData, load  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", help="results file (HDF5) written by iclsweep")
    parser.add_argument("--figure", default="all", help="figure name or 'all': " + ", ".join(figures.FIGURES))
    parser.add_argument("--out", default="figures", help="output directory (created if missing)")
    parser.add_argument("--gh", choices=sorted(figures.GH_SOURCES), default="mixture",
                        help="stylized: g and h from the mixture stage (default) or from their own P0 runs")
    parser.add_argument("--alpha-metric", choices=figures.ALPHA_METRICS, default="p_iwl",
                        help="stylized: the alpha line, mean alpha (p_iwl, default) or the fraction with alpha >= 0.5")
    parser.add_argument("--no-mixture", action="store_true", help="stylized: leave out the mixture's error line")
    args = parser.parse_args(argv)

    names = list(figures.FIGURES) if args.figure == "all" else args.figure.split(",")
    unknown = [n for n in names if n not in figures.FIGURES]
    if unknown:
        print(f"unknown figure(s) {', '.join(unknown)}; choose from: all, {', '.join(figures.FIGURES)}", file=sys.stderr)
        return 2
    try:
        res = load(args.results)
    except (MissingData, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    counts = res.counts
    print(f"{args.results}: {counts['done']} done, {counts['pending']} pending, {counts['failed']} failed points")

    written, skipped = [], []
    for name in names:
        try:
            paths = figures.draw(name, res, args.out, gh=args.gh, alpha_metric=args.alpha_metric,
                                 show_mixture=not args.no_mixture)
            written += paths
            for p in paths:
                print(f"wrote   {name}: {p}")
        except figures.FigureUnavailable as e:
            skipped.append(name)
            print(f"skipped {name}: {e}")
    print(f"{len(written)} file(s) written, {len(skipped)} figure(s) skipped")
    if args.figure == "all":
        return 0 if written else 1
    return 1 if skipped else 0


if __name__ == "__main__":
    sys.exit(main())
