"""Open an iclsweep results file and return tidy numpy arrays of its DONE points.

The file layout is described in docs/results-format.md. Everything a figure needs lives under
/points: one dataset per field with the point as the first axis. We read them all into memory (a
sweep has at most a few thousand points) and keep only rows whose /points/status is 1 (done).
"""
import os

import h5py
import numpy as np

STATUS_PENDING, STATUS_DONE, STATUS_FAILED = 0, 1, 2
ALL_STATUSES = (STATUS_PENDING, STATUS_DONE, STATUS_FAILED)
FORMAT_NAME, FORMAT_VERSION = "iclsweep-results", 1  # root attributes format / format_version

# Fields stored next to the per-point params that are bookkeeping, not results.
_BOOKKEEPING = ("status", "index", "id", "seed")


class MissingData(Exception):
    """A results file lacks a field or parameter an analysis needs."""


class BadResultsFile(MissingData):
    """A results file this package cannot read correctly: another layout version, damaged status bytes."""


def _check_layout(path, f, status):
    """Refuses other layout versions and status bytes other than 0/1/2 (docs/results-format.md)."""
    fmt = f.attrs.get("format")
    if isinstance(fmt, bytes):
        fmt = fmt.decode("utf-8")
    version = f.attrs.get("format_version")
    if fmt is not None and fmt != FORMAT_NAME:
        raise BadResultsFile(f"{path}: root attribute format = {fmt!r}, not {FORMAT_NAME!r}: not an iclsweep results file")
    if version is None and fmt == FORMAT_NAME:
        raise BadResultsFile(f"{path}: no root attribute format_version: the file is damaged or not written by iclsweep")
    if version is not None and int(np.ravel(version)[0]) != FORMAT_VERSION:
        raise BadResultsFile(f"{path}: layout format_version {int(np.ravel(version)[0])}, but this analysis package "
                             f"reads version {FORMAT_VERSION}: use the analysis/ of the iclsweep that wrote it")
    bad = np.flatnonzero(status > STATUS_FAILED)
    if bad.size:
        raise BadResultsFile(f"{path}: /points/status[{bad[0]}] = {status[bad[0]]} ({bad.size} point(s) in all): a "
                             f"status is 0 pending, 1 done or 2 failed; the file is damaged")


def _decode(array):
    """bytes / object arrays of bytes -> numpy unicode arrays; everything else unchanged."""
    if array.dtype.kind == "S":
        return np.char.decode(array, "utf-8")
    if array.dtype.kind == "O":
        return np.array([v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in array.ravel()]).reshape(array.shape)
    return array


def _check_storage(dataset):
    """A dataset must hold the bytes its shape declares (the engine allocates every dataset at creation) before
    it is read: a small crafted file declaring 2^30 points would otherwise make numpy allocate gigabytes."""
    string = h5py.check_string_dtype(dataset.dtype)
    element = 16 if string is not None and string.length is None else dataset.dtype.itemsize  # vlen: heap id
    declared = int(dataset.size) * element
    stored = dataset.id.get_storage_size()
    file_size = os.path.getsize(dataset.file.filename)
    if declared and (stored < declared or stored > file_size):
        raise BadResultsFile(f"{dataset.file.filename}: dataset '{dataset.name}' declares {dataset.size} values "
                             f"({declared} bytes) but the file holds {stored} bytes for it (file size {file_size}): "
                             "the file is damaged; copy it again or start a new results file")


def _read(dataset):
    _check_storage(dataset)
    if h5py.check_string_dtype(dataset.dtype) is not None:
        return _decode(dataset[()])
    return dataset[()]


def _attr_list(value):
    """An attribute holding a list of names, stored as an array or a comma/space separated string."""
    if value is None:
        return []
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if isinstance(value, str):
        return [v for v in value.replace(",", " ").split() if v]
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in np.ravel(value)]


