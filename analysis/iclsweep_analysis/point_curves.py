"""One point's training curves (plot.py --curves INDEX|ID ...): training loss vs step, and every split's 0-1
error vs checkpoint step, with the selected checkpoint (§6.1) marked. A gated point draws its mixture
stage (alpha/...)."""
import numpy as np

from . import style
from .aggregate import selected_index
from .load import MissingData

# Colour per split family, line style per OOBD/IBD: 19 lines stay tellable apart.
FAMILY_COLORS = {"default": "tab:blue", "relevant_context": "tab:red", "irrelevant_context": "tab:green"}
CONDITION_MARKERS = {"none": "", "high_prob": "^", "low_prob": "v"}


def find_point(res, token):
    """Row of the point with canonical index or 16-hex id `token` among the done points of `res`."""
    token = str(token)
    rows = np.flatnonzero(res.ids == token)
    if not len(rows) and token.isdigit():
        rows = np.flatnonzero(res.indices == int(token))
    if not len(rows):
        raise MissingData(f"{res.name}: no done point with index or id '{token}' (iclsweep list / status show "
                          "indices and ids; only done points have curves)")
    return int(rows[0])


def _prefix(res, row):
    return "alpha/" if res.model_kind()[row] == "gated" else ""


class _One:
    def __init__(self, res, row, prefix):
        self.res, self.row, self.prefix, self.name = res, row, prefix, res.name

    def has(self, path):
        return self.res.has(self.prefix + path)

    def field(self, path):
        return self.res.field(self.prefix + path)[self.row:self.row + 1]


def _label(split):
    if split == "pretraining":
        return "pretraining"
    parts = split.split("-")  # eval, family, condition[, flip_label]
    family = {"default": "default", "relevant_context": "Rel", "irrelevant_context": "Irrel"}[parts[1]]
    condition = {"none": "", "high_prob": " C_H", "low_prob": " C_L"}[parts[2]]
    return f"{'OOBD' if len(parts) > 3 else 'IBD'} {family}{condition}"


def draw(res, token, outdir):
    """Writes curves_<index>.png for the point `token` (index or id); returns the path."""
    row = find_point(res, token)
    prefix = _prefix(res, row)
    one = _One(res, row, prefix)
    steps = res.field(prefix + "checkpoint/step")[row].astype(float)
    chosen = int(selected_index(one, "loss")[0])
    fig, axes = style.subplots(1, 2, sharex=False, panel=(5.0, 4.8))  # room for 20 legend entries below
    loss_ax, err_ax = axes[0]
    if res.has(prefix + "train/loss"):
        x, y = res.field(prefix + "train/step")[row].astype(float), res.field(prefix + "train/loss")[row]
        keep = np.isfinite(x) & np.isfinite(y) & (x >= 0)
        loss_ax.plot(x[keep], y[keep], color="black", label="training loss")
    for split in sorted({p[len(prefix) + 5:].rsplit("/", 1)[0] for p in res.fields
                         if p.startswith(prefix + "eval/") and p.endswith("/error")}, key=lambda s: (s != "pretraining", s)):
        y = res.field(f"{prefix}eval/{split}/error")[row]
        keep = np.isfinite(y) & np.isfinite(steps[:len(y)])
        if not keep.any():
            continue  # a split that is meaningless for this point (Q6) is all NaN
        if split == "pretraining":
            err_ax.plot(steps[:len(y)][keep], y[keep], color="black", linewidth=2.2, label=_label(split))
            continue
        parts = split.split("-")
        err_ax.plot(steps[:len(y)][keep], y[keep], color=FAMILY_COLORS[parts[1]], marker=CONDITION_MARKERS[parts[2]],
                    markersize=4, linestyle="--" if len(parts) > 3 else "-", linewidth=1.0, label=_label(split))
    if chosen >= 0:
        for ax in (loss_ax, err_ax):
            ax.axvline(steps[chosen], color="grey", linestyle=":", linewidth=1.5,
                       label=f"selected (step {steps[chosen]:.0f})")
    loss_ax.set_xlabel("step")
    loss_ax.set_ylabel("training loss")
    err_ax.set_xlabel("step")
    err_ax.set_ylabel("0-1 error")
    err_ax.set_ylim(-0.05, 1.05)
    for ax in (loss_ax, err_ax):
        ax.grid(alpha=0.3)
    loss_ax.set_title("training loss" + (" (mixture stage)" if prefix else ""))
    err_ax.set_title("error per split (selected: last min. pretraining loss)")
    style.legend_below(fig, axes, ncol=5)
    params = ", ".join(f"{k}={_value(res.params[k][row])}" for k in (res.grid_keys or res.varying_keys())
                       if k in res.params)
    index = res.indices[row]
    return style.save(fig, outdir, f"curves_{index}.png", f"point {index} ({res.ids[row]}) of {res.name}",
                      params)


def _value(v):
    if isinstance(v, (float, np.floating)):
        return "unset" if np.isnan(v) else f"{v:g}"
    return str(v)
