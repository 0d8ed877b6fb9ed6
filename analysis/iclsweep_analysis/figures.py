"""The figures of PAPER-SPEC §6.2 (and the theory figure of §4.6), drawn from one results file.

Every figure function takes (res, outdir) and returns the list of PNG paths it wrote, or raises
FigureUnavailable naming the job file that produces the data it needs. Conventions (§6.1): x = log2 N,
y = 0-1 error on [-0.1, 1.1], a grey chance line at (C-1)/C, mean over seeds with a shaded +-SE band,
line styles IW '--', IC '-.', Transformer ':'.
"""
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from . import style  # noqa: E402
from .aggregate import is_seed_key, last_argmin, mean_se, mean_se_curves, selected_values, take_at  # noqa: E402
from .load import MissingData, hashable  # noqa: E402

IW, IC, TF = "IW Predictor", "IC Predictor", "Transformer"
MODEL_STYLE = {IW: "--", IC: "-.", TF: ":"}
MODEL_COLOR = {IW: "tab:blue", IC: "tab:red", TF: "black"}
ROLE_ORDER = {IW: 0, IC: 1, TF: 2}
VALUE_COLORS = plt.get_cmap("tab10").colors

N_KEY = "data.dataset_size"
P_REL = "data.p_relevant_context"
SIGMA = "data.input_noise_std"
P_HIGH = "data.p_high"
NUM_LOW = "data.num_low_prob_classes"
NUM_CONTEXTS = "data.num_contexts"
NUM_RELEVANT = "data.num_relevant_contexts"
LABEL_NOISE = "data.label_noise"
EVAL_P = "eval.default_p_relevant_context"  # p' of the `default` splits (§1.8)

ROWS_IBD_OOBD = (("IBD", ""), ("OOBD", "-flip_label"))
GROUPS = (("$C_H$", "high_prob"), ("$C_L$", "low_prob"))


class FigureUnavailable(Exception):
    """The results file lacks what a figure needs; the message names the job that produces it."""


def _refuse(fig, res, why):
    spec = FIGURES[fig]
    paper = ", ".join(f"jobs/paper/{job}.ini" for job in spec.paper_jobs)
    lite = ", ".join(f"jobs/lite/{job}.ini" for job in spec.lite_jobs)
    raise FigureUnavailable(f"figure '{fig}' cannot be drawn from {res.name}: {why}. Produce its data with "
                            f"{paper} (quick version: {lite}){spec.hint}")


def role_of(p_relevant):
    """§1.8: p_rel = 0 is the IW baseline, 1 the IC baseline, anything else the transformer under study."""
    if p_relevant == 0.0:
        return IW
    if p_relevant == 1.0:
        return IC
    return TF


def _fmt(value):
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


# ---- data: curves of mean +- SE selected error over log2 N -------------------------------------

class Curve:
    def __init__(self, x, mean, se, chance):
        self.x, self.mean, self.se, self.chance = x, mean, se, chance


def _transformers(fig, res):
    tf = res.of_kind("transformer")
    if len(tf) == 0:
        _refuse(fig, res, "it has no done transformer points")
    if N_KEY not in tf.params:
        _refuse(fig, res, f"its points have no parameter {N_KEY}")
    return tf


def _require_swept(fig, tf, key, minimum=2):
    """The figure's own key must be swept: >= `minimum` values, or named in the file's grid keys."""
    if key not in tf.params:
        _refuse(fig, tf, f"it has no parameter {key}")
    values = _values(tf, key)
    if len(values) < minimum and key not in tf.grid_keys:
        _refuse(fig, tf, f"{key} is not swept (values: {', '.join(map(_fmt, values)) or 'unset'})")
    return values


def _values(res, key):
    column = res.params[key]
    values = np.unique(column[~np.isnan(column)]) if column.dtype.kind == "f" else np.unique(column)
    return list(values)


def _is(res, key, value):
    """(n,) bool: the points whose `key` equals `value` (None = unset)."""
    return np.array([v == value for v in hashable(res.params[key])], dtype=bool)


def _matches(res, fixed):
    mask = np.ones(len(res), dtype=bool)
    for k, v in fixed.items():
        mask &= _is(res, k, v)
    return mask


def _match_baselines_to_studied_p(table, line_key):
    """§1.8: a baseline may be stored once per p' of the `default` splits (eval.default_p_relevant_context).

    Keep, for each row, only the p' that matches what the figure compares it with: the studied
    transformer's p_rel for a baseline (when there is exactly one), the row's own p_rel otherwise.
    Nothing to do when the key is absent or takes a single value.
    """
    if EVAL_P not in table.params or P_REL not in table.params:
        return table
    p_eval, p_rel = table.params[EVAL_P], table.params[P_REL]
    if len(set(np.nan_to_num(p_eval, nan=-1.0))) < 2:
        return table
    effective = np.where(np.isnan(p_eval), p_rel, p_eval)
    studied = {p for p in p_rel if role_of(p) == TF}
    target = p_rel.copy()
    if line_key != P_REL and len(studied) == 1:
        target[[role_of(p) != TF for p in p_rel]] = studied.pop()
    return table.rows(np.isclose(effective, target))


