"""Figures of the Reddy 2024 family (run.model_kind = reddy; PEERS-SPEC §1; issue 21 part 1).

reddy_phase.png     final IC and IW accuracy over K (num_classes) x B (burstiness) as heat maps, mean over seeds
reddy_curves.png    accuracy on Test / IC / IC2 / IW and the losses against the training step, one row per
                    setting (every swept key but the seed): thin lines are seeds, thick the mean
reddy_progress.png  the attention progress measures (§1.4) against the step with the IC accuracy, one panel
                    per setting
"""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .figure_common import Figure, _refuse  # noqa: E402
from .load import hashable  # noqa: E402

KIND = "reddy"
SETS = (("test", "Test", "black"), ("ic", "IC (novel classes)", "tab:red"), ("ic2", "IC2 (flipped labels)", "tab:orange"),
        ("iw", "IW (i.i.d. context)", "tab:blue"))
PROGRESS = (("ila1", "ILA1: label -> own item (layer 1)", "tab:green"),
            ("prev_token_attn", "previous-token attention (layer 1)", "tab:olive"),
            ("tila2", "TILA2: target -> matching labels (layer 2)", "tab:purple"),
            ("tla2", "TLA2: target -> all labels (layer 2)", "tab:cyan"),
            ("ih_strength", "IH strength (match - non-match, per token)", "tab:brown"),
            ("cla", "CLA: prediction is an in-context label", "tab:gray"))


def _points(fig, res):
    r = res.of_kind(KIND)
    if len(r) == 0:
        _refuse(fig, res, "it has no done reddy points")
    return r


def _short(key):
    return key.split(".", 1)[-1]


def settings(r):
    """[(description, mask)] over every varying key except the seed."""
    keys = [k for k in r.varying_keys(exclude=("data.seed",))]
    cols = [hashable(r.params[k]) for k in keys]
    groups = {}
    for i in range(len(r)):
        groups.setdefault(tuple(c[i] for c in cols), []).append(i)
    out = []
    for combo, members in sorted(groups.items(), key=lambda kv: [(-1e300 if x is None else x) if isinstance(x, float) else 0 for x in kv[0]]):
        mask = np.zeros(len(r), dtype=bool)
        mask[members] = True
        desc = ", ".join(f"{_short(k)}={v:g}" if isinstance(v, float) else f"{_short(k)}={v}" for k, v in zip(keys, combo))
        out.append((desc or "single setting", mask))
    return out


def _steps(r, mask):
    s = r.field("reddy/step")[mask][0].astype(float)
    return s[s >= 0]


def _chance(r, mask):
    L = float(r.param("reddy.num_labels", 32)[mask][0])
    N = float(r.param("reddy.context_pairs", 8)[mask][0])
    B = float(r.param("reddy.burstiness", 1)[mask][0])
    return 1.0 / L, (B / N if B > 0 else None)


