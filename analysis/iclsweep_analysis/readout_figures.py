"""The ICL/IWL readout (beyond the paper): on a flipped (OOBD) split each prediction is the in-context answer
(the shifted label), the in-weight answer (the class before the within-group shift) or other; the fractions
are /points/[<view>/]eval/<split>/{in_context_frac,in_weight_frac,other_frac} (docs/results-format.md).

    readout        stacked areas of the three fractions at the selected checkpoint, mean over seeds, vs log2 N:
                   rows = IW baseline / Transformer / IC baseline (transformer points), or g / h / alpha
                   (gated points); columns = the OOBD splits READOUT_SPLITS. One file per setting of the
                   other swept parameters (e.g. per sigma).
    readout_steps  the same fractions vs checkpoint step for one point per row (largest N, lowest seed).

The Transformer row is its empirical gate: in_weight_frac is comparable with the gated model's alpha.
"""
import numpy as np

from . import figure_common as F
from . import style
from .aggregate import is_seed_key, mean_se, selected_values
from .load import hashable

READOUT_SPLITS = (("eval-relevant_context-high_prob-flip_label", r"OOBD Rel $C_H$"),
                  ("eval-relevant_context-low_prob-flip_label", r"OOBD Rel $C_L$"),
                  ("eval-default-none-flip_label", "OOBD default"))
FRACTIONS = (("in_weight_frac", "in-weight answer", F.MODEL_COLOR[F.IW]),
             ("other_frac", "other", "tab:gray"),
             ("in_context_frac", "in-context answer", F.MODEL_COLOR[F.IC]))
GATED_VIEWS = (("iw/", "g (IW) alone"), ("ic/", "h (IC) alone"), ("alpha/", r"mixture $\alpha$"))
ROLE_NAMES = {F.IW: "IW baseline", F.TF: "Transformer", F.IC: "IC baseline"}


def _rows(fig, res):
    """[(row title, Results of the row's points, field prefix)] from the file's transformer or gated points."""
    tf = res.of_kind("transformer")
    if len(tf) == 0:
        tf = res.of_kind("omniglot")  # the same trainer and fields
    gated = res.of_kind("gated")
    if len(tf):
        if F.N_KEY not in tf.params:
            F._refuse(fig, res, f"its points have no parameter {F.N_KEY}")
        p_rel = tf.params.get(F.P_REL, np.full(len(tf), 0.9))
        roles = np.array([F.role_of(float(p)) for p in p_rel])
        rows = [(ROLE_NAMES[r], tf.subset(roles == r), "") for r in (F.IW, F.TF, F.IC) if np.any(roles == r)]
    elif len(gated):
        rows = [(name, gated, prefix) for prefix, name in GATED_VIEWS]
    else:
        F._refuse(fig, res, "it has no done transformer, omniglot or gated points")
    splits = [(s, t) for s, t in READOUT_SPLITS if rows[0][1].has(f"{rows[0][2]}eval/{s}/in_context_frac")]
    if not splits:
        F._refuse(fig, res, "it has no readout fields (eval/<flip split>/in_context_frac: results written "
                            "before the readout existed; rerun the job)")
    return rows, splits


def _other_keys(rows):
    """Parameters besides N, p_rel, p' and seeds that vary over the points: one figure per combination."""
    keys = set()
    for _, pts, _ in rows:
        keys |= {k for k in pts.varying_keys() if k not in (F.N_KEY, F.P_REL, F.EVAL_P) and not is_seed_key(k)}
    return sorted(keys)


def _combinations(rows, keys):
    if not keys:
        return [{}]
    seen = []
    for _, pts, _ in rows:
        for combo in zip(*(hashable(pts.params[k]) for k in keys)):
            if combo not in seen:
                seen.append(combo)
    return [dict(zip(keys, c)) for c in seen]


def _stack(ax, x, fractions, first_panel):
    """Stacked areas of {metric: (k,)} over x, bottom to top in FRACTIONS order."""
    ys = [np.nan_to_num(fractions[m], nan=0.0) for m, _, _ in FRACTIONS]
    ax.stackplot(x, *ys, colors=[c for _, _, c in FRACTIONS], alpha=0.75,
                 labels=[label if first_panel else "_" + label for _, label, _ in FRACTIONS])
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)


