"""The Omniglot figures of PAPER-SPEC §6.2 (run.model_kind = omniglot), x = log10 N.

    omniglot_input_noise     v1 Fig. 7: per sigma, the 2x4 v1 layout (rows IBD/OOBD; Rel/Irrel x C_H/C_L), IW/IC/Transformer
    omniglot_misc            1x4: Transformer OOBD per p_high, p_rel, L, L_rel (L = 4) on eval-default-none-flip_label;
                             the four sweeps live in four results files: the panels are read from the file given and
                             from omniglot_{p_high,p_relevant,num_contexts,num_relevant_contexts}.h5 beside it
    omniglot_heldout         heldout features: OOBD on the first drawing vs on heldout drawings (1..19), per sigma
    omniglot_gradient_steps  single seeds at the largest N (sigma = 0 when present): OOBD error vs checkpoint, and the
                             C_L training-query counts of the minibatch stream (train/low_prob_queries)

A results file whose images were downsampled (omniglot.image_size < 105) is marked in every title.
"""
import os

import numpy as np

from . import figure_common as F
from .load import MissingData, load

KIND = "omniglot"
IMAGE_SIZE = "omniglot.image_size"
LOG10_2 = np.log10(2.0)


def _omniglot(fig, res):
    og = res.of_kind(KIND)
    if len(og) == 0:
        F._refuse(fig, res, "it has no done omniglot points")
    return og


def _num_classes(og):
    if og.has("omniglot/num_classes"):
        c = og.field("omniglot/num_classes").astype(np.float64)
        return float(np.nanmax(c))
    return 1623.0


def _deviation(og):
    """Title suffix naming what differs from the paper's setting (downsampled images, fewer classes)."""
    notes = []
    if IMAGE_SIZE in og.params:
        sizes = sorted(set(int(s) for s in og.params[IMAGE_SIZE]))
        if sizes != [105]:
            notes.append(f"images {'/'.join(map(str, sizes))}px (deviation: paper 105px)")
    c = int(_num_classes(og))
    if c != 1623:
        notes.append(f"{c} classes (paper 1623)")
    return f"\n[{'; '.join(notes)}]" if notes else ""


def curves(fig, og, split, line_key=None, fixed=None, by="loss"):
    """figures.curves over the omniglot points, re-expressed over log10 N with chance (C-1)/C of the dataset."""
    found = F.curves(fig, og, split, line_key=line_key, fixed=fixed, by=by)
    C = _num_classes(og)
    for c in found.values():
        c.x = c.x * LOG10_2
        c.chance = (C - 1) / C
    return found


def _axes(ax, title, chance, xlabel=True, ylabel=True):
    F._error_axes(ax, title, [chance] if chance is not None else [], xlabel, ylabel)
    if xlabel:
        ax.set_xlabel(r"$\log_{10} N$")


def _model_panel(fig, og, ax, split, title, fixed=None, xl=True, yl=True):
    found = curves(fig, og, split, fixed=fixed)
    for (role, _), c in found.items():
        F._plot(ax, c, role, F.MODEL_STYLE[role], F.MODEL_COLOR[role])
    _axes(ax, title, next(iter(found.values())).chance if found else None, xl, yl)


def _sigmas(fig, og):
    return F._values(og, F.SIGMA) if F.SIGMA in og.params else [None]


def fig_input_noise(res, outdir):
    og = _omniglot("omniglot_input_noise", res)
    paths = []
    for sigma in _sigmas("omniglot_input_noise", og):
        fixed = {F.SIGMA: sigma} if sigma is not None else None
        fig, axes = F._subplots(2, 4)
        for i, (row, suffix) in enumerate(F.ROWS_IBD_OOBD):
            for j, (rel, rel_name) in enumerate((("Rel", "relevant_context"), ("Irrel", "irrelevant_context"))):
                for g, (group, cond) in enumerate(F.GROUPS):
                    col = 2 * j + g
                    _model_panel("omniglot_input_noise", og, axes[i, col], f"eval-{rel_name}-{cond}{suffix}",
                                 f"{row}: {rel} {group}", fixed, i == 1, col == 0)
        F._legend(axes)
        paths.append(F._save(fig, outdir, f"omniglot_input_noise_sigma{F._fmt(sigma)}.png",
                             rf"Omniglot, input noise $\sigma$ = {F._fmt(sigma)}{_deviation(og)}"))
    return paths