def fig_curves(res, outdir):
    r = _points("reddy_curves", res)
    groups = settings(r)
    fig, axes = plt.subplots(len(groups), 2, figsize=(13, 3.6 * len(groups)), squeeze=False)
    seed_styles = ("-", "--", ":", "-.")
    for row, (desc, mask) in enumerate(groups):
        x = _steps(r, mask)
        n = len(x)
        ax, axl = axes[row]
        seeds = r.seeds[mask]
        for key, label, color in SETS:
            y = r.field(f"reddy/eval/{key}/accuracy")[mask][:, :n]
            yl = r.field(f"reddy/eval/{key}/loss")[mask][:, :n]
            for si in range(len(y)):
                ls = seed_styles[si % len(seed_styles)]
                ax.plot(x, y[si], color=color, lw=1.6, ls=ls, label=label if si == 0 else None)
                axl.plot(x, yl[si], color=color, lw=1.6, ls=ls, label=label if si == 0 else None)
        tl = r.field("reddy/train_loss")[mask][:, :n]
        for si in range(len(tl)):
            axl.plot(x, tl[si], color="tab:green", lw=1.0, ls=seed_styles[si % len(seed_styles)],
                     label="training batches" if si == 0 else None)
        chance, pick = _chance(r, mask)
        ax.axhline(chance, color="grey", lw=0.8, ls=":", label="chance 1/L (this panel's L)" if row == 0 else None)
        if pick:
            ax.axhline(pick, color="grey", lw=0.8, ls="-.", label="pick a context label: B/N" if row == 0 else None)
        seed_text = ", ".join(f"seed {int(v)} {seed_styles[i % len(seed_styles)]!r}" for i, v in enumerate(seeds))
        ax.set_ylim(-0.03, 1.03)
        ax.set_ylabel("accuracy")
        ax.set_title(f"{desc}: accuracy ({seed_text})", fontsize=9)
        axl.set_ylabel("cross-entropy")
        axl.set_title(f"{desc}: losses", fontsize=9)
        for a in (ax, axl):
            a.set_xlabel("training step")
            a.grid(alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    h2, l2 = axes[0, 1].get_legend_handles_labels()
    handles.append(h2[l2.index("training batches")])
    labels.append("training batches (loss)")
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle("Reddy 2024 (reddy kind): accuracy and loss over training, one line style per seed", fontsize=11)
    fig.tight_layout(rect=(0, 0.1 if len(groups) == 1 else 0.06, 1, 0.95 if len(groups) == 1 else 0.975))
    path = os.path.join(outdir, "reddy_curves.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


def fig_progress(res, outdir):
    r = _points("reddy_progress", res)
    panels = []
    for desc, mask in settings(r):
        for i in np.flatnonzero(mask):
            one = np.zeros(len(r), dtype=bool)
            one[i] = True
            panels.append((f"{desc}, seed {int(r.seeds[i])}", one))
    cols = min(2, len(panels))
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(7 * cols, 3.4 * rows + 1.0), squeeze=False)
    for i, (desc, mask) in enumerate(panels):
        ax = axes[i // cols, i % cols]
        x = _steps(r, mask)
        n = len(x)
        for key, label, color in PROGRESS:
            ax.plot(x, r.field(f"reddy/progress/{key}")[mask][0, :n], color=color, lw=1.5, label=label)
        ax.plot(x, r.field("reddy/eval/ic/accuracy")[mask][0, :n], color="tab:red", lw=2.4, ls="--", label="IC accuracy")
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("training step")
        ax.set_title(desc, fontsize=9)
        ax.grid(alpha=0.3)
    for j in range(len(panels), rows * cols):
        axes[j // cols, j % cols].axis("off")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle("Reddy 2024 (reddy kind): attention progress measures on the IC set", fontsize=11)
    fig.tight_layout(rect=(0, 0.9 / (3.4 * rows + 1.0) + 0.02, 1, 1))
    path = os.path.join(outdir, "reddy_progress.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


def fig_phase(res, outdir):
    r = _points("reddy_phase", res)
    K = r.param("reddy.num_classes").astype(float)
    B = r.param("reddy.burstiness").astype(float)
    Ks, Bs = np.unique(K), np.unique(B)
    if len(Ks) < 2 or len(Bs) < 2:
        _refuse("reddy_phase", res, "it needs a K x B grid (reddy.num_classes and reddy.burstiness swept)")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, (key, title) in zip(axes, (("ic", "IC accuracy (novel classes)"), ("iw", "IW accuracy (i.i.d. context)"))):
        acc = r.field(f"reddy/final/{key}/accuracy").astype(float)
        grid = np.full((len(Bs), len(Ks)), np.nan)
        for bi, b in enumerate(Bs):
            for ki, k in enumerate(Ks):
                m = (B == b) & (K == k)
                if m.any():
                    grid[bi, ki] = np.nanmean(acc[m])
        im = ax.imshow(grid, origin="lower", vmin=0, vmax=1, cmap="viridis", aspect="auto")
        for bi in range(len(Bs)):
            for ki in range(len(Ks)):
                if np.isfinite(grid[bi, ki]):
                    ax.text(ki, bi, f"{grid[bi, ki]:.2f}", ha="center", va="center", fontsize=11,
                            color="white" if grid[bi, ki] < 0.6 else "black")
        ax.set_xticks(range(len(Ks)), [f"{int(k)}" for k in Ks])
        ax.set_yticks(range(len(Bs)), [f"{int(b)}" for b in Bs])
        ax.set_xlabel("K (number of classes)")
        ax.set_ylabel("B (burstiness; 0 = no bursty sequences)")
        ax.set_title(f"final {title}", fontsize=10)
        fig.colorbar(im, ax=ax, fraction=0.046)
    n_seeds = len(np.unique(r.seeds))
    fig.suptitle(f"Reddy 2024 (reddy kind): ICL vs IWL over K x B, p_C = {r.param('reddy.p_novel')[0]:g}, "
                 f"mean of {n_seeds} seed(s)", fontsize=11)
    fig.tight_layout()
    path = os.path.join(outdir, "reddy_phase.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


FIGURES = {
    "reddy_curves": Figure(fig_curves, "reddy_transition", "Reddy 2024: Test/IC/IC2/IW accuracy and losses vs step per setting",
                           lite_jobs=["reddy_transition", "reddy_labels"]),
    "reddy_progress": Figure(fig_progress, "reddy_transition", "Reddy 2024: attention progress measures vs step with IC accuracy"),
    "reddy_phase": Figure(fig_phase, "reddy_phase", "Reddy 2024: final IC / IW accuracy over K x B (heat maps)",
                          paper_jobs=["reddy_kb"]),
}