def curves(fig, tf, split, line_key=None, fixed=None, by="loss", omit_log2n=()):
    """{(role, line value): Curve} of the selected 0-1 error on `split` over the transformer points `tf`.

    With line_key = P_REL every point is a 'Transformer' line (the p_relevant sweep); otherwise the role
    comes from p_rel (§1.8). `fixed` restricts to {key: value}. Refuses when other parameters vary too.
    """
    try:
        values = selected_values(tf, split, "error", by)
    except MissingData as e:
        _refuse(fig, tf, str(e).split(": ", 1)[-1])
    table = mean_se(tf, values)
    if fixed:
        table = table.match(fixed)
    table = _match_baselines_to_studied_p(table, line_key)
    p_rel = table.params.get(P_REL, np.full(len(table), 0.9))
    roles = [TF if line_key == P_REL else role_of(p) for p in p_rel]
    lines = table.params[line_key] if line_key else [None] * len(table)
    n = table.params[N_KEY]
    num_classes = table.params.get("data.num_high_prob_classes", np.full(len(table), 5.0)) + \
        table.params.get("data.num_low_prob_classes", np.full(len(table), 5.0))
    out = {}
    for role, line in sorted(set(zip(roles, lines)), key=lambda rl: (ROLE_ORDER[rl[0]], rl[1] if rl[1] is not None else 0)):
        rows = np.array([r == role and (line is None or v == line) for r, v in zip(roles, lines)])
        x = np.log2(n[rows])
        if len(np.unique(x)) != len(x):
            extra = [k for k in tf.varying_keys() if k not in (N_KEY, P_REL, EVAL_P, line_key)
                     and k not in (fixed or {}) and not is_seed_key(k)]
            _refuse(fig, tf, f"besides N, {P_REL}{' and ' + line_key if line_key else ''}, the parameters "
                             f"{', '.join(extra) or '(unknown)'} also vary, so a curve is ambiguous")
        keep = ~np.isin(np.round(x), omit_log2n) if len(omit_log2n) and len(x) > 1 else np.ones(len(x), bool)
        order = np.argsort(x[keep])
        out[(role, line)] = Curve(x[keep][order], table.mean[rows][keep][order], table.se[rows][keep][order],
                                  (num_classes[rows][0] - 1) / num_classes[rows][0])
    return out


# ---- drawing helpers ---------------------------------------------------------------------------------

def _plot(ax, curve, label, linestyle, color):
    ax.plot(curve.x, curve.mean, linestyle=linestyle, color=color, label=label, marker=".", markersize=4)
    ax.fill_between(curve.x, curve.mean - curve.se, curve.mean + curve.se, color=color, alpha=0.2, linewidth=0)


def _error_axes(ax, title, chances, xlabel=True, ylabel=True):
    for c in sorted(set(round(float(c), 6) for c in chances)):
        ax.axhline(c, color="grey", linewidth=0.8, alpha=0.7)
    ax.set_ylim(-0.1, 1.1)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if xlabel:
        ax.set_xlabel(r"$\log_2 N$")
    if ylabel:
        ax.set_ylabel("0-1 error")


def _subplots(nrows, ncols):
    return style.subplots(nrows, ncols)


def _save(fig, outdir, filename, title, res=None):
    """style.save with the provenance line (steps, seeds, p', protocol) of the points `res` drawn."""
    return style.save(fig, outdir, filename, title, style.describe(res) if res is not None else "")


def _legend(axes):
    """One figure legend below the panels (never over the data)."""
    style.legend_below(np.ravel(axes)[0].figure, axes)


def _model_panels(fig_name, tf, axes_and_splits, fixed=None, by="loss", omit_log2n=()):
    """Draws IW / IC / Transformer on each (ax, split, title) panel."""
    for ax, split, title, xl, yl in axes_and_splits:
        found = curves(fig_name, tf, split, fixed=fixed, by=by, omit_log2n=omit_log2n)
        for (role, _), c in found.items():
            _plot(ax, c, role, MODEL_STYLE[role], MODEL_COLOR[role])
        _error_axes(ax, title, [c.chance for c in found.values()], xl, yl)


def _value_panel(fig_name, tf, ax, split, key, title, role=TF, values=None, styles=None, by="loss", omit_log2n=(),
                 fixed=None, xl=True, yl=True):
    """One line per value of `key` for `role` on `split`."""
    found = curves(fig_name, tf, split, line_key=key, fixed=fixed, by=by, omit_log2n=omit_log2n)
    chances = []
    for i, value in enumerate(values if values is not None else _values(tf, key)):
        c = found.get((role, value))
        if c is None:
            continue
        linestyle = styles[i % len(styles)] if styles else MODEL_STYLE[role]
        _plot(ax, c, f"{_short(key)} = {_fmt(value)}", linestyle, VALUE_COLORS[i % len(VALUE_COLORS)])
        chances.append(c.chance)
    _error_axes(ax, title, chances, xl, yl)


def _short(key):
    return {SIGMA: r"$\sigma$", P_HIGH: r"$p_{high}$", P_REL: r"$p_{rel}$", NUM_LOW: r"$|C_L|$",
            NUM_CONTEXTS: "L", NUM_RELEVANT: r"$L_{rel}$", LABEL_NOISE: r"$\varepsilon$"}.get(key, key)


def _grid_by_value(fig_name, tf, key, filename, title, by="loss", omit_log2n=(), roles=(IW, IC, TF), outdir="."):
    """2 x n: rows IBD / OOBD on eval-default-none[-flip_label], one column per value of `key`."""
    values = _values(tf, key)
    fig, axes = _subplots(2, len(values))
    for j, value in enumerate(values):
        for i, (row, suffix) in enumerate(ROWS_IBD_OOBD):
            ax = axes[i, j]
            split = "eval-default-none" + suffix
            if roles == (TF,):
                found = curves(fig_name, tf, split, line_key=key, fixed={key: value}, by=by, omit_log2n=omit_log2n)
            else:
                found = curves(fig_name, tf, split, fixed={key: value}, by=by, omit_log2n=omit_log2n)
            for (role, _), c in found.items():
                if role in roles:
                    _plot(ax, c, role, MODEL_STYLE[role], MODEL_COLOR[role])
            _error_axes(ax, f"{row}, {_short(key)} = {_fmt(value)}", [c.chance for c in found.values()],
                        i == 1, j == 0)
    _legend(axes)
    return _save(fig, outdir, filename, title, tf)