class Results:
    """The done points of one results file.

    params[key]   (n,) float64 for numeric keys, str for string keys (e.g. params["data.p_high"])
    fields[path]  (n, ...) arrays, path relative to /points (e.g. "eval/pretraining/loss")
    ids, seeds    (n,) point ids and seeds
    """

    def __init__(self, path, attrs, status, ids, seeds, params, fields):
        self.indices = np.arange(len(ids))  # canonical point index per row (set by load)
        self.point_status = np.full(len(ids), STATUS_DONE, dtype=np.uint8)
        self.sources = np.full(len(ids), os.path.basename(path))  # file each row came from (load_many)
        self.path = path
        self.attrs = attrs
        self.status = status  # all points, for counting pending/failed
        self.ids = ids
        self.seeds = seeds
        self.params = params
        self.fields = fields
        self.failures = []  # (point id, error message) of failed points

    @property
    def name(self):
        return os.path.basename(self.path)

    def __len__(self):
        return len(self.ids)

    @property
    def counts(self):
        """{'done': .., 'pending': .., 'failed': ..} over all points of the file."""
        return {"done": int(np.sum(self.status == STATUS_DONE)), "pending": int(np.sum(self.status == STATUS_PENDING)),
                "failed": int(np.sum(self.status == STATUS_FAILED))}

    @property
    def grid_keys(self):
        """The parameter keys the job swept (root attribute), or [] when the file does not say."""
        for name in ("grid_keys", "swept_keys", "grid"):
            if name in self.attrs:
                return _attr_list(self.attrs[name])
        return []

    def has(self, path):
        return path in self.fields

    def field(self, path):
        if path not in self.fields:
            raise MissingData(f"{self.name}: no field /points/{path}")
        return self.fields[path]

    def param(self, key, default=None):
        if key in self.params:
            return self.params[key]
        if default is not None:
            return np.full(len(self), default)
        raise MissingData(f"{self.name}: no parameter /points/params/{key}")

    def model_kind(self):
        """(n,) run.model_kind of each point ('transformer' when the file has no such key)."""
        key = "run.model_kind" if "run.model_kind" in self.params or "model.kind" not in self.params else "model.kind"
        return self.param(key, default="transformer").astype(str)

    def subset(self, mask):
        """The points where mask is true, as a new Results."""
        mask = np.asarray(mask, dtype=bool)
        out = Results(self.path, self.attrs, self.status, self.ids[mask], self.seeds[mask],
                      {k: v[mask] for k, v in self.params.items()},
                      {k: v[mask] for k, v in self.fields.items()})
        out.indices, out.point_status = self.indices[mask], self.point_status[mask]
        out.failures, out.sources = self.failures, self.sources[mask]
        return out

    def where(self, conditions):
        """The points matching every condition: {key: value} or a list of "key=value" strings (short names
        such as num_contexts mean data.num_contexts; several values "key=a,b" match any of them)."""
        mask = np.ones(len(self), dtype=bool)
        for key, values in parse_where(conditions, self.params).items():
            column, hit = self.params[key], np.zeros(len(self), dtype=bool)
            for value in values:
                if column.dtype.kind == "f":
                    if value.lower() in ("", "unset", "nan"):
                        hit |= np.isnan(column)
                        continue
                    try:
                        number = _number(value)
                    except ValueError:
                        raise MissingData(f"--where {key}={value}: {key} is numeric, '{value}' is not a number")
                    hit |= np.isclose(column, number, rtol=1e-9, atol=1e-12)
                else:
                    hit |= column == ("" if value.lower() == "unset" else value)
            mask &= hit
        return self.subset(mask)

    def of_kind(self, kind):
        return self.subset(self.model_kind() == kind)

    def varying_keys(self, exclude=()):
        """Parameter keys that take more than one value over these points (NaN counts as a value)."""
        out = []
        for key, values in sorted(self.params.items()):
            if key in exclude or len(values) == 0:
                continue
            if len(set(hashable(values))) > 1:
                out.append(key)
        return out


