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

from .aggregate import is_seed_key, mean_se, selected_values  # noqa: E402
from .load import MissingData  # noqa: E402

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
    job = FIGURES[fig].job
    raise FigureUnavailable(f"figure '{fig}' cannot be drawn from {res.name}: {why}. Produce its data with "
                            f"jobs/paper/{job}.ini (quick version: jobs/lite/{job}.ini)")


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

def _plot(ax, curve, label, style, color):
    ax.plot(curve.x, curve.mean, linestyle=style, color=color, label=label, marker=".", markersize=4)
    ax.fill_between(curve.x, curve.mean - curve.se, curve.mean + curve.se, color=color, alpha=0.2, linewidth=0)


def _error_axes(ax, title, chances, xlabel=True, ylabel=True):
    for c in sorted(set(round(float(c), 6) for c in chances)):
        ax.axhline(c, color="grey", linewidth=0.8, alpha=0.7)
    ax.set_ylim(-0.1, 1.1)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    if xlabel:
        ax.set_xlabel(r"$\log_2 N$")
    if ylabel:
        ax.set_ylabel("0-1 error")


def _subplots(nrows, ncols):
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.8 * nrows), squeeze=False, sharex=True)
    return fig, axes


def _save(fig, outdir, filename, title):
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, filename)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _legend(axes):
    handles, labels = [], []
    for ax in np.ravel(axes):
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if handles:
        np.ravel(axes)[0].legend(handles, labels, fontsize=7, loc="best")


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
        style = styles[i % len(styles)] if styles else MODEL_STYLE[role]
        _plot(ax, c, f"{_short(key)} = {_fmt(value)}", style, VALUE_COLORS[i % len(VALUE_COLORS)])
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
    return _save(fig, outdir, filename, title)


# ---- the figures ---------------------------------------------------------------------------------

def fig_noisy_inputs_v1(res, outdir):
    """v1 Fig. 2 layout, one figure per sigma: rows IBD/OOBD; columns Rel C_H, Rel C_L, Irrel C_H, Irrel C_L."""
    tf = _transformers("noisy_inputs_v1", res)
    paths = []
    for sigma in _require_swept("noisy_inputs_v1", tf, SIGMA):
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
                           rf"Input noise $\sigma$ = {_fmt(sigma)} (L = {lengths})"))
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
    return [_save(fig, outdir, "noisy_inputs_v3.png", "Input noise (v3 layout)")]


# §5.1: the p_high and p_relevant figures omit N = 2^16.
OMIT_2_16 = (16,)


def fig_p_high(res, outdir):
    tf = _transformers("p_high", res)
    values = _require_swept("p_high", tf, P_HIGH)
    fig, axes = _subplots(1, 1)
    _value_panel("p_high", tf, axes[0, 0], "eval-default-none-flip_label", P_HIGH, "Transformer OOBD",
                 values=values, styles=("--", "-.", ":"), omit_log2n=OMIT_2_16)
    _legend(axes)
    return [_save(fig, outdir, "p_high.png", r"$p_{high}$ sweep"),
            _grid_by_value("p_high", tf, P_HIGH, "p_high_grid.png", r"$p_{high}$ sweep", omit_log2n=OMIT_2_16,
                           outdir=outdir)]


def fig_p_relevant(res, outdir):
    tf = _transformers("p_relevant", res)
    values = _require_swept("p_relevant", tf, P_REL)
    if all(any(math.isclose(v, b) for b in (0.0, 0.9, 1.0)) for v in values):
        _refuse("p_relevant", tf, f"{P_REL} only takes the baseline crossing values {', '.join(map(_fmt, values))}")
    fig, axes = _subplots(1, 1)
    # §6.1: this figure selects the checkpoint by the minimal pretraining 0-1 error.
    _value_panel("p_relevant", tf, axes[0, 0], "eval-default-none-flip_label", P_REL, "Transformer OOBD",
                 values=values, by="error", omit_log2n=OMIT_2_16)
    _legend(axes)
    return [_save(fig, outdir, "p_relevant.png", r"$p_{rel}$ sweep (selection by pretraining error)"),
            _grid_by_value("p_relevant", tf, P_REL, "p_relevant_grid.png", r"$p_{rel}$ sweep", by="error",
                           omit_log2n=OMIT_2_16, roles=(TF,), outdir=outdir)]


