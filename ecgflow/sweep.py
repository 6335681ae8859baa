"""Run one detector over a whole stream grid of one record.

One detector pass per (threshold, window); each pass is thinned (on alarm times) for every min-gap
value, since min-gap only drops detections. The result is the long-format detections table (one row
per kept detection) and its metadata.

Each detection has two times: ``alarm_sample``, the record sample of the stream element on which the
detector fired, and ``change_sample``, its estimate of when the regime changed: the sample of the
element its kernel reports (ADWIN: first element of the window it keeps; Page-Hinkley, CUSUM: the
element after the last extreme/zero of the statistic that fired; DDM: the element after its minimum
of p + s), unless the detector's registration carries a change estimate of its own for the stream
(``hysteresis``: the best split of the per-beat irregularity in the last ``window + dwell`` beats
before the alarm; on ``p_af`` that of the probabilities, :mod:`ecgflow.changetime`). ``direction``: +1
into the high (irregular) state, -1 back, 0 for a detector without a state.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .changetime import estimate_for
from .detectors import DETECTORS, detect_changes, resolve_params
from .errors import ConfigError, InputError
from .grid import canonical_stream_grid, expand_grid, min_gap_samples, thin_mask
from .logs import progress
from .parquet import read_metadata
from .streams import INTEGER_WINDOWS, STREAMS, build_stream

COLUMNS = {
    "combo_id": np.int32, "threshold": np.float64, "window": np.float64, "min_gap_s": np.float64,
    "alarm_sample": np.int64, "change_sample": np.int64, "direction": np.int8,
}
TIMES = {
    "alarm_sample": "record sample of the stream element on which the detector fired",
    "change_sample": "the detector's estimate of the sample where the regime changed (<= alarm_sample)",
    "direction": "+1 into the high (irregular) state, -1 back, 0 for a detector without a state",
}


def sweep(
    detector: str,
    stream: str,
    grid: dict,
    *,
    fs: float,
    semantics: str = "river",
    params: dict | None = None,
    tidy: pd.DataFrame | None = None,
    beats: pd.DataFrame | None = None,
    source: str = "record",
    streams: dict | None = None,
    tables: dict | None = None,
    **more_tables,
) -> tuple[pd.DataFrame, dict]:
    """Detections of ``detector`` on ``stream`` for every combination of the canonical ``grid``.

    ``streams``: a memo of built beat streams shared by the sweeps of one record, so that detectors on
    the same stream build it once (keyed by stream, window and stream params; its arrays read-only).
    ecg streams are not kept: a value per sample, hundreds of MB on a long record. ``tables``: the record's
    tables by source kind (``tidy``, ``beats``, ``rhythm``, ...), besides ``tidy`` and ``beats``.

    Returns ``(detections, metadata)``: columns combo_id, threshold, window, min_gap_s, alarm_sample,
    change_sample, direction (sorted by combo_id, alarm_sample), and metadata keys detector, stream,
    semantics, fs, threshold_name, window_name, params, stream_params, grid (every combination),
    n_elements (length of the stream before its window: ecg samples, or RR / dRR values for the beat
    streams), diff, change_estimate and columns (what each time column means).
    """
    params = dict(params or {})
    tname = grid["threshold"]["name"]
    if tname in params:
        raise ConfigError(f"params.{tname}", "is swept by the grid; remove it from the fixed params")
    resolved = resolve_params(detector, semantics, params)  # names and ranges, before any work
    stream_params = grid.get("stream_params", {})
    combos = expand_grid(grid)
    thresholds = grid["threshold"]["values"]
    windows = grid["window"]["values"]
    windowed = grid["window"]["name"] in INTEGER_WINDOWS
    gaps = [min_gap_samples(g, fs) for g in grid["min_gap_s"]]
    n_w, n_g = len(windows), len(gaps)
    tables = {**(tables or {}), **more_tables, **{k: v for k, v in (("tidy", tidy), ("beats", beats)) if v is not None}}
    estimate = estimate_for(DETECTORS.spec(detector).change_estimate, stream)
    if estimate is not None:  # prepared once: the same for every pass
        prepared = estimate.prepare(tables.get(STREAMS.spec(stream).source), fs, stream_params)
    parts = []
    n_elements = None
    memo = streams if STREAMS[stream].source != "tidy" else None  # only ecg has a first difference: not in the key
    diff = bool(grid.get("diff", False))
    for wi, window in enumerate(progress(windows, f"{detector} {stream} windows")):
        key = (stream, float(window), tuple(sorted(stream_params.items())))
        built = memo.get(key) if memo is not None else None
        if built is None:
            built = build_stream(stream, window, fs=fs, diff=diff, params=stream_params, source=source, tables=tables)
            if memo is not None:
                for array in built:
                    array.flags.writeable = False
                memo[key] = built
        values, positions = built
        if n_elements is None:
            n_elements = values.size + (int(window) - 1 if windowed else 0) + int(diff)
        for ti, threshold in enumerate(thresholds):
            a, c, direction = detect_changes(detector, values, semantics, source=source, **params, **{tname: threshold})
            alarm = positions[a]
            change = positions[c] if estimate is None else estimate.changes(prepared, alarm, direction, window, resolved)
            for gi, gap in enumerate(gaps):
                keep = thin_mask(alarm, gap)
                parts.append(((ti * n_w + wi) * n_g + gi, alarm[keep], change[keep], direction[keep]))
    parts.sort(key=lambda p: p[0])
    ids = np.concatenate([np.full(p[1].size, p[0], dtype=np.int32) for p in parts])
    det = pd.DataFrame(
        {
            "combo_id": ids,
            "threshold": combos["threshold"].to_numpy(np.float64)[ids],
            "window": combos["window"].to_numpy(np.float64)[ids],
            "min_gap_s": combos["min_gap_s"].to_numpy(np.float64)[ids],
            "alarm_sample": np.concatenate([p[1] for p in parts]),
            "change_sample": np.concatenate([p[2] for p in parts]),
            "direction": np.concatenate([p[3] for p in parts]),
        }
    ).astype(COLUMNS)
    meta = {
        "detector": detector,
        "stream": stream,
        "semantics": semantics,
        "fs": float(fs),
        "threshold_name": tname,
        "window_name": grid["window"]["name"],
        "params": dict(sorted(params.items())),
        "stream_params": dict(sorted(stream_params.items())),
        "grid": [
            {"combo_id": int(c.combo_id), "threshold": float(c.threshold), "window": float(c.window), "min_gap_s": float(c.min_gap_s)}
            for c in combos.itertuples()
        ],
        "n_elements": int(n_elements),
        "diff": diff,
        "change_estimate": "the detector's own" if estimate is None else estimate.description,
        "columns": TIMES,
    }
    return det, meta


def stream_tables(stream: str, path) -> dict:
    """The table that ``stream`` reads from ``path`` (the columns its :class:`~ecgflow.streams.Stream`
    declares: tidy sample and ecg for ``ecg``, beat samples for the beat streams), keyed by its source."""
    spec = STREAMS.spec(stream)
    return {spec.source: pd.read_parquet(path, columns=spec.read_columns)}


def _paths(tidy_path=None, beats_path=None, paths: dict | None = None) -> dict:
    return {**(paths or {}), **{k: v for k, v in (("tidy", tidy_path), ("beats", beats_path)) if v is not None}}


def _sibling(paths: dict, kind: str):
    """The record's ``kind`` table beside its beats or tidy table in the results layout
    (``results/{dataset}/<kind>/{record}.parquet``), for callers that pass only those two; None if absent."""
    for known in ("beats", "tidy"):
        if paths.get(known) is not None:
            path = Path(paths[known])
            candidate = path.parent.parent / kind / path.name
            if path.parent.name == known and candidate.exists():
                return candidate
    return None


def read_record_tables(stream: str, tidy_path=None, beats_path=None, paths: dict | None = None):
    """The table that ``stream`` needs (from ``paths``: source kind -> file, or ``tidy_path``/``beats_path``)
    and the record's metadata."""
    kind = STREAMS.spec(stream).source
    paths = _paths(tidy_path, beats_path, paths)
    path = paths.get(kind) or _sibling(paths, kind)
    if path is None:
        raise InputError("record", f"the {stream} stream needs a {kind} table")
    meta = read_metadata(path)
    if "fs" not in meta:
        raise InputError(path, "metadata has no sampling rate 'fs'")
    return stream_tables(stream, path), meta


