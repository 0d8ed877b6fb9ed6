"""The stylized g/h/alpha figure of PAPER-SPEC §6.2 and §5.2 (run.model_kind = gated)."""
import numpy as np

from . import style
from .aggregate import last_argmin, mean_se, take_at
from .figure_common import (Curve, Figure, GROUPS, IC, IW, MODEL_COLOR, NUM_CONTEXTS, NUM_LOW, N_KEY, P_HIGH,
                            ROWS_IBD_OOBD, SIGMA, TF, _combinations, _error_axes, _fmt, _legend, _matches, _plot,
                            _refuse, _save, _setting_keys, _short, _subplots)
from .load import hashable


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


# This family's figures by name; figures.py, the registry, lists every family's FIGURES.
FIGURES = {
    "stylized": Figure(fig_stylized, "stylized_noisy_inputs",
                       "stylized g/h/alpha (gated points): 2x4 v1 layout per swept value, errors of g, h and p_iwl",
                       paper_jobs=[f"stylized_{s}" for s in ("noisy_inputs", "p_high", "num_contexts", "num_low_freq")],
                       lite_jobs=["stylized_noisy_inputs", "stylized_p_high"], options=("gh", "alpha_metric", "show_mixture")),
}