# ---- the figures ---------------------------------------------------------------------------------

def fig_noisy_inputs_v1(res, outdir):
    """v1 Fig. 2 layout, one figure per sigma: rows IBD/OOBD; columns Rel C_H, Rel C_L, Irrel C_H, Irrel C_L."""
    tf = _transformers("noisy_inputs_v1", res)
    paths = []
    # One figure per sigma, so a single sigma is enough (the README main job has only sigma = 0.2).
    for sigma in _require_swept("noisy_inputs_v1", tf, SIGMA, minimum=1):
        fig, axes = _subplots(2, 4)
        panels = []
        for i, (row, suffix) in enumerate(ROWS_IBD_OOBD):
            for j, (rel, rel_name) in enumerate((("Rel", "relevant_context"), ("Irrel", "irrelevant_context"))):
                for g, (group, cond) in enumerate(GROUPS):
                    col = 2 * j + g
                    panels.append((axes[i, col], f"eval-{rel_name}-{cond}{suffix}", f"{row}: {rel} {group}",
                                   i == 1, col == 0))
        _model_panels("noisy_inputs_v1", tf, panels, fixed={SIGMA: sigma})
        _legend(axes)
        lengths = ", ".join(map(_fmt, _values(tf, NUM_CONTEXTS))) if NUM_CONTEXTS in tf.params else "?"
        paths.append(_save(fig, outdir, f"noisy_inputs_v1_sigma{_fmt(sigma)}.png",
                           rf"Input noise $\sigma$ = {_fmt(sigma)} (L = {lengths})", tf.subset(_is(tf, SIGMA, sigma))))
    return paths


def fig_noisy_inputs_v3(res, outdir):
    """v3 layout: left 2x2 Transformer per sigma (rows IBD/OOBD, cols C_H/C_L); right 2x2 baselines' IBD."""
    tf = _transformers("noisy_inputs_v3", res)
    sigmas = [s for s in _require_swept("noisy_inputs_v3", tf, SIGMA) if not math.isclose(s, 0.02)]  # §5.1: figures omit 0.02
    fig, axes = _subplots(2, 4)
    for g, (group, cond) in enumerate(GROUPS):
        for i, (row, suffix) in enumerate(ROWS_IBD_OOBD):
            _value_panel("noisy_inputs_v3", tf, axes[i, g], f"eval-default-{cond}{suffix}", SIGMA,
                         f"Transformer {row}: {group}", TF, sigmas, xl=i == 1, yl=g == 0)
        for i, role in enumerate((IW, IC)):
            _value_panel("noisy_inputs_v3", tf, axes[i, 2 + g], f"eval-default-{cond}", SIGMA,
                         f"{role.replace('Predictor', 'Pred.')} IBD: {group}", role, sigmas, xl=i == 1, yl=False)
    _legend(axes)
    return [_save(fig, outdir, "noisy_inputs_v3.png", "Input noise (v3 layout)", tf)]


# §5.1: the p_high and p_relevant figures omit N = 2^16.
OMIT_2_16 = (16,)


def fig_p_high(res, outdir):
    tf = _transformers("p_high", res)
    values = _require_swept("p_high", tf, P_HIGH)
    fig, axes = _subplots(1, 1)
    _value_panel("p_high", tf, axes[0, 0], "eval-default-none-flip_label", P_HIGH, "Transformer OOBD",
                 values=values, styles=("--", "-.", ":"), omit_log2n=OMIT_2_16)
    _legend(axes)
    return [_save(fig, outdir, "p_high.png", r"$p_{high}$ sweep: Transformer OOBD", tf),
            _grid_by_value("p_high", tf, P_HIGH, "p_high_grid.png", r"$p_{high}$ sweep", omit_log2n=OMIT_2_16,
                           outdir=outdir)]


def is_p_relevant_sweep(tf):
    """True when p_rel takes values beyond the {0, 0.9, 1} baseline crossing: the p_relevant figure's data."""
    if P_REL not in tf.params or tf.params[P_REL].dtype.kind != "f":
        return False
    return not all(any(math.isclose(v, b) for b in (0.0, 0.9, 1.0)) for v in _values(tf, P_REL))


def selection_rule(tf):
    """(by, why): the checkpoint selection the figures use for these transformer points (§6.1): the
    pretraining 0-1 error for a p_relevant sweep (as its figure), else the pretraining loss."""
    if is_p_relevant_sweep(tf):
        return "error", "a p_rel sweep: selected by the pretraining 0-1 error, as the p_relevant figure (§6.1)"
    return "loss", "selected by the pretraining loss (§6.1)"


def fig_p_relevant(res, outdir):
    tf = _transformers("p_relevant", res)
    values = _require_swept("p_relevant", tf, P_REL)
    if not is_p_relevant_sweep(tf):
        _refuse("p_relevant", tf, f"{P_REL} only takes the baseline crossing values {', '.join(map(_fmt, values))}")
    fig, axes = _subplots(1, 1)
    # §6.1: this figure selects the checkpoint by the minimal pretraining 0-1 error.
    _value_panel("p_relevant", tf, axes[0, 0], "eval-default-none-flip_label", P_REL, "Transformer OOBD",
                 values=values, by="error", omit_log2n=OMIT_2_16)
    _legend(axes)
    return [_save(fig, outdir, "p_relevant.png", r"$p_{rel}$ sweep: Transformer OOBD (selection by pretraining error)", tf),
            _grid_by_value("p_relevant", tf, P_REL, "p_relevant_grid.png", r"$p_{rel}$ sweep", by="error",
                           omit_log2n=OMIT_2_16, roles=(TF,), outdir=outdir)]