def sweep_record(detector: str, stream: str, setup: dict, tidy_path=None, beats_path=None, loaded=None,
                 streams: dict | None = None, paths: dict | None = None):
    """:func:`sweep` of one record's files with a detector's config ``setup`` (semantics, params, grid).

    The metadata also carries the record's dataset, record name and n_samples (when its input has them).
    ``paths``: source kind -> file (besides ``tidy_path`` and ``beats_path``); ``loaded``: the result of
    :func:`read_record_tables` for this stream, when the caller has read it; ``streams``: the record's
    memo of built streams (see :func:`sweep`). A change estimate reads the stream's own table.
    """
    paths = _paths(tidy_path, beats_path, paths)
    tables, rec = loaded or read_record_tables(stream, paths=paths)
    grid = canonical_stream_grid(setup["grid"], detector, stream, key=f"detectors.{detector}.streams.{stream}")
    det, meta = sweep(
        detector,
        stream,
        grid,
        fs=float(rec["fs"]),
        semantics=setup.get("semantics", "river"),
        params=setup.get("params") or {},
        source=str(paths.get(STREAMS[stream].source) or _sibling(paths, STREAMS[stream].source)),
        streams=streams,
        tables=tables,
    )
    info = {k: rec.get(k) for k in ("dataset", "record", "n_samples")}
    return det, {**info, **meta}
