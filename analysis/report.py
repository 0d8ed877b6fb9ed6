#!/usr/bin/python3
"""Terminal summary of an iclsweep results file: selected errors with standard errors, per setting and N.

    /usr/bin/python3 analysis/report.py RESULTS.h5 [--by loss|error] [--recompute] [--metric error|loss]
                                        [--splits SPLIT,SPLIT,...]

For transformer points: one block per setting (the swept values besides N and p_rel), one row per model
(IW / IC baseline, Transformer) and N, columns = mean +- SE over seeds of the metric at the selected
checkpoint (§6.1). For theory points: the stored IW curve and IC bounds.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from iclsweep_analysis.aggregate import is_seed_key, mean_se, selected_values  # noqa: E402
from iclsweep_analysis.figures import IC, IW, N_KEY, P_REL, TF, role_of  # noqa: E402
from iclsweep_analysis.load import MissingData, hashable, load  # noqa: E402

# The splits that decide the paper's claims (§6.3), with short column names.
KEY_SPLITS = [
    ("pretraining", "pretrain"),
    ("eval-default-none", "IBD"),
    ("eval-default-none-flip_label", "OOBD"),
    ("eval-relevant_context-high_prob-flip_label", "RelCH-OOBD"),
    ("eval-relevant_context-low_prob-flip_label", "RelCL-OOBD"),
    ("eval-irrelevant_context-high_prob", "IrrCH-IBD"),
    ("eval-irrelevant_context-low_prob", "IrrCL-IBD"),
]
ROLE_ORDER = {IW: 0, IC: 1, TF: 2}


def _fmt(value):
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


def transformer_report(tf, splits, metric, by, recompute, out):
    tables, names = [], []
    for split, short in splits:
        try:
            tables.append(mean_se(tf, selected_values(tf, split, metric, by, recompute)))
            names.append(short)
        except MissingData as e:
            print(f"  (column {short} left out: {e})", file=out)
    if not tables:
        return
    rows = tables[0]  # every table groups the same points in the same order
    setting_keys = [k for k in tf.varying_keys() if k not in (N_KEY, P_REL) and not is_seed_key(k)]
    p_rel = rows.params.get(P_REL, np.full(len(rows), 0.9))
    studied = sorted({p for p in p_rel if role_of(p) == TF})

    def model(p):
        role = role_of(p)
        return f"{role} p={_fmt(p)}" if role == TF and len(studied) > 1 else role

    settings = [tuple(hashable(rows.params[k])[i] for k in setting_keys) for i in range(len(rows))]
    order = sorted(range(len(rows)), key=lambda i: (tuple(str(v) for v in settings[i]), ROLE_ORDER[role_of(p_rel[i])],
                                                    p_rel[i], rows.params[N_KEY][i]))
    width = max(len(model(p)) for p in p_rel) + 2
    header = f"  {'model':<{width}}{'log2N':>6}{'seeds':>6}" + "".join(f"{n:>16}" for n in names)
    current = None
    for i in order:
        if settings[i] != current:
            current = settings[i]
            label = ", ".join(f"{k}={_fmt(v) if v is not None else 'unset'}" for k, v in zip(setting_keys, current))
            print(f"\n[{label or 'single setting'}]", file=out)
            print(header, file=out)
        cells = "".join(f"{t.mean[i]:>9.3f}±{t.se[i]:<6.3f}" for t in tables)
        log2n = np.log2(rows.params[N_KEY][i])
        print(f"  {model(p_rel[i]):<{width}}{log2n:>6.3g}{rows.n[i]:>6d}{cells}", file=out)


def scalar_report(sub, out):
    """Any other model kind (online, gated, ...): mean +- SE over seeds of every scalar field per setting."""
    names = sorted(p for p, v in sub.fields.items() if v.ndim == 1 and v.dtype.kind in "fi")
    if not names:
        print("  (no scalar fields)", file=out)
        return
    tables = [mean_se(sub, sub.fields[p]) for p in names]
    keys = [k for k in sub.varying_keys() if not is_seed_key(k)]
    for i in range(len(tables[0])):
        label = ", ".join(f"{k}={_fmt(tables[0].params[k][i])}" for k in keys)
        print(f"\n[{label or 'single setting'}] seeds: {tables[0].n[i]}", file=out)
        for name, t in zip(names, tables):
            print(f"  {name:<40} {t.mean[i]:10.4g} ± {t.se[i]:<10.3g}", file=out)


def theory_report(th, out):
    x = th.fields.get("theory/x", th.fields.get("theory/log2_nx"))
    versions = th.param("theory.version", default="v2").astype(str)
    for p in range(len(th)):
        print(f"\n[theory point {th.ids[p]}, version {versions[p]}]", file=out)
        if x is not None and "theory/iw_curve" in th.fields:
            iw = th.fields["theory/iw_curve"][p]
            print("  x (log2 N_x):  " + " ".join(f"{v:8.3g}" for v in x[p] if np.isfinite(v)), file=out)
            print("  IW curve:      " + " ".join(f"{v:8.5f}" for v in iw if np.isfinite(v)), file=out)
        lower, upper = th.fields.get("theory/ic_lower"), th.fields.get("theory/ic_upper")
        if lower is not None:
            print("  k   IC lower   IC upper", file=out)
            for k, lo in enumerate(lower[p]):
                if np.isfinite(lo):
                    up = upper[p, k] if upper is not None else np.nan
                    print(f"  {k:<3d} {lo:9.5f}  {up:9.5f}", file=out)


def main(argv=None, out=sys.stdout):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results")
    parser.add_argument("--by", choices=("loss", "error"), default="loss",
                        help="checkpoint selection: last minimum of the pretraining loss (default) or 0-1 error")
    parser.add_argument("--recompute", action="store_true", help="recompute the selection from the stored curves")
    parser.add_argument("--metric", choices=("error", "loss", "context_fraction"), default="error")
    parser.add_argument("--splits", help="comma-separated split names (default: the key splits)")
    args = parser.parse_args(argv)
    try:
        res = load(args.results)
    except (MissingData, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    c = res.counts
    print(f"{args.results}: {sum(c.values())} points: {c['done']} done, {c['pending']} pending, {c['failed']} failed",
          file=out)
    for point_id, message in res.failures[:10]:
        print(f"  failed {point_id}: {message}", file=out)
    if len(res.failures) > 10:
        print(f"  ... and {len(res.failures) - 10} more failed points", file=out)
    if res.grid_keys:
        print(f"grid keys: {', '.join(res.grid_keys)}", file=out)
    splits = [(s, s) for s in args.splits.split(",")] if args.splits else KEY_SPLITS
    kinds = res.model_kind()
    for kind in sorted(set(kinds)):
        sub = res.subset(kinds == kind)
        if kind == "transformer":
            rule = "last minimum of the pretraining " + args.by + (" (recomputed)" if args.recompute else "")
            print(f"\ntransformer: {len(sub)} done points; {args.metric} at the selected checkpoint ({rule}), "
                  f"mean ± SE over seeds (SE = std ddof=0 / sqrt(n))", file=out)
            transformer_report(sub, splits, args.metric, args.by, args.recompute, out)
        elif kind == "theory":
            theory_report(sub, out)
        else:
            print(f"\n{kind}: {len(sub)} done points; scalar fields, mean ± SE over seeds", file=out)
            scalar_report(sub, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