def fig_num_low_freq(res, outdir):
    tf = _transformers("num_low_freq", res)
    values = _require_swept("num_low_freq", tf, NUM_LOW)
    fig, axes = _subplots(1, 1)
    _value_panel("num_low_freq", tf, axes[0, 0], "eval-relevant_context-low_prob-flip_label", NUM_LOW,
                 r"Transformer OOBD: Rel $C_L$", values=values)
    _legend(axes)
    paths = [_save(fig, outdir, "num_low_freq.png", r"$|C_L|$ sweep", tf)]
    fig, axes = _subplots(2, 2)
    for i, (row, suffix) in enumerate(ROWS_IBD_OOBD):
        for g, (group, cond) in enumerate(GROUPS):
            _value_panel("num_low_freq", tf, axes[i, g], f"eval-relevant_context-{cond}{suffix}", NUM_LOW,
                         f"Transformer {row}: Rel {group}", values=values, xl=i == 1, yl=g == 0)
    _legend(axes)
    paths.append(_save(fig, outdir, "num_low_freq_2x2.png", r"$|C_L|$ sweep", tf))
    return paths


def fig_num_contexts(res, outdir):
    tf = _transformers("num_contexts", res)
    values = _require_swept("num_contexts", tf, NUM_CONTEXTS)
    fig, axes = _subplots(1, 1)
    _value_panel("num_contexts", tf, axes[0, 0], "eval-default-none-flip_label", NUM_CONTEXTS,
                 "Transformer OOBD", values=values)
    _legend(axes)
    return [_save(fig, outdir, "num_contexts.png", "Context length L", tf)]


def fig_num_relevant_contexts(res, outdir):
    tf = _transformers("num_relevant_contexts", res)
    values = _require_swept("num_relevant_contexts", tf, NUM_RELEVANT)
    fig, axes = _subplots(1, 3)
    for j, role in enumerate((IW, IC, TF)):
        _value_panel("num_relevant_contexts", tf, axes[0, j], "eval-default-none-flip_label", NUM_RELEVANT,
                     f"{role} OOBD", role, values, yl=j == 0)
    _legend(axes)
    return [_save(fig, outdir, "num_relevant_contexts.png", r"Relevant contexts $L_{rel}$", tf),
            _grid_by_value("num_relevant_contexts", tf, NUM_RELEVANT, "num_relevant_contexts_grid.png",
                           r"Relevant contexts $L_{rel}$", outdir=outdir)]


def fig_context_length(res, outdir):
    """§6.2 "Fig. 4", 1x4: IW, IC and Transformer OOBD per L_rel (L = 4), then the Transformer per L. The two
    halves come from two jobs (num_relevant_contexts: L_rel set; num_contexts: L_rel unset): pass both files."""
    tf = _transformers("context_length", res)
    if NUM_RELEVANT not in tf.params or NUM_CONTEXTS not in tf.params:
        _refuse("context_length", tf, f"its points lack {NUM_RELEVANT} or {NUM_CONTEXTS}")
    l_rel = tf.params[NUM_RELEVANT]
    relevant = tf.subset(~np.isnan(l_rel)) if l_rel.dtype.kind == "f" else tf.subset(l_rel != "")
    lengths = tf.subset(np.isnan(l_rel)) if l_rel.dtype.kind == "f" else tf.subset(l_rel == "")
    if len(relevant) == 0 or len(lengths) == 0:
        _refuse("context_length", tf, f"it needs points with {NUM_RELEVANT} set (an L_rel sweep) and points without "
                                      f"it (an L sweep); found {len(relevant)} and {len(lengths)}. Pass both results "
                                      "files: plot.py REL.h5 LEN.h5 --figure context_length")
    rel_values = _require_swept("context_length", relevant, NUM_RELEVANT)
    len_values = _require_swept("context_length", lengths, NUM_CONTEXTS)
    fig, axes = _subplots(1, 4)
    split = "eval-default-none-flip_label"
    context = ", ".join(f"L = {_fmt(v)}" for v in _values(relevant, NUM_CONTEXTS))
    for j, role in enumerate((IW, IC, TF)):
        _value_panel("context_length", relevant, axes[0, j], split, NUM_RELEVANT, f"{role} OOBD ({context})", role,
                     rel_values, yl=j == 0)
    _value_panel("context_length", lengths, axes[0, 3], split, NUM_CONTEXTS, "Transformer OOBD per L", TF,
                 len_values, styles=("-",), yl=False)
    _legend(axes)
    return [_save(fig, outdir, "context_length.png", r"Context length: relevant contexts $L_{rel}$ and length L",
                  tf)]


def fig_noisy_labels(res, outdir):
    tf = _transformers("noisy_labels", res)
    _require_swept("noisy_labels", tf, LABEL_NOISE)
    return [_grid_by_value("noisy_labels", tf, LABEL_NOISE, "noisy_labels.png", "Label noise", outdir=outdir)]


# ---- theory (§4.6): drawn from the theory points' stored curves ------------------------------------

def _first_field(res, *paths):
    for p in paths:
        if res.has(p):
            return res.field(p).astype(np.float64)
    return None


def _flag(res, key):
    """(n,) bool of a boolean parameter stored as a number or as text ('1', 'true', 'on')."""
    values = res.param(key, default="0")
    if values.dtype.kind == "f":
        return values > 0
    return np.isin(np.char.lower(values.astype(str)), ("1", "true", "yes", "on"))


