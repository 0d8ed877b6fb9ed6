"""What every figure module shares: the §6.1 conventions, the refusal that names a job, the curves of mean +- SE
selected error over log2 N, the drawing helpers and the Figure record that figures.py lists.

Every figure function takes (res, outdir) and returns the list of PNG paths it wrote, or raises
FigureUnavailable naming the job file that produces the data it needs. Conventions (§6.1): x = log2 N,
y = 0-1 error on [-0.1, 1.1], a grey chance line at (C-1)/C, mean over seeds with a shaded +-SE band,
line styles IW '--', IC '-.', Transformer ':'.
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from . import style  # noqa: E402
from .aggregate import is_seed_key, mean_se, selected_values  # noqa: E402
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
    from .figures import FIGURES  # here, not at the top: figures.py imports every figure module, this one included
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

def _short(key):
    return {SIGMA: r"$\sigma$", P_HIGH: r"$p_{high}$", P_REL: r"$p_{rel}$", NUM_LOW: r"$|C_L|$",
            NUM_CONTEXTS: "L", NUM_RELEVANT: r"$L_{rel}$", LABEL_NOISE: r"$\varepsilon$"}.get(key, key)


# ---- settings: the parameters that define one figure or panel ----------------------------------------

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


# ---- the record figures.py lists ----------------------------------------------------------------------

class Figure:
    """draw(res, outdir, **options); the jobs that produce its data (named in refusals); accepted options."""

    def __init__(self, draw, job, description, paper_jobs=None, lite_jobs=None, hint="", options=()):
        self.draw, self.job, self.description = draw, job, description
        self.paper_jobs = list(paper_jobs or [job])
        self.lite_jobs = list(lite_jobs or [job])
        self.hint, self.options = hint, tuple(options)
