"""The registry of every figure: name -> Figure, listed explicitly, one line per family module.

Each family module (transformer_figures, theory_figures, ...) defines its figures and their records in
its own FIGURES; this module imports every one of them and lists them here, so that plot.py, report.py
and the API see the same set whatever else was imported. A new family is one module and one line below.

    figures.draw("p_high", res, "figs/")   # -> list of written PNG paths, or raises FigureUnavailable
"""
from . import (lm_figures, online_figures, omniglot_figures, raventos_figures, readout_figures, reddy_figures,
               stylized_figures, theory_figures, transformer_figures)
from .figure_common import Figure, FigureUnavailable  # noqa: F401  (the record and the refusal draw() hands out)

# The order is the order of `plot.py --figure all` and of its help text.
FAMILIES = (
    theory_figures,
    transformer_figures,
    stylized_figures,
    online_figures,
    omniglot_figures,
    readout_figures,
    lm_figures,
    reddy_figures,
    raventos_figures,
)


def _gather(families):
    """One dict of every family's figures; a name claimed twice is a programming error, not a silent override."""
    gathered = {}
    for family in families:
        for name, spec in family.FIGURES.items():
            if name in gathered:
                raise RuntimeError(f"figure '{name}' is defined by {family.__name__} and by another family module")
            gathered[name] = spec
    return gathered


FIGURES = _gather(FAMILIES)


def draw(name, res, outdir, **options):
    """Draws figure `name` from Results `res` into `outdir`; returns the written paths.

    `options` are figure-specific keywords (Figure.options, e.g. gh="p0" for `stylized`); a figure
    ignores options it does not take, so one option set can be passed to every figure.
    """
    if name not in FIGURES:
        raise KeyError(f"unknown figure '{name}'; the figures are: {', '.join(FIGURES)}")
    spec = FIGURES[name]
    return spec.draw(res, outdir, **{k: v for k, v in options.items() if k in spec.options})