MISC_PANELS = (  # (job / file stem, key, title, values drawn or None = all)
    ("omniglot_p_high", F.P_HIGH, r"$p_{high}$", None),
    ("omniglot_p_relevant", F.P_REL, r"$p_{rel}$", (0.5, 0.9, 0.99)),
    ("omniglot_num_contexts", F.NUM_CONTEXTS, "context length L", None),
    ("omniglot_num_relevant_contexts", F.NUM_RELEVANT, r"$L_{rel}$ (L = 4)", None),
)


def _misc_source(res, stem, key):
    """The omniglot points sweeping `key`: from `res` when it does, else from STEM.h5 beside it."""
    og = res.of_kind(KIND)
    if len(og) and key in og.params and len(F._values(og, key)) > 1:
        return og, None
    sibling = os.path.join(os.path.dirname(os.path.abspath(res.path)), stem + ".h5")
    if not os.path.exists(sibling):
        return None, f"no data:\nrun jobs/*/{stem}.ini\ninto {stem}.h5\nbeside this file"
    try:
        other = load(sibling).of_kind(KIND)
    except (MissingData, OSError) as e:
        return None, f"unreadable {stem}.h5 ({e})"
    if len(other) == 0 or key not in other.params:
        return None, f"{stem}.h5 has no done omniglot points"
    return other, None


def fig_misc(res, outdir):
    fig, axes = F._subplots(1, 4)
    drawn, notes = 0, []
    for j, (stem, key, title, wanted) in enumerate(MISC_PANELS):
        ax = axes[0, j]
        og, why = _misc_source(res, stem, key)
        if og is None:
            _axes(ax, title, None, True, j == 0)
            ax.set_xlim(2.8, 6.2)
            ax.text(0.5, 0.5, why, ha="center", va="center", fontsize=7, transform=ax.transAxes)
            continue
        line_key = key
        # The p_rel panel shows transformer lines per p_rel; the others the p_rel = 0.9 transformer.
        fixed = None if key == F.P_REL else ({F.P_REL: 0.9} if F.P_REL in og.params else None)
        found = F.curves("omniglot_misc", og, "eval-default-none-flip_label", line_key=line_key, fixed=fixed,
                         by="error" if key == F.P_REL else "loss")
        C = _num_classes(og)
        values = [v for v in F._values(og, key) if wanted is None or any(np.isclose(v, w) for w in wanted)]
        for i, v in enumerate(values):
            c = found.get((F.TF, v))
            if c is None:
                continue
            c.x = c.x * LOG10_2
            F._plot(ax, c, f"{F._short(key)} = {F._fmt(v)}", ("--", "-.", ":", "-")[i % 4], F.VALUE_COLORS[i % 10])
        _axes(ax, f"Transformer OOBD: {title}", (C - 1) / C, True, j == 0)
        ax.legend(fontsize=7, loc="best")
        drawn += 1
        notes.append(_deviation(og))
    if drawn == 0:
        F._refuse("omniglot_misc", res, "none of its four sweeps (p_high, p_relevant, num_contexts, "
                                        "num_relevant_contexts) is in the file or beside it")
    return [F._save(fig, outdir, "omniglot_misc.png", "Omniglot: what drives ICL" + (notes[0] if notes else ""))]


HELDOUT = "eval-{r}-{c}-heldout_input-flipped_label"


def fig_heldout(res, outdir):
    og = _omniglot("omniglot_heldout", res)
    if not og.has("selected/" + HELDOUT.format(r="default", c="none") + "/error"):
        F._refuse("omniglot_heldout", res, "it has no heldout splits")
    sigmas = _sigmas("omniglot_heldout", og)
    fig, axes = F.plt.subplots(2, len(sigmas), figsize=(max(6.0, 3.4 * len(sigmas)), 5.6), squeeze=False, sharex=True)
    for j, sigma in enumerate(sigmas):
        fixed = {F.SIGMA: sigma} if sigma is not None else None
        s = rf"$\sigma$ = {F._fmt(sigma)}"
        _model_panel("omniglot_heldout", og, axes[0, j], "eval-default-none-flip_label", f"OOBD, first drawing, {s}",
                     fixed, False, j == 0)
        _model_panel("omniglot_heldout", og, axes[1, j], HELDOUT.format(r="default", c="none"),
                     f"OOBD, heldout drawings 1..19, {s}", fixed, True, j == 0)
    F._legend(axes)
    return [F._save(fig, outdir, "omniglot_heldout.png", "Omniglot heldout features" + _deviation(og))]