def fig_num_low_freq(res, outdir):
    tf = _transformers("num_low_freq", res)
    values = _require_swept("num_low_freq", tf, NUM_LOW)
    fig, axes = _subplots(1, 1)
    _value_panel("num_low_freq", tf, axes[0, 0], "eval-relevant_context-low_prob-flip_label", NUM_LOW,
                 r"Transformer OOBD: Rel $C_L$", values=values)
    _legend(axes)
    paths = [_save(fig, outdir, "num_low_freq.png", r"$|C_L|$ sweep")]
    fig, axes = _subplots(2, 2)
    for i, (row, suffix) in enumerate(ROWS_IBD_OOBD):
        for g, (group, cond) in enumerate(GROUPS):
            _value_panel("num_low_freq", tf, axes[i, g], f"eval-relevant_context-{cond}{suffix}", NUM_LOW,
                         f"Transformer {row}: Rel {group}", values=values, xl=i == 1, yl=g == 0)
    _legend(axes)
    paths.append(_save(fig, outdir, "num_low_freq_2x2.png", r"$|C_L|$ sweep"))
    return paths


def fig_num_contexts(res, outdir):
    tf = _transformers("num_contexts", res)
    values = _require_swept("num_contexts", tf, NUM_CONTEXTS)
    fig, axes = _subplots(1, 1)
    _value_panel("num_contexts", tf, axes[0, 0], "eval-default-none-flip_label", NUM_CONTEXTS,
                 "Transformer OOBD", values=values)
    _legend(axes)
    return [_save(fig, outdir, "num_contexts.png", "Context length L")]


def fig_num_relevant_contexts(res, outdir):
    tf = _transformers("num_relevant_contexts", res)
    values = _require_swept("num_relevant_contexts", tf, NUM_RELEVANT)
    fig, axes = _subplots(1, 3)
    for j, role in enumerate((IW, IC, TF)):
        _value_panel("num_relevant_contexts", tf, axes[0, j], "eval-default-none-flip_label", NUM_RELEVANT,
                     f"{role} OOBD", role, values, yl=j == 0)
    _legend(axes)
    return [_save(fig, outdir, "num_relevant_contexts.png", r"Relevant contexts $L_{rel}$"),
            _grid_by_value("num_relevant_contexts", tf, NUM_RELEVANT, "num_relevant_contexts_grid.png",
                           r"Relevant contexts $L_{rel}$", outdir=outdir)]


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
        fig, axes = plt.subplots(math.ceil(k_max / ncols), ncols, figsize=(3.0 * ncols, 2.6 * math.ceil(k_max / ncols)),
                                 squeeze=False, sharex=True, sharey=True)
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
            ax.set_title(f"k = {k}", fontsize=9)
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
        axes.flat[0].legend(fontsize=7)
        same = np.sum(versions == version)
        filename = f"theory_{version}.png" if same == 1 else f"theory_{version}_{th.ids[p]}.png"
        paths.append(_save(fig, outdir, filename, f"Theory ({version}): IW vs IC loss, L = {k_max}"))
    return paths


# ---- registry ------------------------------------------------------------------------------------

class Figure:
    def __init__(self, draw, job, description):
        self.draw, self.job, self.description = draw, job, description


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
    "noisy_labels": Figure(fig_noisy_labels, "noisy_labels", "2x3: IBD/OOBD per label-noise level"),
}


def draw(name, res, outdir):
    """Draws figure `name` from Results `res` into `outdir`; returns the written paths."""
    if name not in FIGURES:
        raise KeyError(f"unknown figure '{name}'; the figures are: {', '.join(FIGURES)}")
    return FIGURES[name].draw(res, outdir)
