"""The synthetic transformer figures of PAPER-SPEC §6.2 (run.model_kind = transformer), x = log2 N."""
import math

import numpy as np

from .figure_common import (Figure, GROUPS, IC, IW, LABEL_NOISE, MODEL_COLOR, MODEL_STYLE, NUM_CONTEXTS, NUM_LOW,
                            NUM_RELEVANT, P_HIGH, P_REL, ROWS_IBD_OOBD, SIGMA, TF, VALUE_COLORS, _error_axes, _fmt,
                            _is, _legend, _plot, _refuse, _require_swept, _save, _short, _subplots, _transformers,
                            _values, curves)


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


# This family's figures by name; figures.py, the registry, lists every family's FIGURES.
FIGURES = {
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
}