def fig_readout(res, outdir):
    rows, splits = _rows("readout", res)
    keys = _other_keys(rows)
    paths = []
    for fixed in _combinations(rows, keys):
        fig, axes = style.subplots(len(rows), len(splits))
        for i, (row_name, pts, prefix) in enumerate(rows):
            sub = pts.subset(F._matches(pts, fixed)) if fixed else pts
            for j, (split, title) in enumerate(splits):
                ax = axes[i, j]
                ax.set_title(f"{row_name}: {title}")
                if len(sub) == 0:
                    continue
                fractions, x = {}, None
                for metric, _, _ in FRACTIONS:
                    values = selected_values(sub, split, metric) if not prefix else \
                        _view_selected(sub, prefix, split, metric)
                    table = F._match_baselines_to_studied_p(mean_se(sub, values), None)
                    n = table.params[F.N_KEY]
                    if len(np.unique(n)) != len(n):
                        F._refuse("readout", res, "besides N and p_rel other parameters vary within a row; "
                                                  "this should not happen (report it)")
                    order = np.argsort(n)
                    x = np.log2(n[order])
                    fractions[metric] = table.mean[order]
                _stack(ax, x, fractions, i == 0 and j == 0)
                if i == len(rows) - 1:
                    ax.set_xlabel(r"$\log_2 N$")
                if j == 0:
                    ax.set_ylabel("fraction of predictions")
        style.legend_below(fig, axes)
        suffix = "".join(f"_{k.split('.')[-1]}{F._fmt(v)}" for k, v in fixed.items())
        setting = ", ".join(f"{F._short(k)} = {F._fmt(v)}" for k, v in fixed.items())
        paths.append(F._save(fig, outdir, f"readout{suffix}.png",
                             "ICL/IWL readout at the selected checkpoint" + (f" ({setting})" if setting else ""),
                             res.subset(F._matches(res, fixed)) if fixed else res))
    return paths


def _view_selected(pts, prefix, split, metric):
    stored = f"{prefix}selected/{split}/{metric}"
    return pts.field(stored).astype(np.float64)


def fig_readout_steps(res, outdir):
    rows, splits = _rows("readout_steps", res)
    fig, axes = style.subplots(len(rows), len(splits))
    for i, (row_name, pts, prefix) in enumerate(rows):
        n = pts.params[F.N_KEY]
        candidates = np.flatnonzero(n == n.max())
        k = candidates[np.argmin(pts.seeds[candidates])]
        steps = pts.field(f"{prefix}checkpoint/step")[k].astype(np.float64)
        ok = steps >= 0
        for j, (split, title) in enumerate(splits):
            ax = axes[i, j]
            fractions = {m: pts.field(f"{prefix}eval/{split}/{m}")[k].astype(np.float64)[ok] for m, _, _ in FRACTIONS}
            _stack(ax, steps[ok], fractions, i == 0 and j == 0)
            ax.set_title(f"{row_name}: {title}\nN = {int(n[k]):,}, seed {int(pts.seeds[k])}", fontsize=8.5)
            if i == len(rows) - 1:
                ax.set_xlabel("step")
            if j == 0:
                ax.set_ylabel("fraction of predictions")
    style.legend_below(fig, axes)
    return [F._save(fig, outdir, "readout_steps.png", "ICL/IWL readout over checkpoints (largest N drawn, lowest seed; choose "
                    "the point with plot.py --where)", res)]


# This family's figures by name; figures.py, the registry, lists every family's FIGURES.
FIGURES = {
    "readout": F.Figure(fig_readout, "noisy_inputs",
                        "ICL/IWL readout: stacked IC / IW / other fractions on OOBD splits vs log2 N",
                        hint=" (or any transformer or gated job run since the readout fields exist)"),
    "readout_steps": F.Figure(fig_readout_steps, "noisy_inputs",
                              "ICL/IWL readout vs checkpoint step, one point per row (largest N)",
                              hint=" (or any transformer or gated job run since the readout fields exist)"),
}