def hashable(values):
    """Per-element hashable values; NaN (an unset numeric key) becomes None so that NaN == NaN."""
    if values.dtype.kind == "f":
        return [None if np.isnan(v) else float(v) for v in values]
    return [str(v) for v in values]


def load(path, statuses=(STATUS_DONE,)):
    """Read a results file; returns a Results holding the points whose status is in `statuses` (default:
    done only; tidy.points_frame passes all three to show pending and failed points too)."""
    if not os.path.exists(path):
        raise MissingData(f"results file '{path}' does not exist")
    with h5py.File(path, "r") as f:
        if "points" not in f or "status" not in f["points"]:
            raise MissingData(f"{path}: not an iclsweep results file (no /points/status); see docs/results-format.md")
        points = f["points"]
        _check_storage(points["status"])
        status = points["status"][()].astype(np.uint8)
        _check_layout(path, f, status)
        num_points = len(status)
        done = np.isin(status, statuses)

        def per_point(array):
            return array[done]

        ids = per_point(_read(points["id"])) if "id" in points else np.arange(num_points)[done].astype(str)
        seeds = per_point(points["seed"][()]) if "seed" in points else np.zeros(done.sum(), dtype=np.int64)
        params = {}
        if "params" in points:
            for key, ds in points["params"].items():
                if isinstance(ds, h5py.Dataset) and ds.shape[:1] == (num_points,):
                    values = per_point(_read(ds))
                    if values.dtype.kind == "U" and not np.any(values != ""):
                        values = np.full(len(values), np.nan)  # older files stored a never-set key as "": NaN as now
                    params[key] = values if values.dtype.kind == "U" else values.astype(np.float64)
        fields = {}
        if "fields" in f.attrs:  # the engine lists its schema fields; the rest is bookkeeping
            for name in _attr_list(f.attrs["fields"]):
                if name in points:
                    fields[name] = per_point(_read(points[name]))
        else:
            def visit(name, obj):
                if isinstance(obj, h5py.Dataset) and not name.startswith("params/") and name not in _BOOKKEEPING \
                        and obj.shape[:1] == (num_points,):
                    fields[name] = per_point(_read(obj))

            points.visititems(visit)
        failed = status == STATUS_FAILED
        errors = _read(points["error"])[failed] if "error" in points else np.full(failed.sum(), "")
        failed_ids = _read(points["id"])[failed] if "id" in points else np.flatnonzero(failed).astype(str)
        attrs = dict(f.attrs)
        if "params" in points:
            # A few scalar settings may be group attributes rather than per-point datasets.
            attrs.update({f"params.{k}": v for k, v in points["params"].attrs.items()})
    res = Results(path, attrs, status, ids, seeds, params, fields)
    res.indices = np.flatnonzero(done)  # canonical point index (the row in /points)
    res.point_status = status[done]
    res.failures = [(str(i), str(e).rstrip("\x00")) for i, e in zip(failed_ids, errors)]  # (id, message)
    return res


def _number(text):
    """A parameter value as the job files write it: 0.5, 1e-3, 2^10."""
    text = text.strip()
    if "^" in text:
        base, exp = text.split("^", 1)
        return float(base) ** float(exp)
    return float(text)


def parse_where(conditions, params):
    """{key: [values]} from {key: value} or ["key=value", "key=a,b"]; unknown keys are refused with the
    known ones listed. A short name (num_contexts) resolves to the one key ending in ".num_contexts",
    preferring data."""
    if isinstance(conditions, dict):
        items = [(k, v) for k, v in conditions.items()]
    else:
        items = []
        for text in conditions or []:
            if "=" not in text:
                raise MissingData(f"--where '{text}': write KEY=VALUE (e.g. data.input_noise_std=0.2)")
            key, value = text.split("=", 1)
            items.append((key.strip(), value))
    out = {}
    for key, value in items:
        if key not in params:
            matches = sorted(k for k in params if k.endswith("." + key))
            if "data." + key in params:
                matches = ["data." + key]
            if len(matches) != 1:
                raise MissingData(f"--where {key}: no such parameter" + (f" (ambiguous: {', '.join(matches)})" if matches
                                  else f"; the file's keys are {', '.join(sorted(params))}"))
            key = matches[0]
        values = value if isinstance(value, (list, tuple)) else str(value).split(",")
        out.setdefault(key, []).extend(str(v).strip() for v in values)
    return out


