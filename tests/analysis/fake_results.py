"""Small synthetic results files following docs/results-format.md, for the analysis tests.

write_file(path, points) writes a list of point dicts {"params": {...}, "status": 1, "seed": s,
"fields": {path: array}}; fields missing from a point are NaN (-1 for integer fields), as the store
pads them. transformer_points(...) / theory_points(...) / gated_points(...) / online_points(...) build such points.
"""
import itertools
import math

import h5py
import numpy as np

SPLITS = ["pretraining"] + [f"eval-{r}-{c}{f}" for r in ("default", "relevant_context", "irrelevant_context")
                            for c in ("none", "high_prob", "low_prob") for f in ("", "-flip_label")]
INT_FIELDS = ("checkpoint/step", "train/step", "selected/index", "selected/index_by_error", "iw/selected/index",
              "ic/selected/index", "alpha/selected/index", "alpha/own_selected_iw/index", "alpha/own_selected_ic/index")
V1_SPLITS = [f"eval-{r}-{c}{f}" for f in ("", "-flip_label") for r in ("relevant_context", "irrelevant_context")
             for c in ("high_prob", "low_prob")]

DEFAULT_PARAMS = {
    "data.dataset_size": 64.0, "data.num_contexts": 1.0, "data.num_high_prob_classes": 5.0,
    "data.num_low_prob_classes": 5.0, "data.p_high": 0.9, "data.p_relevant_context": 0.9,
    "data.input_noise_std": 0.2, "data.label_noise": 0.0, "data.num_relevant_contexts": math.nan,
    "data.conditioning": "none", "data.seed": 0.0, "run.model_kind": "transformer", "train.steps": 100.0,
}


def last_min(values):
    best = min(v for v in values if not math.isnan(v))
    return max(i for i, v in enumerate(values) if v == best)


def transformer_point(params, seed, n_ckpt=4, rng=None, splits=SPLITS):
    """One transformer point with random curves in [0, 1]; selected/* follow the §6.1 rule."""
    rng = rng or np.random.default_rng(seed)
    fields = {"checkpoint/step": np.arange(n_ckpt) * 10, "train/step": np.arange(1, 6) * 20,
              "train/loss": rng.uniform(0, 2, 5)}
    for split in splits:
        fields[f"eval/{split}/error"] = rng.uniform(0, 1, n_ckpt).round(2)  # ties happen: exercises "last"
        fields[f"eval/{split}/loss"] = rng.uniform(0, 2, n_ckpt).round(1)
        fields[f"eval/{split}/context_fraction"] = rng.uniform(0, 1, n_ckpt)
    if "pretraining" in splits:
        chosen = last_min(fields["eval/pretraining/loss"])
        fields["selected/index"] = chosen
        fields["selected/index_by_error"] = last_min(fields["eval/pretraining/error"])
        for split in splits:
            for metric in ("error", "loss", "context_fraction"):
                fields[f"selected/{split}/{metric}"] = fields[f"eval/{split}/{metric}"][chosen]
    return {"params": {**DEFAULT_PARAMS, **params, "data.seed": float(seed)}, "seed": seed, "status": 1,
            "fields": fields}


def transformer_points(swept, n_values=(64, 256, 1024), p_rel=(0.0, 0.9, 1.0), seeds=(0, 1, 2), n_ckpt=4, **fixed):
    """The cartesian product of swept {key: values} x p_rel x N x seeds, like a §5.1 sweep."""
    keys = list(swept)
    rng = np.random.default_rng(1234)
    points = []
    for combo in itertools.product(*(swept[k] for k in keys)):
        for p in p_rel:
            for n in n_values:
                for s in seeds:
                    params = dict(fixed, **dict(zip(keys, combo)))
                    params.update({"data.p_relevant_context": p, "data.dataset_size": float(n)})
                    points.append(transformer_point(params, s, n_ckpt, rng))
    return points


def theory_fields(version="v2", L=8, C=10, eps=1e-3, B=1.0, noise=1e-3):
    """The §4.6 recipe, computed here only to have realistic numbers in a test file."""
    if version == "v1":
        n_x = np.array([(2.0 ** j) ** 2 for j in range(6, 18)])
        iw = 0.0560015 + 10 / np.sqrt(n_x)
        lower = np.array([2 * k / (k + (L - k) * math.e ** 4) for k in range(L)])
        upper = np.array([math.log(L / (L - k)) for k in range(L)])
        band = (np.full_like(n_x, np.nan), np.full_like(n_x, np.nan))
    else:
        n_x = np.array([(2.0 ** j) ** 2 for j in range(2, 20)])
        p, q = 1 - noise, noise / (C - 1)
        entropy = -p * math.log(p) - (C - 1) * q * math.log(q)
        iw = entropy + (C - 1) / 2 * np.log(n_x) / n_x
        band = (np.maximum(iw - 4096 / n_x, 0), iw + 4096 / n_x)
        lower = np.array([(1 - eps * C) * k / (k + (L - k) * math.exp(2 * math.sqrt(B))) + eps * (C - 1)
                          for k in range(L)])
        upper = np.array([-math.log((1 - eps * C) * (L - k) / L + eps) for k in range(L)])
    return {"theory/n_x": n_x, "theory/x": np.log2(n_x), "theory/iw_curve": iw, "theory/iw_band_lower": band[0],
            "theory/iw_band_upper": band[1], "theory/ic_lower": lower, "theory/ic_upper": upper,
            "theory/y_limit": np.array([-0.01, max(lower.max(), iw.max()) + 0.1])}


