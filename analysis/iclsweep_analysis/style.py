"""Shared figure infrastructure: page-readable sizes, legends that never cover data, titles that say what
was run. Every figure module (the *_figures.py family modules) draws through these helpers:

    fig, axes = style.subplots(2, 4)             # panel size and fonts fixed here, once
    ...  ax.plot(..., label=...)
    style.legend_below(fig, axes)                # one legend for the figure, below the panels
    path = style.save(fig, outdir, "name.png", "Title", style.describe(res))

Sizes: a panel is PANEL_W x PANEL_H inches saved at DPI, i.e. 540 x 450 px for a single panel; the
smallest text (legend, ticks) is FONT_SMALL pt = 17 px at that DPI, readable when a 2x4 figure is
shown at page width.
"""
import math
import os
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

PANEL_W, PANEL_H = 3.6, 3.0  # inches per panel
DPI = 150
FONT = 10.0        # axis labels and panel titles
FONT_SMALL = 8.5   # ticks and legend
FONT_TITLE = 11.0  # the figure title

RC = {
    "font.size": FONT, "axes.titlesize": FONT, "axes.labelsize": FONT, "xtick.labelsize": FONT_SMALL,
    "ytick.labelsize": FONT_SMALL, "legend.fontsize": FONT_SMALL, "lines.linewidth": 1.6,
}


def subplots(nrows, ncols, sharex=True, sharey=False, panel=(PANEL_W, PANEL_H)):
    """A figure of nrows x ncols panels (always a 2-D axes array) with the house fonts."""
    with plt.rc_context(RC):
        fig, axes = plt.subplots(nrows, ncols, figsize=(panel[0] * ncols, panel[1] * nrows), squeeze=False,
                                 sharex=sharex, sharey=sharey)
    for ax in axes.flat:
        ax.tick_params(labelsize=FONT_SMALL)
        ax.title.set_fontsize(FONT)
    return fig, axes


def unique_handles(axes):
    """(handles, labels) over every axis (twin axes included), each label once, in drawing order."""
    handles, labels = [], []
    seen_axes = []
    for ax in np.ravel(axes):
        for a in [ax] + [t for t in getattr(ax, "_icl_twins", [])]:
            if a in seen_axes:
                continue
            seen_axes.append(a)
            for h, lab in zip(*a.get_legend_handles_labels()):
                if lab not in labels and not lab.startswith("_"):
                    handles.append(h)
                    labels.append(lab)
    return handles, labels


def twin_axis(ax):
    """A right-hand y axis sharing x with `ax` (for a quantity on another scale, e.g. alpha); its lines join
    the figure legend."""
    twin = ax.twinx()
    twin.tick_params(labelsize=FONT_SMALL)
    ax._icl_twins = getattr(ax, "_icl_twins", []) + [twin]
    return twin


def legend_below(fig, axes, ncol=None):
    """One legend for the whole figure outside the panels, so it never covers data: below a row of panels,
    or to the right of a single panel (where the figure is widened for it)."""
    handles, labels = unique_handles(axes)
    fig._icl_legend = None
    if not handles:
        return
    longest = max(len(re.sub(r"\\[a-zA-Z]+|[$\\{}^_]", "", lab)) for lab in labels)  # displayed, not TeX, length
    per_entry_in = 0.55 + 0.075 * longest  # line sample + text at FONT_SMALL
    if np.size(axes) == 1:
        width_in = per_entry_in + 0.2
        fig.set_figwidth(fig.get_figwidth() + width_in)
        fig.legend(handles, labels, loc="center right", bbox_to_anchor=(1.0, 0.5), fontsize=FONT_SMALL, frameon=False)
        fig._icl_legend = ("right", width_in / fig.get_figwidth())
        return
    ncol = ncol or max(1, min(len(labels), int(fig.get_figwidth() // per_entry_in)))
    rows = math.ceil(len(labels) / ncol)
    height_in = 0.15 + 0.25 * rows
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=ncol, fontsize=FONT_SMALL,
               frameon=False)
    fig._icl_legend = ("below", height_in / fig.get_figheight())


def save(fig, outdir, filename, title, subtitle=""):
    """Title (and a smaller second line, e.g. describe(res)) on top, panels laid out around the legend,
    written as outdir/filename at DPI. Returns the path."""
    text = title + (f"\n{subtitle}" if subtitle else "")
    fig.suptitle(text, fontsize=FONT_TITLE)
    rect = [0, 0, 1, 1]
    legend = getattr(fig, "_icl_legend", None)
    if legend and legend[0] == "below":
        rect[1] = legend[1]
    elif legend:
        rect[2] = 1 - legend[1]
    fig.tight_layout(rect=rect)
    os.makedirs(outdir or ".", exist_ok=True)
    path = os.path.join(outdir, filename)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _values(res, key):
    if key not in res.params:
        return []
    column = res.params[key]
    if column.dtype.kind == "f":
        return sorted({float(v) for v in column if not np.isnan(v)})
    return sorted({str(v) for v in column if str(v)})


def _fmt(v):
    if isinstance(v, float):
        if v >= 1000 and v == int(v):
            return f"{int(v) // 1000}k" if int(v) % 1000 == 0 else f"{int(v)}"
        return f"{v:g}"
    return str(v)


def _pow2(v):
    e = math.log2(v) if v > 0 else 0.5
    return f"2^{int(e)}" if e == int(e) else _fmt(v)


def _seed_count(res):
    """Seeds per setting: the largest number of points that differ only in seed keys."""
    keys = [k for k in sorted(res.params) if not (k == "seed" or k.endswith(".seed"))]
    groups = {}
    for i in range(len(res)):
        sig = tuple(None if (res.params[k].dtype.kind == "f" and np.isnan(res.params[k][i])) else
                    (float(res.params[k][i]) if res.params[k].dtype.kind == "f" else str(res.params[k][i]))
                    for k in keys)
        groups[sig] = groups.get(sig, 0) + 1
    return sorted(set(groups.values())) if groups else [0]


def describe(res, extra=()):
    """One line saying what the figure's points were run with: training steps, seeds per setting, p' of the
    `default` splits (§1.8), the gated protocol, and any `extra` strings. Values that vary are listed."""
    parts = []
    kinds = set(res.model_kind()) if len(res) else set()
    trained = kinds & {"transformer", "gated"}
    steps = _values(res.subset(np.isin(res.model_kind(), list(trained))), "train.steps") if trained else []
    if steps:
        parts.append(f"{'/'.join(_fmt(s) for s in steps)} steps")
    elif kinds == {"online"}:  # Algorithm 1 runs one step per sample: T = N
        parts.append("T = N = " + "/".join(_pow2(v) for v in _values(res, "data.dataset_size")) + " steps")
    seeds = _seed_count(res)
    parts.append(f"{'/'.join(map(str, seeds))} seed{'s' if seeds != [1] else ''}")
    p_eval = _values(res, "eval.default_p_relevant_context")
    if p_eval:
        parts.append("p′ = " + "/".join(_fmt(p) for p in p_eval))
    if "gated" in kinds:
        protocol = _values(res, "model.gated_protocol")
        if protocol:
            parts.append("protocol " + "/".join(map(str, protocol)))
    parts += list(extra)
    return ", ".join(parts)