def fig_theory(res, outdir):
    th = res.of_kind("theory")
    if len(th) == 0:
        _refuse("theory", res, "it has no done theory points (run.model_kind = theory)")
    x = _first_field(th, "theory/x", "theory/log2_nx")
    iw = _first_field(th, "theory/iw_curve")
    ic_lower = _first_field(th, "theory/ic_lower")
    if x is None or iw is None or ic_lower is None:
        _refuse("theory", res, "its theory points lack /points/theory/{x, iw_curve, ic_lower}")
    iw_lower = _first_field(th, "theory/iw_band_lower", "theory/iw_lower")
    iw_upper = _first_field(th, "theory/iw_band_upper", "theory/iw_upper")
    ic_upper = _first_field(th, "theory/ic_upper")
    y_limit = _first_field(th, "theory/y_limit")
    versions = th.param("theory.version", default="v2").astype(str)
    natural_log = _flag(th, "theory.axis_natural_log") | _flag(th, "theory.compat_reference")
    paths = []
    for p in range(len(th)):
        version = versions[p]
        k_max = int(np.sum(np.isfinite(ic_lower[p])))  # the field is NaN-padded to the widest L
        ncols = min(4, k_max)
        fig, axes = style.subplots(math.ceil(k_max / ncols), ncols, sharey=True)
        finite = np.isfinite(x[p]) & np.isfinite(iw[p])
        xs = x[p][finite]
        for k in range(k_max):
            ax = axes.flat[k]
            if version == "v1":  # IW upper bound solid; IC lower bound only (§4.6b)
                ax.plot(xs, iw[p][finite], color="#0173b2", label="IW bound")
                ax.axhline(ic_lower[p, k], color="red", linestyle="--", label="IC lower bound")
            else:
                ax.plot(xs, iw[p][finite], color="blue", linestyle="--", label="IW")
                if iw_lower is not None and iw_upper is not None:
                    ax.fill_between(xs, np.maximum(iw_lower[p][finite], 0.0), iw_upper[p][finite], color="blue",
                                    alpha=0.15, linewidth=0)
                ax.axhline(ic_lower[p, k], color="red", linestyle="--", label="IC bounds")
                if ic_upper is not None:
                    ax.axhline(ic_upper[p, k], color="red", linestyle="--")
                    ax.axhspan(ic_lower[p, k], ic_upper[p, k], color="red", alpha=0.15, linewidth=0)
            ax.set_title(f"k = {k}")
            ax.grid(alpha=0.3)
        for ax in axes.flat[k_max:]:
            ax.set_visible(False)
        if y_limit is not None and np.all(np.isfinite(y_limit[p])):
            low, high = y_limit[p]
        else:
            low, high = -0.01, max(np.nanmax(ic_lower[p]), np.nanmax(iw[p])) + 0.1
        axes.flat[0].set_ylim(low, high)
        for ax in axes[-1]:
            ax.set_xlabel(r"$\ln N_x$ (reference axis, Q9)" if natural_log[p] else r"$N_x$ (in $\log_2$)")
        for ax in axes[:, 0]:
            ax.set_ylabel("Loss")
        style.legend_below(fig, axes)
        same = np.sum(versions == version)
        reference = _flag(th, "theory.compat_reference")[p]
        if same == 1:
            filename = f"theory_{version}.png"
        elif same == 2 and np.sum(_flag(th, "theory.compat_reference")[versions == version]) == 1:
            filename = f"theory_{version}_reference.png" if reference else f"theory_{version}.png"  # the job's grid
        else:
            filename = f"theory_{version}_{th.ids[p]}.png"
        paths.append(_save(fig, outdir, filename, f"Theory ({version}): IW vs IC loss, L = {k_max}"))
    return paths


# ---- stylized g/h/alpha model (§3, §5.2): run.model_kind = gated --------------------------------------

# Where each line of the stylized figure is read: (selected field, per-checkpoint curves, index field) per
# S = split. g and h come from the mixture stage (the g and h trained jointly with alpha) read each at its own
# selected checkpoint ("own", the default: the last minimal pretraining loss of g alone / h alone over the
# mixture's checkpoints, as the authors' figures read them), from the mixture stage at the mixture's selected
# checkpoint ("mixture"), or from their own P0 runs ("p0", each at its own selected checkpoint).
GH_SOURCES = {
    "own": {"g": ("alpha/own_selected_iw/{S}/error", "alpha/eval_iw/{S}/error", "alpha/own_selected_iw/index"),
            "h": ("alpha/own_selected_ic/{S}/error", "alpha/eval_ic/{S}/error", "alpha/own_selected_ic/index")},
    "mixture": {"g": ("alpha/selected_iw/{S}/error", "alpha/eval_iw/{S}/error", "alpha/selected/index"),
                "h": ("alpha/selected_ic/{S}/error", "alpha/eval_ic/{S}/error", "alpha/selected/index")},
    "p0": {"g": ("iw/selected/{S}/error", "iw/eval/{S}/error", "iw/selected/index"),
           "h": ("ic/selected/{S}/error", "ic/eval/{S}/error", "ic/selected/index")},
}
GH_TEXT = {"own": "g, h of the mixture, each at its own selected checkpoint",
           "mixture": "g, h at the mixture's selected checkpoint", "p0": "g, h from P0"}
# Files written before the engine stored the own indices: recompute them from these curves (§6.1's rule).
OWN_SELECTION_CURVES = {"alpha/own_selected_iw/index": "alpha/eval_iw/pretraining/loss",
                        "alpha/own_selected_ic/index": "alpha/eval_ic/pretraining/loss"}
PROTOCOL_TEXT = {"p1": r"P1: $\alpha$ on frozen P0 g, h", "p2": r"P2: $\alpha$, g, h jointly from P0's g, h",
                 "p2_fresh": r"P2-fresh: $\alpha$, g, h jointly from a fresh init",
                 "p3": r"P3: $\alpha$ on frozen P0 g, h, SGD"}