def theory_points(versions=("v2", "v1")):
    return [{"params": dict(DEFAULT_PARAMS, **{"run.model_kind": "theory", "theory.version": v}), "seed": 0,
             "status": 1, "fields": theory_fields(v)} for v in versions]


def gated_point(params, seed, n_ckpt=3, rng=None, splits=V1_SPLITS, store_selected=True):
    """One stylized (run.model_kind = gated) point with the engine's field names (src/kinds/gated/gated_kind.cpp).

    Random values in [0, 1]: the errors of g and h from P0 (iw/, ic/) and from the mixture stage
    (alpha/selected_iw, alpha/selected_ic at the mixture's checkpoint; alpha/own_selected_iw, _ic each at its
    own checkpoint from a random pretraining-loss curve), the mixture's error and the gate metrics p_iwl,
    p_iwl_ge_half. With store_selected=False only the per-checkpoint curves and the selected indices are
    stored (and not the own indices, which the figure then recomputes from the loss curves).
    """
    rng = rng or np.random.default_rng(seed)
    fields = {"alpha/selected/index": int(rng.integers(n_ckpt)), "iw/selected/index": int(rng.integers(n_ckpt)),
              "ic/selected/index": int(rng.integers(n_ckpt)), "alpha/checkpoint/step": np.arange(n_ckpt) * 10}
    curves = {}
    for split in splits:
        for stage in ("iw/eval", "ic/eval", "alpha/eval", "alpha/eval_iw", "alpha/eval_ic"):
            curves[f"{stage}/{split}/error"] = rng.uniform(0, 1, n_ckpt).round(3)
        for metric in ("p_iwl", "p_iwl_ge_half"):
            curves[f"alpha/eval/{split}/{metric}"] = rng.uniform(0, 1, n_ckpt).round(3)
    fields.update(curves)
    # The mixture's g and h alone, each with its own selection: last minimal pretraining loss (§6.1).
    for part in ("iw", "ic"):
        loss = rng.uniform(0, 1, n_ckpt).round(3)
        fields[f"alpha/eval_{part}/pretraining/loss"] = loss
        fields[f"alpha/own_selected_{part}/index"] = last_min(list(loss))
    if store_selected:
        for path, curve in curves.items():
            stage, rest = path.split("/eval", 1)  # "alpha", "_iw/<split>/error"
            index = fields[f"{stage}/selected/index"]
            fields[f"{stage}/selected{rest}"] = curve[index]
            if stage == "alpha" and rest[:4] in ("_iw/", "_ic/"):
                own = fields[f"alpha/own_selected{rest[:3]}/index"]
                fields[f"alpha/own_selected{rest}"] = curve[own]
    else:
        for part in ("iw", "ic"):
            del fields[f"alpha/own_selected_{part}/index"]  # as in files written before the engine stored it
    params = {**DEFAULT_PARAMS, "run.model_kind": "gated", "data.p_relevant_context": 0.9, **params,
              "data.seed": float(seed)}
    return {"params": params, "seed": seed, "status": 1, "fields": fields}


def gated_points(swept, n_values=(64, 256, 1024), seeds=(0, 1, 2), **fixed):
    """The cartesian product of swept {key: values} x N x seeds of gated points (a §5.2 stylized sweep)."""
    keys = list(swept)
    rng = np.random.default_rng(4321)
    return [gated_point(dict(fixed, **dict(zip(keys, combo)), **{"data.dataset_size": float(n)}), s, rng=rng)
            for combo in itertools.product(*(swept[k] for k in keys)) for n in n_values for s in seeds]


