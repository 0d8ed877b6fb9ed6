"""Figures of the Raventós 2023 family (run.model_kind = raventos; PEERS-SPEC §3; issue 21 part 2).

raventos_threshold.png: against log2 M (the pretraining task pool; M = inf drawn at the right edge),
  (a) MSE/D on T_Pretrain and (b) on T_True of the trained model (one line per batch size), with the exact
      dMMSE and Ridge baselines on the same evaluation sequences;
  (c) Δ(model, Ridge) and Δ(model, dMMSE) on T_True.
The measured threshold M* is marked in every panel. It is measured as in §3.4: where Δ(model, Ridge) on
T_True of the larger batch crosses below that of the smaller batch (more data per task pulls the model
toward dMMSE below M*, toward Ridge above it), interpolated in log2 M. With a single batch size the
fallback is the first M where the model is closer to Ridge than to dMMSE on T_True.
Each line is the mean over seeds.

raventos_dynamics.png: over training steps, Δ(model, dMMSE) and Δ(model, Ridge) on T_Pretrain, one line per
M (and batch size): whether longer training pulls a small-M model toward dMMSE (how the lite threshold depends
on the budget).
"""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .figure_common import Figure, FigureUnavailable  # noqa: E402

KIND = "raventos"
M_KEY = "raventos.num_tasks"
B_KEY = "raventos.batch_size"


def _mean_by(values, keys):
    """{key: mean of values over the rows with that key} (NaN left out)."""
    out = {}
    for k in sorted(set(keys)):
        v = values[keys == k]
        v = v[np.isfinite(v)]
        out[k] = float(np.mean(v)) if v.size else float("nan")
    return out


def curves(res):
    """{batch: {field: (log2 M array, mean values)}} and the x position used for M = inf.

    Fields: loss_pre, loss_true, ridge_pre, ridge_true, dmmse_pre, dmmse_true, d_ridge_true, d_dmmse_true."""
    rv = res.of_kind(KIND)
    if len(rv) == 0:
        raise FigureUnavailable("no done raventos points: run jobs/lite/raventos_threshold.ini or jobs/paper/raventos_threshold.ini")
    M = rv.param(M_KEY).astype(np.float64)
    B = rv.param(B_KEY, default=256).astype(np.float64)
    finite = M[M > 0]
    x = np.where(M > 0, np.log2(np.where(M > 0, M, 1)), np.nan)
    x_inf = (np.max(np.log2(finite)) if finite.size else 0.0) + 2.0
    x = np.where(M > 0, x, x_inf)
    fields = {
        "loss_pre": "final/pretrain/loss", "loss_true": "final/true/loss",
        "ridge_pre": "baseline/pretrain/ridge_loss", "ridge_true": "baseline/true/ridge_loss",
        "dmmse_pre": "baseline/pretrain/dmmse_loss", "dmmse_true": "baseline/true/dmmse_loss",
        "d_ridge_true": "final/true/dist_ridge", "d_dmmse_true": "final/true/dist_dmmse",
    }
    out = {}
    for b in sorted(set(B.tolist())):
        mask = B == b
        out[b] = {}
        for name, path in fields.items():
            means = _mean_by(rv.field(path)[mask].astype(np.float64), x[mask])
            xs = np.array(sorted(means))
            out[b][name] = (xs, np.array([means[k] for k in xs]))
    return out, x_inf


def threshold(cv, x_inf):
    """(log2 M*, how) from the curves of curves(); (nan, reason) when none is found."""
    batches = sorted(cv)
    if len(batches) >= 2:
        small, large = batches[0], batches[-1]
        xs, ds = cv[small]["d_ridge_true"]
        xl, dl = cv[large]["d_ridge_true"]
        common = [v for v in xs if v in set(xl) and v != x_inf]
        diff = np.array([dl[list(xl).index(v)] - ds[list(xs).index(v)] for v in common])
        for i in range(len(common) - 1):
            if diff[i] > 0 and diff[i + 1] <= 0:
                t = diff[i] / (diff[i] - diff[i + 1])
                return common[i] + t * (common[i + 1] - common[i]), f"batch {int(small)} vs {int(large)} cross-over of Δ(model, Ridge) on T_True"
    # Fallback: the model becomes closer to Ridge than to dMMSE on T_True.
    b = batches[-1]
    xs, dr = cv[b]["d_ridge_true"]
    _, dd = cv[b]["d_dmmse_true"]
    diff = dr - dd
    for i in range(len(xs) - 1):
        if xs[i + 1] == x_inf:
            break
        if diff[i] > 0 and diff[i + 1] <= 0:
            t = diff[i] / (diff[i] - diff[i + 1])
            return xs[i] + t * (xs[i + 1] - xs[i]), f"batch {int(b)}: Δ(model, Ridge) = Δ(model, dMMSE) on T_True"
    return float("nan"), "no cross-over in the swept M"


