#!/usr/bin/python3
"""Draw the paper figures from an iclsweep results file.

    /usr/bin/python3 analysis/plot.py RESULTS.h5 [MORE.h5 ...] --figure NAME|all --out DIR [--gh own|mixture|p0]
                                      [--alpha-metric p_iwl|p_iwl_ge_half] [--no-mixture] [--where KEY=VALUE ...] [--note TEXT]
    /usr/bin/python3 analysis/plot.py RESULTS.h5 --curves INDEX|ID [INDEX ...] --out DIR

Writes PNGs into DIR and prints which figures were written and which were skipped, and why.
Exit status: 0 when every requested figure was written (or, with --figure all, at least one),
1 when a requested figure could not be drawn, 2 for a bad command line or an unreadable file.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from iclsweep_analysis import figures, point_curves, stylized_figures  # noqa: E402
from iclsweep_analysis.load import MissingData, load_many  # noqa: E402


def _stamp(path, note):
    """Adds a strip with `note` under the PNG at `path`, pixel for pixel (labels partial or provisional figures):
    the figure's own pixels are copied unchanged; only the strip is rendered."""
    import matplotlib.pyplot as plt
    import numpy as np
    image = plt.imread(path)
    if image.shape[2] == 3:
        image = np.dstack([image, np.ones(image.shape[:2], dtype=image.dtype)])
    height, width = image.shape[:2]
    strip = 30
    fig = plt.figure(figsize=(width / 100, strip / 100), dpi=100)
    fig.text(0.5, 0.5, note, ha="center", va="center", fontsize=10, color="tab:red")
    fig.canvas.draw()
    text = np.asarray(fig.canvas.buffer_rgba(), dtype=np.float32)[:strip, :width] / 255.0
    plt.close(fig)
    plt.imsave(path, np.concatenate([image.astype(np.float32), text], axis=0))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", help="results file(s) written by iclsweep; several are read as one "
                                                   "(e.g. the two files of context_length, or a sweep and its added seeds)")
    parser.add_argument("--figure", default="all", help="figure name or 'all': " + ", ".join(figures.FIGURES))
    parser.add_argument("--out", default="figures", help="output directory (created if missing)")
    parser.add_argument("--gh", choices=sorted(stylized_figures.GH_SOURCES), default="own",
                        help="stylized: g and h of the mixture each at its own selected checkpoint (own, default; "
                             "the paper's reading), at the mixture's selected checkpoint (mixture), or from P0 (p0)")
    parser.add_argument("--alpha-metric", choices=stylized_figures.ALPHA_METRICS, default="p_iwl",
                        help="stylized: the alpha line, mean alpha (p_iwl, default) or the fraction with alpha >= 0.5")
    parser.add_argument("--no-mixture", action="store_true", help="stylized: leave out the mixture's error line")
    parser.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                        help="draw only points with this parameter value (repeatable; KEY=a,b matches either)")
    parser.add_argument("--curves", nargs="+", metavar="INDEX|ID",
                        help="instead of figures: one point's training loss and every split's error vs step, the "
                             "selected checkpoint marked (curves_<index>.png)")
    parser.add_argument("--note", default="",
                        help="a line of text stamped under every written figure, e.g. 'partial: 6 of 72 points'")
    args = parser.parse_args(argv)
    # The output is checked before anything is read or drawn (issue 22, defect 6's class): an empty --out
    # wrote into the current directory, and a --out that is a file failed only after every figure was drawn.
    if not args.out:
        print("error: --out is empty: give a directory for the figures, such as figures/", file=sys.stderr)
        return 2
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        print(f"error: --out '{args.out}' is a file, not a directory: give a directory for the figures", file=sys.stderr)
        return 2
    if args.curves:
        return draw_curves(args)

    names = list(figures.FIGURES) if args.figure == "all" else args.figure.split(",")
    unknown = [n for n in names if n not in figures.FIGURES]
    if unknown:
        print(f"unknown figure(s) {', '.join(unknown)}; choose from: all, {', '.join(figures.FIGURES)}", file=sys.stderr)
        return 2
    res = _load(args)
    if res is None:
        return 2

    written, skipped = [], []
    for name in names:
        try:
            paths = figures.draw(name, res, args.out, gh=args.gh, alpha_metric=args.alpha_metric,
                                 show_mixture=not args.no_mixture)
            written += paths
            for p in paths:
                if args.note:
                    _stamp(p, args.note)
                print(f"wrote   {name}: {p}")
        except figures.FigureUnavailable as e:
            skipped.append(name)
            print(f"skipped {name}: {e}")
    print(f"{len(written)} file(s) written, {len(skipped)} figure(s) skipped")
    if args.figure == "all":
        return 0 if written else 1
    return 1 if skipped else 0


def _load(args):
    try:
        res = load_many(args.results)
        counts = res.counts
        print(f"{' + '.join(args.results)}: {counts['done']} done, {counts['pending']} pending, {counts['failed']} "
              "failed points")
        if args.where:
            res = res.where(args.where)
            print(f"--where {' '.join(args.where)}: {len(res)} done points")
        return res
    except (MissingData, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return None


def draw_curves(args):
    res = _load(args)
    if res is None:
        return 2
    failed = 0
    for token in args.curves:
        try:
            print(f"wrote   curves {token}: {point_curves.draw(res, token, args.out)}")
        except MissingData as e:
            print(f"skipped curves {token}: {e}")
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    from report import run_and_exit  # noqa: E402  (same directory)
    run_and_exit(main)