MIXTURE_ERROR = ("alpha/selected/{S}/error", "alpha/eval/{S}/error", "alpha/selected/index")
ALPHA_METRICS = ("p_iwl", "p_iwl_ge_half")
# Keys of the §5.2 stylized sweeps, with the short names used in the file names.
STYLIZED_FILE_KEYS = {SIGMA: "sigma", P_HIGH: "p_high", NUM_CONTEXTS: "L", NUM_LOW: "Lo"}
STYLIZED_LINES = (  # (line id, label, style, colour)
    ("g", "error of g (IW)", "--", MODEL_COLOR[IW]),
    ("h", "error of h (IC)", "-.", MODEL_COLOR[IC]),
    ("f", "error of f (mixture)", ":", MODEL_COLOR[TF]),
    ("alpha", r"$\alpha$ = p_iwl (right axis)", "-", "tab:green"),
)
ALPHA_COLOR = "tab:green"
V1_COLUMNS = tuple((rel, rel_name, group, cond) for rel, rel_name in (("Rel", "relevant_context"), ("Irrel", "irrelevant_context"))
                   for group, cond in GROUPS)


def _stylized_values(fig, gated, source, split):
    """(n,) the value of one line on `split` at the selected checkpoint: the stored scalar, or the curve there."""
    selected, curve, index = (t.format(S=split) for t in source)
    if gated.has(selected):
        return gated.field(selected).astype(np.float64)
    if gated.has(curve) and gated.has(index):
        return take_at(gated.field(curve), gated.field(index).astype(np.int64))
    if gated.has(curve) and gated.has(OWN_SELECTION_CURVES.get(index, "")):
        return take_at(gated.field(curve), last_argmin(gated.field(OWN_SELECTION_CURVES[index])))
    _refuse(fig, gated, f"its gated points have neither /points/{selected} nor /points/{curve} with /points/{index}")


def _protocol_text(gated, fixed):
    """The mixture's training protocol (model.gated_protocol) of the points matching `fixed`, for the title."""
    if "model.gated_protocol" in fixed or "model.gated_protocol" not in gated.params:
        return None  # named among the setting values already, or not recorded
    values = sorted({str(v) for v in hashable(gated.params["model.gated_protocol"])})
    return ", ".join(PROTOCOL_TEXT.get(v, v) for v in values)


def _setting_keys(res):
    """Parameters that define one figure/panel: those that vary (or the job swept), except N and seeds."""
    keys = [k for k in res.varying_keys() if k != N_KEY and not is_seed_key(k)]
    keys += [k for k in res.grid_keys if k in res.params and k not in keys and k != N_KEY and not is_seed_key(k)]
    return keys


def _combinations(res, keys):
    """The distinct value tuples of `keys` over the points, sorted (unset values last)."""
    if not keys:
        return [()]
    columns = [hashable(res.params[k]) for k in keys]
    return sorted(set(zip(*columns)), key=lambda row: tuple((v is None, 0 if v is None else v) for v in row))


def _stylized_curve(fig, res, table, fixed, chance):
    rows = table.match(fixed)
    x = np.log2(rows.params[N_KEY])
    if len(np.unique(x)) != len(x):  # cannot happen (fixed holds every varying key); a guard, not a rule
        _refuse(fig, res, "two settings share one N after fixing " + ", ".join(fixed))
    order = np.argsort(x)
    return Curve(x[order], rows.mean[order], rows.se[order], chance)


def _gated(fig, res):
    gated = res.of_kind("gated")
    if len(gated) == 0:
        _refuse(fig, res, "it has no done gated points (run.model_kind = gated)")
    if N_KEY not in gated.params:
        _refuse(fig, gated, f"its gated points have no parameter {N_KEY}")
    return gated


def _stylized_sources(gh, alpha_metric):
    if gh not in GH_SOURCES:
        raise ValueError(f"stylized: gh = '{gh}'; use one of {', '.join(GH_SOURCES)}")
    if alpha_metric not in ALPHA_METRICS:
        raise ValueError(f"stylized: alpha_metric = '{alpha_metric}'; use one of {', '.join(ALPHA_METRICS)}")
    return dict(GH_SOURCES[gh], f=MIXTURE_ERROR,
                alpha=(f"alpha/selected/{{S}}/{alpha_metric}", f"alpha/eval/{{S}}/{alpha_metric}", "alpha/selected/index"))


def _matching(res, fixed):
    """Boolean mask of the points matching {key: value} (NaN-safe: unset is None)."""
    here = np.ones(len(res), bool)
    for k, v in fixed.items():
        here &= np.array([h == v for h in hashable(res.params[k])])
    return here


def _chance(res, fixed):
    """(C-1)/C of the points matching {key: value}."""
    here = _matching(res, fixed)
    c = float(res.param("data.num_high_prob_classes", 5.0)[here][0] + res.param("data.num_low_prob_classes", 5.0)[here][0])
    return (c - 1) / c


def stylized_settings(res):
    """(keys, [value tuples]): the settings of the gated points, one stylized figure each (keys may be [])."""
    gated = _gated("stylized", res)
    keys = _setting_keys(gated)
    return keys, _combinations(gated, keys)


def stylized_curves(res, split, fixed=None, gh="own", alpha_metric="p_iwl"):
    """{'g', 'h', 'f', 'alpha': Curve} over log2 N on `split` for the gated points matching `fixed` {key: value}:
    mean +- SE over seeds of the error of g, of h, of the mixture f, and of alpha (alpha_metric). f and alpha
    are read at the mixture's selected checkpoint; g and h (GH_SOURCES) with gh = 'own': the mixture's g and h,
    each at its own selected checkpoint; 'mixture': at the mixture's; 'p0': from their own P0 runs."""
    sources = _stylized_sources(gh, alpha_metric)
    gated = _gated("stylized", res)
    fixed = dict(fixed or {})
    chance = _chance(gated, fixed)
    return {line: _stylized_curve("stylized", gated, mean_se(gated, _stylized_values("stylized", gated, src, split)),
                                  fixed, chance) for line, src in sources.items()}


