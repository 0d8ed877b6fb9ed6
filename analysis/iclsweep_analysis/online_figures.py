"""The figure of Algorithm 1, PAPER-SPEC §4.4 (run.model_kind = online): the gate alpha and its regret per step."""
import numpy as np

from . import style
from .aggregate import mean_se_curves
from .figure_common import Curve, Figure, _combinations, _fmt, _plot, _refuse, _save, _setting_keys, _short


ONLINE_GROUPS = (("high", "$C_H$", "tab:blue", "--"), ("low", "$C_L$", "tab:red", "-."))


def _online_curves(fig, online, name):
    path = f"online/{name}"
    if not online.has(path):
        _refuse(fig, online, f"its online points have no /points/{path}")
    curves = online.field(path).astype(np.float64)
    if curves.ndim != 2:
        _refuse(fig, online, f"/points/{path} is not a per-record curve (shape {curves.shape})")
    return curves


def online_curves(res):
    """(keys, {value tuple: {name: Curve}}) of the online points, one entry per setting (the values of `keys`,
    the parameters that vary besides seeds). Names: alpha_high, alpha_low (gate weight on g per key group) and
    regret_high, regret_low (the gate learner's cumulative regret online/regret_mix_<group> divided by t);
    x = log10 t, mean +- SE over seeds."""
    online = res.of_kind("online")
    if len(online) == 0:
        _refuse("online", res, "it has no done online points (run.model_kind = online)")
    t = _online_curves("online", online, "t")
    with np.errstate(invalid="ignore", divide="ignore"):
        log_t = np.log10(np.where(t > 0, t, np.nan))
        tables = {f"alpha_{g}": mean_se_curves(online, _online_curves("online", online, f"alpha_{g}")) for g, *_ in ONLINE_GROUPS}
        tables.update({f"regret_{g}": mean_se_curves(online, _online_curves("online", online, f"regret_mix_{g}") / t)
                       for g, *_ in ONLINE_GROUPS})
    x_table = mean_se_curves(online, log_t)
    if np.any(x_table.se[np.isfinite(x_table.se)] > 1e-9):
        _refuse("online", online, "seeds of one setting record at different steps t (online/t differs)")
    keys = _setting_keys(online)
    out = {}
    for combo in _combinations(online, keys):
        fixed = dict(zip(keys, combo))
        x = x_table.match(fixed)
        if len(x) != 1:  # cannot happen: the keys fix every non-seed parameter
            _refuse("online", online, f"{len(x)} settings match {fixed}")
        keep = np.isfinite(x.mean[0])  # a shorter record list is NaN-padded
        out[combo] = {}
        for name, table in tables.items():
            rows = table.match(fixed)
            out[combo][name] = Curve(x.mean[0][keep], rows.mean[0][keep], rows.se[0][keep], None)
            out[combo][name].seeds = int(rows.n[0].max())
    return keys, out


def fig_online(res, outdir):
    """Algorithm 1: per setting (one column per swept value, e.g. sigma), alpha on C_H and C_L vs log10 t
    (top) and the gate learner's regret / t on each group (bottom), mean +- SE over seeds."""
    keys, found = online_curves(res)
    fig, axes = style.subplots(2, len(found))
    for j, (combo, panel) in enumerate(found.items()):
        for g, group, color, linestyle in ONLINE_GROUPS:
            _plot(axes[0, j], panel[f"alpha_{g}"], rf"$\alpha$ on {group}", linestyle, color)
            _plot(axes[1, j], panel[f"regret_{g}"], f"gate regret / t, {group}", linestyle, color)
        described = ", ".join(f"{_short(k)} = {_fmt(v) if v is not None else 'unset'}" for k, v in zip(keys, combo))
        seeds = panel["alpha_high"].seeds
        axes[0, j].set_title(f"{described or 'single setting'} ({seeds} seed{'s' if seeds != 1 else ''})")
        axes[0, j].axhline(0.5, color="grey", linewidth=0.8, alpha=0.7)  # alpha > 0.5: the gate prefers g (IW)
        axes[0, j].set_ylim(-0.1, 1.1)
        axes[1, j].axhline(0.0, color="grey", linewidth=0.8, alpha=0.7)
        axes[1, j].set_xlabel(r"$\log_{10} t$")
        for ax in axes[:, j]:
            ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel(r"$\alpha$ (weight on g)")
    axes[1, 0].set_ylabel("gate regret / t (nats)")
    style.legend_below(fig, axes)
    return [_save(fig, outdir, "online.png", "Algorithm 1: gate $\\alpha$ and its regret per step", res.of_kind("online"))]


# This family's figures by name; figures.py, the registry, lists every family's FIGURES.
FIGURES = {
    "online": Figure(fig_online, "online", "Algorithm 1 (online points): alpha on C_H / C_L and gate regret / t vs t",
                     hint=", or any job with [run] model_kind = online"),
}