def online_point(params, seed, t=(1.0, 2.0, 4.0, 8.0, 16.0), rng=None, **curves):
    """One Algorithm 1 (run.model_kind = online) point with the engine's field names (src/theory/online.cpp);
    curves not given in `curves` (name without the online/ prefix) are random."""
    rng = rng or np.random.default_rng(seed)
    t = np.asarray(t, dtype=np.float64)
    fields = {"online/t": t}
    for group in ("high", "low"):
        fields[f"online/alpha_{group}"] = rng.uniform(0, 1, len(t))
        fields[f"online/queries_{group}"] = np.floor(t / 2)
        for name in ("loss_f", "loss_g", "loss_h", "regret", "regret_mix"):
            fields[f"online/{name}_{group}"] = np.cumsum(rng.uniform(0, 1, len(t)))
    fields.update({f"online/{k}": np.asarray(v, dtype=np.float64) for k, v in curves.items()})
    fields["online/alpha_high_final"] = fields["online/alpha_high"][-1]
    fields["online/alpha_low_final"] = fields["online/alpha_low"][-1]
    params = {**DEFAULT_PARAMS, "run.model_kind": "online", "online.learner": "hedge", **params, "data.seed": float(seed)}
    return {"params": params, "seed": seed, "status": 1, "fields": fields}


def online_points(sigmas=(0.0, 0.4), seeds=(0, 1), **fixed):
    rng = np.random.default_rng(99)
    return [online_point(dict(fixed, **{"data.input_noise_std": s, "data.dataset_size": 16.0}), seed, rng=rng)
            for s in sigmas for seed in seeds]


def write_file(path, points, grid_keys=(), ids=None):
    """ids: the point ids (default: the index as 16 hex digits); give them to make files of one sweep."""
    num = len(points)
    strings = h5py.string_dtype()
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "iclsweep-results"
        f.attrs["format_version"] = np.int32(1)
        f.attrs.create("grid_keys", list(grid_keys), dtype=strings)
        g = f.create_group("points")
        g.create_dataset("error", data=[p.get("error", "").encode() for p in points], dtype="S512")
        g["status"] = np.array([p["status"] for p in points], dtype=np.uint8)
        g["index"] = np.arange(num, dtype=np.int64)
        g["seed"] = np.array([p["seed"] for p in points], dtype=np.int64)
        ids = ids if ids is not None else [f"{i:016x}" for i in range(num)]
        g.create_dataset("id", data=np.array([i.encode() for i in ids]), dtype="S16")
        keys = sorted({k for p in points for k in p["params"]})
        for key in keys:
            values = [p["params"].get(key) for p in points]
            if any(isinstance(v, str) for v in values):
                g.create_dataset(f"params/{key}", data=[("" if v is None else v) for v in values],
                                 dtype=h5py.string_dtype())
            else:
                g[f"params/{key}"] = np.array([math.nan if v is None else v for v in values], dtype=np.float64)
        paths = sorted({k for p in points for k in p["fields"]})
        f.attrs.create("fields", paths, dtype=strings)  # the engine lists its schema fields here
        for field in paths:
            arrays = [np.atleast_1d(np.asarray(p["fields"][field], dtype=np.float64)) if field in p["fields"] else None
                      for p in points]
            scalar = all(np.ndim(p["fields"][field]) == 0 for p in points if field in p["fields"])
            width = max(len(a) for a in arrays if a is not None)
            integer = field in INT_FIELDS
            fill = -1 if integer else np.nan
            data = np.full((num,) if scalar else (num, width), fill, dtype=np.float64)
            for i, a in enumerate(arrays):
                if a is not None and scalar:
                    data[i] = a[0]
                elif a is not None:
                    data[i, :len(a)] = a
            g[field] = data.astype(np.int32 if integer else np.float32 if field.startswith(("eval/", "selected/", "train/"))
                                   else np.float64)
    return path


READOUT = ("in_context_frac", "in_weight_frac", "other_frac")


def with_readout(points):
    """Adds the ICL/IWL readout (eval/<flip split>/{in_context,in_weight,other}_frac and selected/...) to
    transformer and gated points, as the trainer writes it: the in-context answer is the target, so
    in_context_frac = 1 - error; the rest is shared randomly between in-weight and other."""
    for point in points:
        f = point["fields"]
        rng = np.random.default_rng(int(point["seed"]) + 97)
        for path in [p for p in f if "/eval/" in "/" + p and p.endswith("flip_label/error")]:
            head, split = path[: -len("/error")].rsplit("/", 1)  # "[iw/]eval", "<split>"
            prefix = head[: -len("eval")]
            wrong = np.asarray(f[path], dtype=np.float64)
            share = rng.uniform(0, 1, wrong.shape)
            values = {"in_context_frac": 1.0 - wrong, "in_weight_frac": wrong * share,
                      "other_frac": wrong * (1.0 - share)}
            index = f.get(f"{prefix}selected/index", f.get("alpha/selected/index"))
            for metric, curve in values.items():
                f[f"{prefix}eval/{split}/{metric}"] = curve
                f[f"{prefix}selected/{split}/{metric}"] = curve[index]
            if f"{prefix}checkpoint/step" not in f:
                f[f"{prefix}checkpoint/step"] = np.arange(len(wrong)) * 10
    return points