def fig_raventos_threshold(res, outdir):
    cv, x_inf = curves(res)
    log2_star, how = threshold(cv, x_inf)
    colors = plt.get_cmap("tab10").colors
    fig, axes = plt.subplots(1, 3, figsize=(15.5, 4.9))
    panels = ((axes[0], "pre", "(a) T_Pretrain: MSE / D"), (axes[1], "true", "(b) T_True: MSE / D"))
    any_b = sorted(cv)[0]
    for ax, dist, title in panels:
        xs, r = cv[any_b][f"ridge_{dist}"]
        ax.plot(xs, r, "-", color="tab:blue", linewidth=2.2, alpha=0.6, label="Ridge (exact)")
        xd, d = cv[any_b][f"dmmse_{dist}"]
        ok = np.isfinite(d)
        ax.plot(xd[ok], d[ok], "-", color="tab:orange", linewidth=2.2, alpha=0.6, label="dMMSE (exact)")
        for i, b in enumerate(sorted(cv)):
            xm, m = cv[b][f"loss_{dist}"]
            ax.plot(xm, m, "o--", color=("black", "tab:red", "tab:green")[i % 3], markersize=4, label=f"transformer, batch {int(b)}")
        ax.set_title(title, fontsize=10)
        ax.set_yscale("log")
    ax = axes[2]
    for i, b in enumerate(sorted(cv)):
        xm, m = cv[b]["d_ridge_true"]
        ax.plot(xm, m, "o-", color=colors[(2 * i) % 10], markersize=4, label=f"Δ(model, Ridge), batch {int(b)}")
        xm, m = cv[b]["d_dmmse_true"]
        ok = np.isfinite(m)
        ax.plot(xm[ok], m[ok], "s:", color=colors[(2 * i + 1) % 10], markersize=4, label=f"Δ(model, dMMSE), batch {int(b)}")
    ax.set_yscale("log")
    ax.set_title("(c) T_True: distance to the baselines (per D)", fontsize=10)
    all_x = sorted({v for b in cv for v in cv[b]["loss_true"][0]})
    ticks = [v for v in all_x if v != x_inf]
    for a in axes:
        a.set_xticks(ticks + ([x_inf] if x_inf in all_x else []))
        a.set_xticklabels([f"{int(round(v))}" for v in ticks] + (["∞"] if x_inf in all_x else []), fontsize=8)
        a.set_xlabel("log2 M (number of pretraining tasks)")
        a.grid(alpha=0.3)
        if np.isfinite(log2_star):
            a.axvline(log2_star, color="gray", linestyle="-.", linewidth=1.2)
    axes[0].set_ylabel("MSE / D (mean over the K positions)")
    for a in axes:
        a.legend(fontsize=7.5, loc="best", framealpha=0.85)
    star = f"measured M* ≈ 2^{log2_star:.1f} ({how})" if np.isfinite(log2_star) else f"no threshold found ({how})"
    fig.suptitle(f"Raventós 2023 task-diversity threshold — {star}", fontsize=10.5)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, "raventos_threshold.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


def fig_raventos_dynamics(res, outdir):
    rv = res.of_kind(KIND)
    if len(rv) == 0:
        raise FigureUnavailable("no done raventos points: run jobs/lite/raventos_threshold.ini or jobs/paper/raventos_threshold.ini")
    M = rv.param(M_KEY).astype(np.float64)
    B = rv.param(B_KEY, default=256).astype(np.float64)
    steps = rv.field("checkpoint/step").astype(np.float64)
    settings = sorted({(b, m) for b, m in zip(B.tolist(), M.tolist())}, key=lambda t: (t[0], t[1] if t[1] > 0 else 1e30))
    finite_m = sorted({m for m in M.tolist() if m > 0})
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 4.8), sharex=True)
    styles = {b: st for b, st in zip(sorted(set(B.tolist())), ("-", "--", ":"))}
    for b, m in settings:
        mask = (B == b) & (M == m)
        x = steps[mask][0]
        ok = np.isfinite(x)
        color = "black" if m == 0 else cmap(finite_m.index(m) / max(1, len(finite_m) - 1))
        label = f"M = {'inf' if m == 0 else f'2^{int(round(np.log2(m)))}'}, batch {int(b)}"
        for ax, path in zip(axes, ("eval/pretrain/dist_dmmse", "eval/pretrain/dist_ridge")):
            y = np.nanmean(rv.field(path)[mask].astype(np.float64), axis=0)
            if np.isfinite(y[ok]).any():
                ax.plot(x[ok], y[ok], styles[b], color=color, label=label, linewidth=1.5)
    axes[0].set_title("Δ(model, dMMSE) on T_Pretrain", fontsize=10)
    axes[1].set_title("Δ(model, Ridge) on T_Pretrain", fontsize=10)
    for ax in axes:
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("distance per D")
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center right", fontsize=7.5, frameon=False)
    fig.suptitle("Raventós 2023: distance to the two Bayes baselines over training (T_Pretrain)", fontsize=10.5)
    fig.tight_layout(rect=(0, 0, 0.83, 0.94))
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, "raventos_dynamics.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


FIGURE = Figure(fig_raventos_threshold, "raventos_threshold",
                "Raventós 2023 (raventos points): MSE/D against log2 M on T_Pretrain and T_True with the exact Ridge and "
                "dMMSE baselines, distances to both, and the measured task-diversity threshold M*")

# This family's figures by name; figures.py, the registry, lists every family's FIGURES.
DYNAMICS = Figure(fig_raventos_dynamics, "raventos_threshold",
                  "Raventós 2023 (raventos points): distance to dMMSE and to Ridge on T_Pretrain over training, per M and batch",
                  lite_jobs=["raventos_threshold", "raventos_longer"])

FIGURES = {"raventos_threshold": FIGURE, "raventos_dynamics": DYNAMICS}
