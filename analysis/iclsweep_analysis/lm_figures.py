"""Figures of the language-model analog (run.model_kind = lm_facts; PAPER-SPEC §5.5, H10; issue 13).

lm_facts.png: one column per fine-tuning arm (every swept key except the seed), rows invented / real
names. Each panel shows, against the fine-tuning step, the in-context rate on ICL-conflict probes
("{name} lives in the city of {city'}", city' != the fine-tuned city), its memory rate, the IWL accuracy
(question alone), the held-out-template in-context rate and the two control sets (fresh names,
frequent known people with a conflicting city) and the recall of the frequent known people from pretraining
(forgetting): mean over seeds with a shaded +-SE band (§6.1).
"""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .figure_common import Figure, FigureUnavailable  # noqa: E402
from .load import hashable  # noqa: E402

KIND = "lm_facts"
SEED_KEYS = ("data.seed",)

# (field under probe/ or finetune/, label, color, style, per-name-group?)
LINES = (
    ("probe/icl_conflict/{g}/in_context_rate", "ICL-conflict: in-context rate", "tab:red", "-", True),
    ("probe/icl_conflict/{g}/memory_rate", "ICL-conflict: memory rate", "tab:red", ":", True),
    ("probe/iwl/{g}/memory_rate", "IWL accuracy (question alone)", "tab:blue", "--", True),
    ("probe/heldout_template/{g}/in_context_rate", "held-out template: in-context", "tab:orange", "-.", True),
    ("probe/control_fresh/{g}/in_context_rate", "control, fresh names: in-context", "tab:green", "-", True),
    ("probe/control_known/all/in_context_rate", "control, known people: in-context", "tab:purple", "--", False),
    ("finetune/iwl_high_accuracy", "recall of frequent known people (forgetting)", "tab:gray", ":", False),
)


def _short(key):
    return key.split(".", 1)[-1]


def _fmt(v):
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def arms(res):
    """[(description, mask)] of the fine-tuning arms: every varying parameter except the seed."""
    keys = [k for k in res.varying_keys(exclude=SEED_KEYS) if not k.startswith("data.seed")]
    combos = {}
    columns = [hashable(res.params[k]) for k in keys]
    for i in range(len(res)):
        combos.setdefault(tuple(c[i] for c in columns), []).append(i)
    out = []
    for combo, members in sorted(combos.items(), key=lambda kv: [str(x) for x in kv[0]]):
        mask = np.zeros(len(res), dtype=bool)
        mask[members] = True
        desc = ", ".join(f"{_short(k)}={_fmt(v)}" for k, v in zip(keys, combo)) or "single setting"
        out.append((desc, mask))
    return out


def mean_se(curves):
    """Entrywise mean and SE (population std / sqrt n, §6.1) over the rows of (seeds, k), NaN left out."""
    curves = np.asarray(curves, dtype=np.float64)
    n = np.sum(np.isfinite(curves), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(np.where(np.isfinite(curves), curves, np.nan), axis=0) if curves.size else curves
        se = np.nanstd(curves, axis=0) / np.sqrt(np.maximum(n, 1))
    return mean, se, n


def fig_lm_facts(res, outdir):
    lm = res.of_kind(KIND)
    if len(lm) == 0:
        raise FigureUnavailable("no done lm_facts points: run jobs/lite/lm_facts.ini or jobs/paper/lm_facts.ini")
    found = arms(lm)
    steps_all = lm.field("finetune/checkpoint/step").astype(np.float64)
    ncol = len(found)
    width = max(8.0, 3.4 * ncol + 1.2)
    fig, axes = plt.subplots(2, ncol, figsize=(width, 6.8), squeeze=False, sharex=True, sharey=True)
    for j, (desc, mask) in enumerate(found):
        steps = steps_all[mask][0]
        ok = np.isfinite(steps)
        seeds = int(mask.sum())
        for row, group in enumerate(("invented", "real")):
            ax = axes[row, j]
            for path, label, color, style, per_group in LINES:
                field = path.format(g=group) if per_group else path
                if not lm.has(field):
                    continue
                mean, se, _ = mean_se(lm.field(field)[mask][:, ok])
                ax.plot(steps[ok], mean, style, color=color, label=label, linewidth=1.6)
                ax.fill_between(steps[ok], mean - se, mean + se, color=color, alpha=0.15, linewidth=0)
            ax.set_ylim(-0.05, 1.05)
            ax.grid(alpha=0.3)
            if row == 0:
                ax.set_title(f"{desc}\n({seeds} seed{'s' if seeds != 1 else ''})", fontsize=9)
            if j == 0:
                ax.set_ylabel(f"{group} names: rate")
            if row == 1:
                ax.set_xlabel("fine-tuning step")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.subplots_adjust(bottom=0.19, top=0.87, wspace=0.08, hspace=0.12, left=0.9 / width, right=0.98)
    fig.suptitle("LM analog (§5.5): in-context answers vs fine-tuning on name→city facts", fontsize=10)
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, "lm_facts.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


FIGURE = Figure(fig_lm_facts, "lm_facts", "LM analog (lm_facts points): in-context rate on ICL-conflict vs fine-tuning step, "
                "IWL and control sets, invented vs real names")

# This family's figures by name; figures.py, the registry, lists every family's FIGURES.
FIGURES = {"lm_facts": FIGURE}
