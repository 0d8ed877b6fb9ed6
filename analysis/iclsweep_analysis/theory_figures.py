"""The theory figure of PAPER-SPEC §4.6 (run.model_kind = theory): the IW curve against the IC bounds per k."""
import math

import numpy as np

from . import style
from .figure_common import Figure, _refuse, _save


def _first_field(res, *paths):
    for p in paths:
        if res.has(p):
            return res.field(p).astype(np.float64)
    return None


def _flag(res, key):
    """(n,) bool of a boolean parameter stored as a number or as text ('1', 'true', 'on')."""
    values = res.param(key, default="0")
    if values.dtype.kind == "f":
        return values > 0
    return np.isin(np.char.lower(values.astype(str)), ("1", "true", "yes", "on"))


def fig_theory(res, outdir):
    th = res.of_kind("theory")
    if len(th) == 0:
        _refuse("theory", res, "it has no done theory points (run.model_kind = theory)")
    x = _first_field(th, "theory/x", "theory/log2_nx")
    iw = _first_field(th, "theory/iw_curve")
    ic_lower = _first_field(th, "theory/ic_lower")
    if x is None or iw is None or ic_lower is None:
        _refuse("theory", res, "its theory points lack /points/theory/{x, iw_curve, ic_lower}")
    iw_lower = _first_field(th, "theory/iw_band_lower", "theory/iw_lower")
    iw_upper = _first_field(th, "theory/iw_band_upper", "theory/iw_upper")
    ic_upper = _first_field(th, "theory/ic_upper")
    y_limit = _first_field(th, "theory/y_limit")
    versions = th.param("theory.version", default="v2").astype(str)
    natural_log = _flag(th, "theory.axis_natural_log") | _flag(th, "theory.compat_reference")
    paths = []
    for p in range(len(th)):
        version = versions[p]
        k_max = int(np.sum(np.isfinite(ic_lower[p])))  # the field is NaN-padded to the widest L
        ncols = min(4, k_max)
        fig, axes = style.subplots(math.ceil(k_max / ncols), ncols, sharey=True)
        finite = np.isfinite(x[p]) & np.isfinite(iw[p])
        xs = x[p][finite]
        for k in range(k_max):
            ax = axes.flat[k]
            if version == "v1":  # IW upper bound solid; IC lower bound only (§4.6b)
                ax.plot(xs, iw[p][finite], color="#0173b2", label="IW bound")
                ax.axhline(ic_lower[p, k], color="red", linestyle="--", label="IC lower bound")
            else:
                ax.plot(xs, iw[p][finite], color="blue", linestyle="--", label="IW")
                if iw_lower is not None and iw_upper is not None:
                    ax.fill_between(xs, np.maximum(iw_lower[p][finite], 0.0), iw_upper[p][finite], color="blue",
                                    alpha=0.15, linewidth=0)
                ax.axhline(ic_lower[p, k], color="red", linestyle="--", label="IC bounds")
                if ic_upper is not None:
                    ax.axhline(ic_upper[p, k], color="red", linestyle="--")
                    ax.axhspan(ic_lower[p, k], ic_upper[p, k], color="red", alpha=0.15, linewidth=0)
            ax.set_title(f"k = {k}")
            ax.grid(alpha=0.3)
        for ax in axes.flat[k_max:]:
            ax.set_visible(False)
        if y_limit is not None and np.all(np.isfinite(y_limit[p])):
            low, high = y_limit[p]
        else:
            low, high = -0.01, max(np.nanmax(ic_lower[p]), np.nanmax(iw[p])) + 0.1
        axes.flat[0].set_ylim(low, high)
        for ax in axes[-1]:
            ax.set_xlabel(r"$\ln N_x$ (reference axis, Q9)" if natural_log[p] else r"$N_x$ (in $\log_2$)")
        for ax in axes[:, 0]:
            ax.set_ylabel("Loss")
        style.legend_below(fig, axes)
        same = np.sum(versions == version)
        reference = _flag(th, "theory.compat_reference")[p]
        if same == 1:
            filename = f"theory_{version}.png"
        elif same == 2 and np.sum(_flag(th, "theory.compat_reference")[versions == version]) == 1:
            filename = f"theory_{version}_reference.png" if reference else f"theory_{version}.png"  # the job's grid
        else:
            filename = f"theory_{version}_{th.ids[p]}.png"
        paths.append(_save(fig, outdir, filename, f"Theory ({version}): IW vs IC loss, L = {k_max}"))
    return paths


# This family's figures by name; figures.py, the registry, lists every family's FIGURES.
FIGURES = {
    "theory": Figure(fig_theory, "theory", "§4.6 IW curve vs IC bounds per k (v2 or v1 recipe, from theory.version)"),
}
