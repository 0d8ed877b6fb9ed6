"""Training dynamics of single points: loss spikes after convergence and where checkpoint selection lands.

    from iclsweep_analysis import dynamics
    events = dynamics.loss_spikes(step, loss)                  # [Spike], one per run of high blocks
    table = dynamics.spike_table(res)                          # one row per done point
    dynamics.fig_training_curve(res, "12dcce4baa32d2ee", "docs/figures")

Command line (docs/training-dynamics.md):

    /usr/bin/python3 analysis/iclsweep_analysis/dynamics.py RESULTS.h5 --spikes
    /usr/bin/python3 analysis/iclsweep_analysis/dynamics.py RESULTS.h5 --curve POINT_ID --out docs/figures

A spike is a run of consecutive logged blocks (train.log_interval steps each, mean training loss) above a
threshold after the run has converged (default: blocks ending after step 5000 with mean loss > 0.05, the
definition used in issue 14).
"""
import argparse
import os
import sys
from dataclasses import dataclass

if __package__ in (None, ""):  # run as a script: make the package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from iclsweep_analysis.aggregate import last_argmin  # noqa: E402
from iclsweep_analysis.load import MissingData, load  # noqa: E402

SPIKE_AFTER = 5000
SPIKE_THRESHOLD = 0.05


@dataclass
class Spike:
    start: int      # step at the end of the first block above the threshold
    peak_step: int  # step at the end of the highest block
    peak: float     # its mean loss
    end: int        # step at the end of the last block above the threshold
    recovered: int  # steps from the first high block to the first block back below (-1: never recovered)


