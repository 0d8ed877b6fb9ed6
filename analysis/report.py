#!/usr/bin/python3
"""Terminal summary of an iclsweep results file: selected errors with standard errors, per setting and N.

    /usr/bin/python3 analysis/report.py RESULTS.h5 [MORE.h5 ...] [--by auto|loss|error] [--recompute]
                                        [--metric error|loss] [--splits SPLIT,SPLIT,...] [--where KEY=VALUE ...]
                                        [--format text|csv|json] [--per-point]

For transformer points: one block per setting (the swept values besides N and p_rel), one row per model
(IW / IC baseline, Transformer) and N, columns = mean +- SE over seeds of the metric at the selected
checkpoint (§6.1). Gated points: errors of g, h, the mixture f and alpha on the v1 splits. Theory points:
the stored IW curve and IC bounds. Other kinds (omniglot, lm_facts, online): mean +- SE of every scalar field
they recorded (fill values, NaN or -1, are never averaged). --format csv|json writes the same tables (one row
per setting; with several model kinds a model_kind column; or, with --per-point, one row per point) for
pandas / jq instead of text.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from iclsweep_analysis import tidy  # noqa: E402
from iclsweep_analysis.aggregate import is_seed_key, mean_se, selected_values  # noqa: E402
from iclsweep_analysis.figure_common import IC, IW, N_KEY, P_REL, TF, FigureUnavailable, role_of  # noqa: E402
from iclsweep_analysis.stylized_figures import GH_SOURCES, MIXTURE_ERROR, _stylized_values  # noqa: E402
from iclsweep_analysis.transformer_figures import selection_rule  # noqa: E402
from iclsweep_analysis.load import ALL_STATUSES, MissingData, hashable, load_many  # noqa: E402

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


def _sort_key(value):
    """Numbers in numeric order (5 < 45 < 495), then text, then unset."""
    if value is None:
        return (2, 0.0, "")
    if isinstance(value, (float, int, np.floating)):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def _mean_se(mean, se, n):
    """'0.500±0.047'; 'n/a' for the SE of a single seed; '-' without any value."""
    if n == 0 or not np.isfinite(mean):
        return "-"
    return f"{mean:.3f}±" + (f"{se:.3f}" if n > 1 else "n/a")


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
    order = sorted(range(len(rows)), key=lambda i: (tuple(_sort_key(v) for v in settings[i]), ROLE_ORDER[role_of(p_rel[i])],
                                                    p_rel[i], rows.params[N_KEY][i]))
    width = max(len(model(p)) for p in p_rel) + 2
    cell = [max(15, len(n)) + 2 for n in names]
    header = f"  {'model':<{width}}{'log2N':>6}{'seeds':>6}" + "".join(f"{n:>{w}}" for n, w in zip(names, cell))
    current = None
    for i in order:
        if settings[i] != current:
            current = settings[i]
            label = ", ".join(f"{k}={_fmt(v) if v is not None else 'unset'}" for k, v in zip(setting_keys, current))
            print(f"\n[{label or 'single setting'}]", file=out)
            print(header, file=out)
        cells = "".join(f"{_mean_se(t.mean[i], t.se[i], t.n[i]):>{w}}" for t, w in zip(tables, cell))
        log2n = np.log2(rows.params[N_KEY][i])
        print(f"  {model(p_rel[i]):<{width}}{log2n:>6.3g}{rows.n[i]:>6d}{cells}", file=out)


# The v1 layout of the stylized figure, as (split, short name): OOBD on relevant contexts, IBD on irrelevant.
GATED_SPLITS = [("eval-relevant_context-high_prob-flip_label", "RelCH-OOBD"),
                ("eval-relevant_context-low_prob-flip_label", "RelCL-OOBD"),
                ("eval-irrelevant_context-high_prob", "IrrCH-IBD"),
                ("eval-irrelevant_context-low_prob", "IrrCL-IBD")]


def gated_report(gated, out):
    """Gated points: per setting and N, at the mixture's selected checkpoint, the errors of g, h (mixture
    stage) and f, and mean alpha, on the four v1 columns. One short table instead of every scalar field."""
    lines = [("g", GH_SOURCES["mixture"]["g"]), ("h", GH_SOURCES["mixture"]["h"]), ("f", MIXTURE_ERROR),
             ("α", ("alpha/selected/{S}/p_iwl", "alpha/eval/{S}/p_iwl", "alpha/selected/index"))]
    columns = []
    for split, short in GATED_SPLITS:
        for name, source in lines:
            try:
                columns.append((f"{short}:{name}", mean_se(gated, _stylized_values("stylized", gated, source, split))))
            except FigureUnavailable:
                pass
    if not columns:
        print("  (no gated fields to summarise)", file=out)
        return
    rows = columns[0][1]
    keys = [k for k in gated.varying_keys() if k != N_KEY and not is_seed_key(k)]
    width = max(14, *(len(c) for c, _ in columns)) + 1
    order = sorted(range(len(rows)), key=lambda i: (tuple(str(rows.params[k][i]) for k in keys), rows.params[N_KEY][i]))
    current = None
    for i in order:
        setting = tuple(str(rows.params[k][i]) for k in keys)
        if setting != current:
            current = setting
            label = ", ".join(f"{k}={_fmt(rows.params[k][i])}" for k in keys)
            print(f"\n[{label or 'single setting'}] (g, h: mixture stage; f: the mixture; α: mean gate on g)", file=out)
            for start in range(0, len(columns), 8):
                chunk = columns[start:start + 8]
                print(f"  {'log2N':>6}{'seeds':>6}" + "".join(f"{c:>{width}}" for c, _ in chunk), file=out)
                for j in [x for x in order if tuple(str(rows.params[k][x]) for k in keys) == current]:
                    print(f"  {np.log2(rows.params[N_KEY][j]):>6.3g}{rows.n[j]:>6d}" +
                          "".join(f"{_mean_se(t.mean[j], t.se[j], t.n[j]):>{width}}" for _, t in chunk), file=out)


def recorded_scalars(sub):
    """The scalar fields these points recorded, as {path: float values}. Fill values are not measurements:
    NaN (float fields) and -1 (int32 fields: the store's fill, e.g. `selected/index` of a point of another
    kind in a merged file) become NaN, so they are never averaged; a field with no other value (another
    kind's field) is left out."""
    out = {}
    for path in sorted(sub.fields):
        v = sub.fields[path]
        if v.ndim != 1 or v.dtype.kind not in "fiu":
            continue
        values = v.astype(np.float64)
        if v.dtype.kind in "iu":
            values[v == -1] = np.nan
        if np.isfinite(values).any():
            out[path] = values
    return out


def scalar_frame(sub):
    """csv/json for kinds without a transformer table (omniglot, lm_facts, online, gated, theory): one row per
    setting, the varying parameters, seeds, and "<field>/mean", "<field>/se" of every recorded scalar field."""
    import pandas as pd
    fields = recorded_scalars(sub)
    if not fields:
        return pd.DataFrame()
    columns = {}
    keys = [k for k in sub.varying_keys() if not is_seed_key(k)]
    for j, (path, values) in enumerate(fields.items()):
        t = mean_se(sub, values)
        if j == 0:
            for k in keys:
                columns[k] = t.params[k]
            columns["seeds"] = t.n
        columns[f"{path}/mean"] = t.mean
        columns[f"{path}/se"] = np.where(t.n > 1, t.se, np.nan)
    return pd.DataFrame(columns)


def scalar_report(sub, out):
    """Any other model kind (online, gated, ...): mean +- SE over seeds of every scalar field per setting."""
    fields = recorded_scalars(sub)
    names = list(fields)
    if not names:
        print("  (no scalar fields)", file=out)
        return
    tables = [mean_se(sub, fields[p]) for p in names]
    keys = [k for k in sub.varying_keys() if not is_seed_key(k)]
    for i in range(len(tables[0])):
        label = ", ".join(f"{k}={_fmt(tables[0].params[k][i])}" for k in keys)
        print(f"\n[{label or 'single setting'}] seeds: {tables[0].n[i]}", file=out)
        for name, t in zip(names, tables):
            if t.n[i] == 0:
                continue  # no point of this setting recorded it
            se = f"{t.se[i]:<10.3g}" if t.n[i] > 1 else "n/a"
            print(f"  {name:<40} {t.mean[i]:10.4g} ± {se}", file=out)


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


def main(argv=None, out=None):
    out = out or sys.stdout
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", help="results file(s); several files are read as one sweep")
    parser.add_argument("--by", choices=("auto", "loss", "error"), default="auto",
                        help="checkpoint selection: last minimum of the pretraining loss or 0-1 error; auto (default) "
                             "= what the figures use: error for a p_rel sweep (the p_relevant figure), loss otherwise")
    parser.add_argument("--recompute", action="store_true", help="recompute the selection from the stored curves")
    parser.add_argument("--metric", choices=("error", "loss", "context_fraction"), default="error")
    parser.add_argument("--splits", help="comma-separated split names (default: the key splits)")
    parser.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                        help="keep only points with this parameter value (repeatable; KEY=a,b matches either)")
    parser.add_argument("--format", choices=("text", "csv", "json"), default="text",
                        help="text (default), or the tables as CSV / JSON records (every model kind)")
    parser.add_argument("--per-point", action="store_true",
                        help="with --format csv|json: one row per point (every status) instead of per setting")
    args = parser.parse_args(argv)
    try:
        res = load_many(args.results, ALL_STATUSES if args.per_point else (1,))
        if args.where:
            res = res.where(args.where)
    except (MissingData, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    splits = [(s, s) for s in args.splits.split(",")] if args.splits else KEY_SPLITS
    kinds = res.model_kind()
    tf = res.subset(kinds == "transformer")
    by, why = selection_rule(tf) if args.by == "auto" else (args.by, f"last minimum of the pretraining {args.by}")
    note = ""
    if args.by != "auto" and args.by != selection_rule(tf)[0]:
        note = f" (note: the figures of these points select by the pretraining {selection_rule(tf)[0]})"
    if args.format != "text":
        if args.per_point:
            frame = tidy.points_frame(res, splits=[s for s, _ in splits], metrics=(args.metric,), by=by,
                                      recompute=args.recompute)
        else:
            # every kind gets its summary rows: the transformer table (its columns as before) for
            # transformer points, the recorded scalar fields for every other kind; with several kinds a
            # model_kind column says which rows are which
            import pandas as pd
            frames = []
            for kind in sorted(set(kinds)):
                sub = res.subset(kinds == kind)
                part = tidy.summary_frame(sub, splits, args.metric, by, args.recompute) if kind == "transformer" \
                    else scalar_frame(sub)
                if len(set(kinds)) > 1 or kind != "transformer":
                    part.insert(0, "model_kind", kind)
                frames.append(part)
            frame = pd.concat(frames, ignore_index=True, sort=False) if frames else pd.DataFrame()
        if args.format == "csv":
            frame.to_csv(out, index=False)
        else:
            json.dump(json.loads(frame.to_json(orient="records")), out, indent=1)
            out.write("\n")
        return 0
    c = res.counts
    sources = " + ".join(args.results)
    print(f"{sources}: {sum(c.values())} points: {c['done']} done, {c['pending']} pending, {c['failed']} failed"
          + (f"; {len(res)} match --where {' '.join(args.where)}" if args.where else ""), file=out)
    for point_id, message in res.failures[:10]:
        print(f"  failed {point_id}: {message}", file=out)
    if len(res.failures) > 10:
        print(f"  ... and {len(res.failures) - 10} more failed points", file=out)
    if res.grid_keys:
        print(f"grid keys: {', '.join(res.grid_keys)}", file=out)
    for kind in sorted(set(kinds)):
        sub = res.subset(kinds == kind)
        if kind == "transformer":
            rule = why + (" (recomputed)" if args.recompute else "") + note
            print(f"\ntransformer: {len(sub)} done points; {args.metric} at the selected checkpoint: {rule}. "
                  f"mean±SE over seeds (SE = std ddof=0 / sqrt(n); n/a for one seed)", file=out)
            transformer_report(sub, splits, args.metric, by, args.recompute, out)
        elif kind == "theory":
            theory_report(sub, out)
        elif kind == "gated":
            print(f"\ngated: {len(sub)} done points; at the mixture's selected checkpoint, mean±SE over seeds", file=out)
            gated_report(sub, out)
        else:
            print(f"\n{kind}: {len(sub)} done points; scalar fields, mean ± SE over seeds", file=out)
            scalar_report(sub, out)
    return 0


def run_and_exit(main_function):
    """Runs main; a closed pipe (`report.py R.h5 | head`) ends quietly instead of with a traceback."""
    try:
        code = main_function()
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the interpreter's final flush
        code = 0
    sys.exit(code)


if __name__ == "__main__":
    run_and_exit(main)
