"""Checkpoint selection and seed aggregation (PAPER-SPEC §6.1).

Selection: for each point take the LAST checkpoint at which the `pretraining` loss is minimal (the
p_relevant figure uses the pretraining 0-1 error instead) and read every split metric there. The
engine stores that choice (/points/selected/...); `recompute=True` redoes it from the curves.

Aggregation: points that differ only in their seed form one setting; its value is the mean over
seeds with SE = population std (ddof=0) / sqrt(n_seeds).
"""
import numpy as np

from .load import MissingData, hashable

PRETRAINING = "pretraining"
SELECTION_FIELDS = {"loss": "selected/index", "error": "selected/index_by_error"}


def last_argmin(curves):
    """(n, n_ckpt) -> (n,) int: index of the last minimal non-NaN value per row, -1 if a row is all NaN."""
    curves = np.atleast_2d(np.asarray(curves, dtype=np.float64))
    filled = np.where(np.isnan(curves), np.inf, curves)
    # argmin returns the first minimum; on the reversed rows that is the last one.
    last = curves.shape[1] - 1 - np.argmin(filled[:, ::-1], axis=1)
    last[np.all(np.isnan(curves), axis=1)] = -1
    return last


def selected_index(res, by="loss", recompute=False):
    """(n,) selected checkpoint index per point; by = 'loss' (default rule) or 'error' (p_relevant)."""
    if by not in SELECTION_FIELDS:
        raise ValueError(f"selection by '{by}': use 'loss' or 'error'")
    if not recompute and res.has(SELECTION_FIELDS[by]):
        return res.field(SELECTION_FIELDS[by]).astype(np.int64)
    return last_argmin(res.field(f"eval/{PRETRAINING}/{by}"))


def take_at(curves, index):
    """curves (n, n_ckpt), index (n,) -> (n,) curves[i, index[i]], NaN where index < 0."""
    curves = np.asarray(curves, dtype=np.float64)
    safe = np.clip(index, 0, curves.shape[1] - 1)
    values = curves[np.arange(len(index)), safe]
    return np.where(index >= 0, values, np.nan)


def selected_values(res, split, metric="error", by="loss", recompute=False):
    """(n,) value of `metric` on `split` at each point's selected checkpoint."""
    stored = f"selected/{split}/{metric}"
    if by == "loss" and not recompute and res.has(stored):
        return res.field(stored).astype(np.float64)
    curves = f"eval/{split}/{metric}"
    if not res.has(curves):
        raise MissingData(f"{res.name}: neither /points/{stored} nor /points/{curves}")
    return take_at(res.field(curves), selected_index(res, by, recompute))


def is_seed_key(key):
    return key == "seed" or key.endswith(".seed")


class Table:
    """One row per setting: params[key] (rows,), mean, se, n (seeds with a finite value)."""

    def __init__(self, params, mean, se, n):
        self.params, self.mean, self.se, self.n = params, mean, se, n

    def __len__(self):
        return len(self.mean)

    def rows(self, mask):
        return Table({k: v[mask] for k, v in self.params.items()}, self.mean[mask], self.se[mask], self.n[mask])

    def match(self, conditions):
        """Rows whose params equal every {key: value} (floats compared with a small tolerance)."""
        mask = np.ones(len(self), dtype=bool)
        for key, value in conditions.items():
            column = self.params[key]
            if column.dtype.kind == "f":
                mask &= np.isnan(column) if value is None or (isinstance(value, float) and np.isnan(value)) \
                    else np.isclose(column, float(value), rtol=1e-9, atol=1e-12)
            else:
                mask &= column == str(value)
        return self.rows(mask)


def settings(res):
    """The points grouped by every parameter except seeds: (params {key: (settings,)}, [member indices])."""
    keys = [k for k in sorted(res.params) if not is_seed_key(k)]
    columns = [hashable(res.params[k]) for k in keys]
    groups = {}
    for i, signature in enumerate(zip(*columns) if keys else [()] * len(res)):
        groups.setdefault(signature, []).append(i)
    first = np.array([members[0] for members in groups.values()], dtype=np.int64)
    return {k: res.params[k][first] for k in keys}, list(groups.values())


def _mean_se_columns(values):
    """values (m, k) of one setting -> mean, se, n, each (k,), over the finite entries of each column."""
    finite = np.isfinite(values)
    n = finite.sum(axis=0)
    filled = np.where(finite, values, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=0) / n
        deviation = np.where(finite, values - mean, 0.0)
        se = np.sqrt((deviation ** 2).sum(axis=0) / n) / np.sqrt(n)  # population std (ddof = 0) / sqrt(n)
    return mean, se, n


def mean_se(res, values):
    """Mean +- SE over seeds of per-point `values` (n,), grouping by every parameter except seeds.

    NaN values (a point without a valid checkpoint) are left out of their setting's mean.
    """
    values = np.asarray(values, dtype=np.float64)
    params, groups = settings(res)
    stats = [_mean_se_columns(values[members][:, None]) for members in groups]
    mean, se, n = (np.array([s[j][0] for s in stats]) for j in range(3))
    return Table(params, mean, se, n.astype(np.int64))


def mean_se_curves(res, curves):
    """Mean +- SE over seeds of per-point curves (n, k), entrywise, grouping as mean_se.

    Returns a Table whose mean, se and n are (settings, k); NaN entries (padding of a shorter curve)
    are left out of their column, and a column without any finite value has mean NaN and n 0.
    """
    curves = np.asarray(curves, dtype=np.float64)
    if curves.ndim != 2:
        raise ValueError(f"mean_se_curves: curves must be (points, k), got shape {curves.shape}")
    params, groups = settings(res)
    stats = [_mean_se_columns(curves[members]) for members in groups]
    mean, se, n = (np.array([s[j] for s in stats]).reshape(len(groups), curves.shape[1]) for j in range(3))
    return Table(params, mean, se, n.astype(np.int64))
