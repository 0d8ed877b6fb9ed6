"""Tidy tables (pandas, Debian's python3-pandas) of a results file.

    from iclsweep_analysis import load, tidy
    res = load.load("results/local.h5", statuses=load.ALL_STATUSES)   # or load.load(...) for done points
    df = tidy.points_frame(res)                  # one row per point
    long = tidy.checkpoints_frame(res)           # one row per (point, checkpoint, split)
    summary = tidy.summary_frame(load.load("results/local.h5"))   # mean / se / n over seeds per setting

points_frame columns: index, id, seed, status ('done' / 'pending' / 'failed'), model_kind, the grid keys
(the file's grid_keys, plus any other parameter that varies), selected_index, selected_step, then one column
"<split>/<metric>" per split and metric at the selected checkpoint (§6.1).

A new per-split metric needs no change here: any field eval/<split>/<name> (and prefix + that, e.g. for the
gated model's "alpha/" view) is found by metrics="all", and metrics=(..., "<name>") selects it.
"""
import numpy as np
import pandas as pd

from .aggregate import is_seed_key, mean_se, selected_index, take_at
from .load import STATUS_DONE, STATUS_FAILED, STATUS_PENDING, MissingData

STATUS_NAMES = {STATUS_PENDING: "pending", STATUS_DONE: "done", STATUS_FAILED: "failed"}
DEFAULT_METRICS = ("error", "loss")


def _key_columns(res):
    keys = list(res.grid_keys) if res.grid_keys else []
    keys += [k for k in res.varying_keys() if k not in keys]
    return [k for k in keys if k in res.params]


def available(res, prefix=""):
    """{split: [metrics]} of the per-checkpoint fields prefix + eval/<split>/<metric> of these points."""
    out = {}
    head = prefix + "eval/"
    for path in res.fields:
        if path.startswith(head) and path.count("/") == head.count("/") + 1:
            split, metric = path[len(head):].split("/")
            out.setdefault(split, []).append(metric)
    return {s: sorted(m) for s, m in sorted(out.items())}


def _choose(res, prefix, splits, metrics):
    found = available(res, prefix)
    chosen_splits = list(found) if splits in (None, "all") else list(splits)
    out = []
    for split in chosen_splits:
        have = found.get(split, [])
        want = have if metrics in (None, "all") else [m for m in metrics if m in have]
        out += [(split, m) for m in want]
    return out


def points_frame(res, splits=None, metrics=DEFAULT_METRICS, by="loss", prefix="", recompute=False):
    """One row per point of `res` (pass load(..., statuses=ALL_STATUSES) to include pending and failed ones:
    their metrics are NaN). `splits`: list or None (all); `metrics`: tuple, or "all". `by`: checkpoint
    selection by the pretraining 'loss' (default, §6.1) or 'error' (the p_relevant figure). `prefix`
    selects a view of a gated point ("alpha/", "iw/", "ic/")."""
    data = {"index": res.indices, "id": res.ids, "seed": res.seeds,
            "status": [STATUS_NAMES.get(int(s), str(s)) for s in res.point_status],
            "model_kind": res.model_kind()}
    if len(set(res.sources)) > 1:
        data["file"] = res.sources
    for k in _key_columns(res):
        data[k] = res.params[k]
    pairs = _choose(res, prefix, splits, metrics)
    done = res.point_status == STATUS_DONE
    index = np.full(len(res), -1, dtype=np.int64)
    view = _View(res, prefix)
    if pairs or view.has("eval/pretraining/loss"):
        try:
            index = np.where(done, selected_index(view, by, recompute), -1)
        except MissingData:
            pass
    data["selected_index"] = index
    steps = res.fields.get(prefix + "checkpoint/step")
    data["selected_step"] = take_at(steps, index) if steps is not None else np.full(len(res), np.nan)
    for split, metric in pairs:
        data[f"{split}/{metric}"] = np.where(done, take_at(res.fields[f"{prefix}eval/{split}/{metric}"], index), np.nan)
    return pd.DataFrame(data)


def checkpoints_frame(res, splits=None, metrics=DEFAULT_METRICS, by="loss", prefix=""):
    """Long form: one row per (done point, checkpoint, split) with columns index, id, seed, the grid keys,
    checkpoint (0-based), step, selected (bool: the §6.1 checkpoint), split, and one column per metric."""
    res = res.subset(res.point_status == STATUS_DONE)
    pairs = _choose(res, prefix, splits, metrics)
    view = _View(res, prefix)
    chosen = selected_index(view, by) if view.has("eval/pretraining/" + by) or view.has("selected/index") \
        else np.full(len(res), -1)
    steps = res.fields.get(prefix + "checkpoint/step")
    frames = []
    keys = _key_columns(res)
    split_names = list(dict.fromkeys(s for s, _ in pairs))
    for split in split_names:
        ms = [m for s, m in pairs if s == split]
        n_ckpt = res.fields[f"{prefix}eval/{split}/{ms[0]}"].shape[1]
        rows, ckpt = np.repeat(np.arange(len(res)), n_ckpt), np.tile(np.arange(n_ckpt), len(res))
        data = {"index": res.indices[rows], "id": res.ids[rows], "seed": res.seeds[rows]}
        for k in keys:
            data[k] = res.params[k][rows]
        data["checkpoint"] = ckpt
        data["step"] = steps[rows, ckpt] if steps is not None and steps.shape[1] >= n_ckpt else np.nan
        data["selected"] = chosen[rows] == ckpt
        data["split"] = split
        for m in ms:
            data[m] = res.fields[f"{prefix}eval/{split}/{m}"].reshape(-1)
        frame = pd.DataFrame(data)
        frames.append(frame[np.isfinite(frame[ms]).any(axis=1).to_numpy()])  # drop padding beyond a short curve
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def summary_frame(res, splits, metric="error", by="loss", recompute=False):
    """One row per setting (every parameter except seeds): the setting's parameters that vary, n seeds and
    "<name>/mean", "<name>/se" per (split, name) in `splits` [(split, short name)], at the selected
    checkpoint, mean +- SE over seeds (SE = std ddof=0 / sqrt(n))."""
    from .aggregate import selected_values
    columns, first = {}, None
    for split, name in splits:
        try:
            table = mean_se(res, selected_values(res, split, metric, by, recompute))
        except MissingData:
            continue
        if first is None:
            first = table
            keys = [k for k in res.varying_keys() if not is_seed_key(k)]
            for k in keys:
                columns[k] = table.params[k]
            columns["seeds"] = table.n
        columns[f"{name}/mean"] = table.mean
        columns[f"{name}/se"] = np.where(table.n > 1, table.se, np.nan)  # SE of one seed is undefined
    return pd.DataFrame(columns)


def to_xarray(frame, value, dims=None):
    """frame[value] as an xarray.DataArray over `dims` (default: the grid-key columns and seed). Needs
    Debian's python3-xarray (optional; ImportError names the package otherwise)."""
    try:
        import xarray  # noqa: F401
    except ImportError as e:
        raise ImportError("tidy.to_xarray needs xarray: apt-get install python3-xarray") from e
    if dims is None:
        dims = [c for c in frame.columns if "." in c and "/" not in c and not is_seed_key(c)] + ["seed"]
    return frame.set_index(list(dims))[value].to_xarray()


class _View:
    """The fields of a gated point's view (prefix 'alpha/', 'iw/', 'ic/') as if they were a transformer's."""

    def __init__(self, res, prefix):
        self.res, self.prefix = res, prefix
        self.name = res.name

    def has(self, path):
        return self.res.has(self.prefix + path)

    def field(self, path):
        return self.res.field(self.prefix + path)