def fig_stylized(res, outdir, gh="own", alpha_metric="p_iwl", show_mixture=True):
    """§6.2 "Stylized g/h/alpha": per value of the swept key, the v1 2x4 layout (rows IBD/OOBD; columns Rel C_H,
    Rel C_L, Irrel C_H, Irrel C_L) with the errors of g and h, the mixture's error and alpha vs log2 N.

    gh = 'own' (default): g and h as trained jointly with alpha, each at its own selected checkpoint (the
    authors' reading); 'mixture': at the mixture's selected checkpoint; 'p0': g and h from their own P0 runs.
    alpha_metric = 'p_iwl' (mean alpha) or 'p_iwl_ge_half'.
    """
    _stylized_sources(gh, alpha_metric)  # bad options fail before anything is read
    keys, combos = stylized_settings(res)
    lines = [line for line in STYLIZED_LINES if show_mixture or line[0] != "f"]
    # Check every field first, so that a refusal leaves no partial set of PNGs behind.
    found = {(combo, i, col): stylized_curves(res, f"eval-{rel_name}-{cond}{suffix}", dict(zip(keys, combo)), gh,
                                              alpha_metric)
             for combo in combos for i, (_, suffix) in enumerate(ROWS_IBD_OOBD)
             for col, (_, rel_name, _, cond) in enumerate(V1_COLUMNS)}
    paths = []
    for combo in combos:
        fixed = dict(zip(keys, combo))
        fig, axes = _subplots(2, 4)
        for i, (row, _) in enumerate(ROWS_IBD_OOBD):
            for col, (rel, _, group, _) in enumerate(V1_COLUMNS):
                ax, panel = axes[i, col], found[(combo, i, col)]
                # alpha is a gate weight, not an error: it gets its own right-hand axis (and no chance line).
                twin = style.twin_axis(ax)
                for line, label, linestyle, color in lines:
                    _plot(twin if line == "alpha" else ax, panel[line], label, linestyle, color)
                _error_axes(ax, f"{row}: {rel} {group}", [panel["g"].chance], i == 1, col == 0)
                twin.set_ylim(-0.1, 1.1)
                twin.tick_params(axis="y", colors=ALPHA_COLOR)
                if col == len(V1_COLUMNS) - 1:
                    twin.set_ylabel(r"$\alpha$ (weight on g)", color=ALPHA_COLOR)
                else:
                    twin.set_yticklabels([])
        _legend(axes)
        described = ", ".join(f"{_short(k)} = {_fmt(v) if v is not None else 'unset'}" for k, v in fixed.items())
        tag = "_".join(f"{STYLIZED_FILE_KEYS.get(k, k.split('.')[-1])}{_fmt(v) if v is not None else 'unset'}"
                       for k, v in fixed.items())
        filename = "stylized" + (f"_{tag}" if tag else "") + ("" if gh == "own" else f"_{gh}") + ".png"
        gated_here = _gated("stylized", res).subset(_matches(_gated("stylized", res), fixed))
        protocol = _protocol_text(gated_here, fixed)
        title = ("Stylized g/h/$\\alpha$" + (f": {described}" if described else "") + (f" ({protocol})" if protocol else "")
                 + f"\n{GH_TEXT[gh]}; f and $\\alpha$ at the mixture's selected checkpoint")
        paths.append(_save(fig, outdir, filename, title, gated_here))
    return paths


# ---- Algorithm 1 (§4.4): run.model_kind = online --------------------------------------------------------

ONLINE_GROUPS = (("high", "$C_H$", "tab:blue", "--"), ("low", "$C_L$", "tab:red", "-."))


def _online_curves(fig, online, name):
    path = f"online/{name}"
    if not online.has(path):
        _refuse(fig, online, f"its online points have no /points/{path}")
    curves = online.field(path).astype(np.float64)
    if curves.ndim != 2:
        _refuse(fig, online, f"/points/{path} is not a per-record curve (shape {curves.shape})")
    return curves


def online_curves(res):
    """(keys, {value tuple: {name: Curve}}) of the online points, one entry per setting (the values of `keys`,
    the parameters that vary besides seeds). Names: alpha_high, alpha_low (gate weight on g per key group) and
    regret_high, regret_low (the gate learner's cumulative regret online/regret_mix_<group> divided by t);
    x = log10 t, mean +- SE over seeds."""
    online = res.of_kind("online")
    if len(online) == 0:
        _refuse("online", res, "it has no done online points (run.model_kind = online)")
    t = _online_curves("online", online, "t")
    with np.errstate(invalid="ignore", divide="ignore"):
        log_t = np.log10(np.where(t > 0, t, np.nan))
        tables = {f"alpha_{g}": mean_se_curves(online, _online_curves("online", online, f"alpha_{g}")) for g, *_ in ONLINE_GROUPS}
        tables.update({f"regret_{g}": mean_se_curves(online, _online_curves("online", online, f"regret_mix_{g}") / t)
                       for g, *_ in ONLINE_GROUPS})
    x_table = mean_se_curves(online, log_t)
    if np.any(x_table.se[np.isfinite(x_table.se)] > 1e-9):
        _refuse("online", online, "seeds of one setting record at different steps t (online/t differs)")
    keys = _setting_keys(online)
    out = {}
    for combo in _combinations(online, keys):
        fixed = dict(zip(keys, combo))
        x = x_table.match(fixed)
        if len(x) != 1:  # cannot happen: the keys fix every non-seed parameter
            _refuse("online", online, f"{len(x)} settings match {fixed}")
        keep = np.isfinite(x.mean[0])  # a shorter record list is NaN-padded
        out[combo] = {}
        for name, table in tables.items():
            rows = table.match(fixed)
            out[combo][name] = Curve(x.mean[0][keep], rows.mean[0][keep], rows.se[0][keep], None)
            out[combo][name].seeds = int(rows.n[0].max())
    return keys, out