def loss_spikes(step, loss, after=SPIKE_AFTER, threshold=SPIKE_THRESHOLD):
    """Runs of consecutive logged blocks ending after `after` with mean loss > threshold (NaN padding ignored)."""
    step = np.asarray(step, dtype=np.float64)
    loss = np.asarray(loss, dtype=np.float64)
    keep = ~np.isnan(step) & ~np.isnan(loss)
    step, loss = step[keep], loss[keep]
    high = (step > after) & (loss > threshold)
    events, i = [], 0
    while i < len(step):
        if not high[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(step) and high[j + 1]:
            j += 1
        peak = i + int(np.argmax(loss[i:j + 1]))
        recovered = int(step[j + 1] - step[i]) if j + 1 < len(step) else -1
        events.append(Spike(int(step[i]), int(step[peak]), float(loss[peak]), int(step[j]), recovered))
        i = j + 1
    return events


def _row(res, path, i):
    if not res.has(path):
        raise MissingData(f"{res.name}: no /points/{path} (a training run's curves; docs/results-format.md)")
    return np.asarray(res.field(path)[i], dtype=np.float64)


def _point(res, point):
    """Row index of a point given by id (str) or row number (int)."""
    if isinstance(point, str):
        rows = np.flatnonzero(np.asarray(res.ids).astype(str) == point)
        if len(rows) == 0:
            raise MissingData(f"{res.name}: no done point with id {point}")
        return int(rows[0])
    return int(point)


def spike_table(res, prefix="", after=SPIKE_AFTER, threshold=SPIKE_THRESHOLD):
    """Per done point: (id, params text, number of spikes, the largest (step, loss), selected step, last step)."""
    rows = []
    for i in range(len(res)):
        events = loss_spikes(_row(res, prefix + "train/step", i), _row(res, prefix + "train/loss", i), after, threshold)
        ckpt = _row(res, prefix + "checkpoint/step", i)
        sel = int(res.field(prefix + "selected/index")[i]) if res.has(prefix + "selected/index") else -1
        biggest = max(events, key=lambda e: e.peak) if events else None
        rows.append({"id": str(res.ids[i]), "seed": int(res.seeds[i]), "spikes": len(events),
                     "max_spike": (biggest.peak_step, biggest.peak) if biggest else None,
                     "selected_step": int(ckpt[sel]) if sel >= 0 else -1, "last_step": int(np.nanmax(ckpt))})
    return rows


def fig_training_curve(res, point, outdir, prefix="", filename=None, after=SPIKE_AFTER, threshold=SPIKE_THRESHOLD):
    """One point's training-loss curve (log y) with its spikes marked, the pretraining loss per checkpoint, and
    the selected checkpoint (§6.1). Returns the PNG path."""
    i = _point(res, point)
    step, loss = _row(res, prefix + "train/step", i), _row(res, prefix + "train/loss", i)
    ckpt, pre = _row(res, prefix + "checkpoint/step", i), _row(res, prefix + "eval/pretraining/loss", i)
    keep = ~np.isnan(ckpt)
    ckpt, pre = ckpt[keep], pre[keep]
    stored = prefix + "selected/index"
    sel = int(res.field(stored)[i]) if res.has(stored) else int(last_argmin(pre[None, :])[0])
    events = loss_spikes(step, loss, after, threshold)
    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    ax.plot(step, loss, lw=0.6, color="tab:blue", label=f"training loss (mean per {int(step[1] - step[0])} steps)")
    ax.plot(ckpt, pre, lw=1.0, color="black", marker=".", ms=3, label="pretraining loss per checkpoint")
    ax.axhline(threshold, color="grey", lw=0.6, ls=":", label=f"spike threshold {threshold:g} (after step {after})")
    if events:
        ax.plot([e.peak_step for e in events], [e.peak for e in events], ls="", marker="v", ms=6, color="tab:orange",
                label=f"spikes ({len(events)}): blocks above the threshold")
    ax.axvline(ckpt[sel], color="tab:red", lw=1.0, ls="--",
               label=f"selected checkpoint: step {int(ckpt[sel])} (last minimal pretraining loss)")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (log scale)")
    ax.legend(fontsize=7, loc="upper right", framealpha=0.9)
    params = {k: v[i] for k, v in res.params.items()}
    described = ", ".join(f"{name} = {_fmt(params[k])}" for k, name in
                          (("data.input_noise_std", "σ"), ("data.dataset_size", "N"), ("data.p_relevant_context", "p_rel"),
                           ("data.seed", "seed")) if k in params)
    ax.set_title(f"{prefix}point {res.ids[i]}: {described}, {int(np.nanmax(step))} steps", fontsize=9)
    fig.tight_layout()
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, filename or f"training_curve_{res.ids[i]}.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _fmt(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return str(int(f)) if f.is_integer() else f"{f:g}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results")
    parser.add_argument("--spikes", action="store_true", help="print one line per done point: spikes, selected step")
    parser.add_argument("--curve", metavar="POINT_ID", help="draw this point's training curve")
    parser.add_argument("--out", default=".", help="output directory of --curve")
    parser.add_argument("--prefix", default="", help="stage prefix for gated points (iw/, ic/, alpha/)")
    parser.add_argument("--after", type=int, default=SPIKE_AFTER)
    parser.add_argument("--threshold", type=float, default=SPIKE_THRESHOLD)
    args = parser.parse_args(argv)
    try:
        res = load(args.results)
        if args.spikes:
            rows = spike_table(res, args.prefix, args.after, args.threshold)
            for r in rows:
                big = f"{r['max_spike'][1]:.3f} at step {r['max_spike'][0]}" if r["max_spike"] else "-"
                print(f"{r['id']}  seed {r['seed']}  spikes {r['spikes']:3d}  largest {big:24s}  "
                      f"selected step {r['selected_step']} of {r['last_step']}")
            with_spikes = sum(r["spikes"] > 0 for r in rows)
            early = sum(r["selected_step"] < r["last_step"] for r in rows)
            print(f"{with_spikes} of {len(rows)} points have a spike; {early} select a checkpoint before the last")
        if args.curve:
            print("wrote", fig_training_curve(res, args.curve, args.out, args.prefix, after=args.after,
                                              threshold=args.threshold))
    except MissingData as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