def load_many(paths, statuses=(STATUS_DONE,)):
    """Several results files as one Results (e.g. the original sweep and the seeds added later, or the two
    files of the context-length figure). A point id is the hash of its parameters, so the same id in two
    files is the same point: kept once when its numbers agree, refused (MissingData naming both files)
    when they differ. Fields missing from a file are NaN; curves are NaN-padded to the widest."""
    parts = [load(p, statuses) for p in paths]
    if len(parts) == 1:
        return parts[0]
    keys = sorted(set().union(*(r.params for r in parts)))
    fields = sorted(set().union(*(r.fields for r in parts)))
    numeric = {k: all(r.params[k].dtype.kind == "f" for r in parts if k in r.params) for k in keys}

    def column(r, k):
        if k in r.params:
            v = r.params[k]
            return v if numeric[k] else v.astype(str)
        return np.full(len(r), np.nan) if numeric[k] else np.full(len(r), "")

    def field(r, f, shape_tail, dtype):
        out = np.full((len(r),) + shape_tail, -1 if dtype.kind == "i" else np.nan, dtype=dtype)
        if f in r.fields:
            v = r.fields[f]
            out[(slice(None),) + tuple(slice(0, n) for n in v.shape[1:])] = v
        return out

    seen, keep = {}, []
    for j, r in enumerate(parts):
        mask = np.ones(len(r), dtype=bool)
        for i, point_id in enumerate(r.ids):
            if point_id in seen:
                k, i0 = seen[point_id]
                if not _same_point(parts[k], i0, r, i):
                    raise MissingData(f"point {point_id} is in {parts[k].path} and {r.path} with different results: "
                                      "these files are not parts of one sweep (use one of them, or iclsweep merge "
                                      "to see the conflict)")
                mask[i] = False
            else:
                seen[point_id] = (j, i)
        keep.append(mask)
    tails, dtypes = {}, {}
    for f in fields:
        present = [r.fields[f] for r in parts if f in r.fields]
        tails[f] = tuple(max(v.shape[d] for v in present) for d in range(1, present[0].ndim))
        dtypes[f] = np.result_type(*(v.dtype for v in present))
    params = {k: np.concatenate([column(r, k)[m] for r, m in zip(parts, keep)]) for k in keys}
    merged_fields = {f: np.concatenate([field(r, f, tails[f], dtypes[f])[m] for r, m in zip(parts, keep)])
                     for f in fields}
    attrs = dict(parts[0].attrs)
    grid = []
    for r in parts:
        grid += [k for k in r.grid_keys if k not in grid]
    attrs["grid_keys"] = np.array(grid, dtype=object)
    out = Results(", ".join(paths), attrs, np.concatenate([r.status for r in parts]),
                  np.concatenate([r.ids[m] for r, m in zip(parts, keep)]),
                  np.concatenate([r.seeds[m] for r, m in zip(parts, keep)]), params, merged_fields)
    out.indices = np.concatenate([r.indices[m] for r, m in zip(parts, keep)])
    out.point_status = np.concatenate([r.point_status[m] for r, m in zip(parts, keep)])
    out.sources = np.concatenate([r.sources[m] for r, m in zip(parts, keep)])
    out.failures = [f for r in parts for f in r.failures]
    return out


def _same_point(a, i, b, j):
    for f in set(a.fields) | set(b.fields):
        if f not in a.fields or f not in b.fields:
            continue
        x, y = np.asarray(a.fields[f][i]), np.asarray(b.fields[f][j])
        if x.shape != y.shape or not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
            return False
    return True