def fig_online(res, outdir):
    """Algorithm 1: per setting (one column per swept value, e.g. sigma), alpha on C_H and C_L vs log10 t
    (top) and the gate learner's regret / t on each group (bottom), mean +- SE over seeds."""
    keys, found = online_curves(res)
    fig, axes = style.subplots(2, len(found))
    for j, (combo, panel) in enumerate(found.items()):
        for g, group, color, linestyle in ONLINE_GROUPS:
            _plot(axes[0, j], panel[f"alpha_{g}"], rf"$\alpha$ on {group}", linestyle, color)
            _plot(axes[1, j], panel[f"regret_{g}"], f"gate regret / t, {group}", linestyle, color)
        described = ", ".join(f"{_short(k)} = {_fmt(v) if v is not None else 'unset'}" for k, v in zip(keys, combo))
        seeds = panel["alpha_high"].seeds
        axes[0, j].set_title(f"{described or 'single setting'} ({seeds} seed{'s' if seeds != 1 else ''})")
        axes[0, j].axhline(0.5, color="grey", linewidth=0.8, alpha=0.7)  # alpha > 0.5: the gate prefers g (IW)
        axes[0, j].set_ylim(-0.1, 1.1)
        axes[1, j].axhline(0.0, color="grey", linewidth=0.8, alpha=0.7)
        axes[1, j].set_xlabel(r"$\log_{10} t$")
        for ax in axes[:, j]:
            ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel(r"$\alpha$ (weight on g)")
    axes[1, 0].set_ylabel("gate regret / t (nats)")
    style.legend_below(fig, axes)
    return [_save(fig, outdir, "online.png", "Algorithm 1: gate $\\alpha$ and its regret per step", res.of_kind("online"))]


# ---- registry ------------------------------------------------------------------------------------

class Figure:
    """draw(res, outdir, **options); the jobs that produce its data (named in refusals); accepted options."""

    def __init__(self, draw, job, description, paper_jobs=None, lite_jobs=None, hint="", options=()):
        self.draw, self.job, self.description = draw, job, description
        self.paper_jobs = list(paper_jobs or [job])
        self.lite_jobs = list(lite_jobs or [job])
        self.hint, self.options = hint, tuple(options)


FIGURES = {
    "theory": Figure(fig_theory, "theory", "§4.6 IW curve vs IC bounds per k (v2 or v1 recipe, from theory.version)"),
    "noisy_inputs_v1": Figure(fig_noisy_inputs_v1, "noisy_inputs", "v1 Fig. 2: 2x4 per sigma, IW/IC/Transformer"),
    "noisy_inputs_v3": Figure(fig_noisy_inputs_v3, "noisy_inputs", "v3 Fig. 3: Transformer per sigma + baselines' IBD"),
    "p_high": Figure(fig_p_high, "p_high", "Transformer OOBD per p_high (+ 2xn grid)"),
    "p_relevant": Figure(fig_p_relevant, "p_relevant", "Transformer OOBD per p_rel, selected by error (+ grid)"),
    "num_low_freq": Figure(fig_num_low_freq, "num_low_freq", "Transformer OOBD on Rel C_L per |C_L| (+ 2x2)"),
    "num_contexts": Figure(fig_num_contexts, "num_contexts", "Transformer OOBD per context length L"),
    "num_relevant_contexts": Figure(fig_num_relevant_contexts, "num_relevant_contexts",
                                    "IW/IC/Transformer OOBD per L_rel (+ 2xn grid)"),
    "context_length": Figure(fig_context_length, "num_relevant_contexts",
                             "§6.2 Fig. 4, 1x4: IW/IC/Transformer OOBD per L_rel, Transformer per L (two files)",
                             paper_jobs=["num_relevant_contexts", "num_contexts"],
                             lite_jobs=["num_relevant_contexts", "num_contexts"]),
    "noisy_labels": Figure(fig_noisy_labels, "noisy_labels", "2x3: IBD/OOBD per label-noise level"),
    "stylized": Figure(fig_stylized, "stylized_noisy_inputs",
                       "stylized g/h/alpha (gated points): 2x4 v1 layout per swept value, errors of g, h and p_iwl",
                       paper_jobs=[f"stylized_{s}" for s in ("noisy_inputs", "p_high", "num_contexts", "num_low_freq")],
                       lite_jobs=["stylized_noisy_inputs", "stylized_p_high"], options=("gh", "alpha_metric", "show_mixture")),
    "online": Figure(fig_online, "online", "Algorithm 1 (online points): alpha on C_H / C_L and gate regret / t vs t",
                     hint=", or any job with [run] model_kind = online"),
}


def draw(name, res, outdir, **options):
    """Draws figure `name` from Results `res` into `outdir`; returns the written paths.

    `options` are figure-specific keywords (Figure.options, e.g. gh="p0" for `stylized`); a figure
    ignores options it does not take, so one option set can be passed to every figure.
    """
    if name not in FIGURES:
        raise KeyError(f"unknown figure '{name}'; the figures are: {', '.join(FIGURES)}")
    spec = FIGURES[name]
    return spec.draw(res, outdir, **{k: v for k, v in options.items() if k in spec.options})