def fig_gradient_steps(res, outdir):
    og = _omniglot("omniglot_gradient_steps", res)
    for path in ("checkpoint/step", "eval/eval-default-none-flip_label/error"):
        if not og.has(path):
            F._refuse("omniglot_gradient_steps", res, f"it has no /points/{path}")
    n = og.params[F.N_KEY]
    mask = n == n.max()
    if F.SIGMA in og.params:
        sig = og.params[F.SIGMA]
        mask &= sig == (0.0 if np.any(sig[mask] == 0.0) else sig[mask].min())
    if F.P_REL in og.params:
        p = og.params[F.P_REL]
        mask &= np.isclose(p, 0.9) if np.any(np.isclose(p[mask], 0.9)) else np.ones_like(mask)
    pts = og.subset(mask)
    order = np.argsort(pts.seeds)
    fig, axes = F.plt.subplots(1, len(order), figsize=(max(6.0, 4.2 * len(order)), 3.6), squeeze=False)
    C = _num_classes(pts)
    lines = (("eval-default-none-flip_label", "OOBD", "black", ":"),
             ("eval-relevant_context-low_prob-flip_label", r"OOBD Rel $C_L$", "tab:red", "-."),
             ("eval-irrelevant_context-low_prob", r"IBD Irrel $C_L$", "tab:blue", "--"))
    for j, i in enumerate(order):
        ax = axes[0, j]
        steps = pts.field("checkpoint/step")[i].astype(np.float64)
        ok = steps >= 0
        for split, label, color, style in lines:
            if pts.has(f"eval/{split}/error"):
                ax.plot(steps[ok], pts.field(f"eval/{split}/error")[i][ok], style, color=color, label=label)
        ax.axhline((C - 1) / C, color="grey", linewidth=0.8, alpha=0.7)
        ax.set_ylim(-0.1, 1.1)
        ax.grid(alpha=0.3)
        ax.set_xlabel("gradient step")
        if j == 0:
            ax.set_ylabel("0-1 error")
        ax.set_title(f"seed {int(pts.seeds[i])}, N = {int(pts.params[F.N_KEY][i]):,}", fontsize=9)
        if pts.has("train/low_prob_queries"):
            twin = ax.twinx()
            counts = pts.field("train/low_prob_queries")[i].astype(np.float64)
            twin.plot(steps[ok], counts[ok][: ok.sum()], color="tab:green", alpha=0.6, label=r"$C_L$ queries seen")
            twin.set_ylabel(r"$C_L$ training queries so far", fontsize=8, color="tab:green")
            twin.tick_params(axis="y", labelsize=7, colors="tab:green")
            if j == 0:
                twin.legend(fontsize=7, loc="center right")
        if j == 0:
            ax.legend(fontsize=7, loc="lower left")
    sigma = f", $\\sigma$ = {F._fmt(pts.params[F.SIGMA][0])}" if F.SIGMA in pts.params else ""
    return [F._save(fig, outdir, "omniglot_gradient_steps.png",
                    f"Omniglot, error over gradient steps{sigma}{_deviation(pts)}")]


# This family's figures by name; figures.py, the registry, lists every family's FIGURES.
FIGURES = {
    "omniglot_input_noise": F.Figure(fig_input_noise, "omniglot_input_noise",
                                     "Omniglot v1 Fig. 7: 2x4 per sigma, IW/IC/Transformer over log10 N"),
    "omniglot_misc": F.Figure(fig_misc, "omniglot_p_high",
                              "Omniglot 1x4: Transformer OOBD per p_high, p_rel, L, L_rel (files side by side)",
                              paper_jobs=[s for s, _, _, _ in MISC_PANELS], lite_jobs=[s for s, _, _, _ in MISC_PANELS]),
    "omniglot_heldout": F.Figure(fig_heldout, "omniglot_input_noise",
                                 "Omniglot heldout features: OOBD on first vs heldout drawings, per sigma"),
    "omniglot_gradient_steps": F.Figure(fig_gradient_steps, "omniglot_input_noise",
                                        "Omniglot error vs checkpoint, single seeds, with C_L query counts"),
}
