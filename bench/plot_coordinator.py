#!/usr/bin/python3
"""Figure of bench/coordinator_bench.sh results: points/s and coordinator CPU per label and rank count.

    /usr/bin/python3 bench/plot_coordinator.py RESULTS.csv --out docs/figures/coordinator_bench.png [--title TEXT]

RESULTS.csv rows: label,ranks,points,seconds,points_per_s,coord_cpu_s,coord_cpu_percent,resume_s
(as appended by coordinator_bench.sh --csv). Labels are drawn in the order they first appear.
"""
import argparse
import csv

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("--out", required=True)
    ap.add_argument("--title", default="1200 short points (bench/jobs/short_points.ini)")
    a = ap.parse_args()
    rows = list(csv.reader(open(a.csv)))
    labels, ranks = [], []
    data = {}
    for r in rows:
        label, np_, rate, cpu_pct, resume = r[0], int(r[1]), float(r[4]), float(r[6]), float(r[7])
        if label not in labels:
            labels.append(label)
        if np_ not in ranks:
            ranks.append(np_)
        data[(label, np_)] = (rate, cpu_pct, resume)
    ranks.sort()
    metrics = [("points per second", 0), ("coordinator CPU (% of one core)", 1), ("resume of the complete file (s)", 2)]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    width = 0.8 / len(labels)
    colors = ["#999999", "#1f77b4", "#ff7f0e", "#2ca02c"]
    for ax, (name, k) in zip(axes, metrics):
        for i, label in enumerate(labels):
            xs = [j + (i - (len(labels) - 1) / 2) * width for j in range(len(ranks))]
            ys = [data.get((label, n), (float("nan"),) * 3)[k] for n in ranks]
            bars = ax.bar(xs, ys, width, label=label, color=colors[i % len(colors)])
            for b, y in zip(bars, ys):
                ax.annotate(f"{y:.3g}", (b.get_x() + b.get_width() / 2, y), ha="center", va="bottom", fontsize=8)
        ax.set_xticks(range(len(ranks)))
        ax.set_xticklabels([f"{n} ranks" for n in ranks])
        ax.set_title(name, fontsize=10)
        ax.margins(y=0.18)
    axes[0].legend(fontsize=8, loc="upper left")
    fig.suptitle(a.title, fontsize=10)
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)


if __name__ == "__main__":
    main()
