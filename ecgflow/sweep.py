"""Run one detector over a whole stream grid of one record.

One detector pass per (threshold, window); each pass is thinned for every min-gap value, since
min-gap only drops detections. The result is the long-format detections table (one row per kept
detection) and its metadata.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .detectors import detect, resolve_params
from .errors import ConfigError, InputError
from .grid import canonical_stream_grid, expand_grid, min_gap_samples, thin
from .logs import progress
from .parquet import read_metadata
from .streams import build_stream

COLUMNS = {"combo_id": np.int32, "threshold": np.float64, "window": np.float64, "min_gap_s": np.float64, "sample": np.int64}


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
) -> tuple[pd.DataFrame, dict]:
    """Detections of ``detector`` on ``stream`` for every combination of the canonical ``grid``.

    Returns ``(detections, metadata)``: columns combo_id, threshold, window, min_gap_s, sample
    (sorted by combo_id, sample), and metadata keys detector, stream, semantics, fs, threshold_name,
    window_name, params, grid (every combination) and n_elements (length of the stream before its
    moving average: ecg samples, or RR values for the beat streams).
    """
    params = dict(params or {})
    tname = grid["threshold"]["name"]
    if tname in params:
        raise ConfigError(f"params.{tname}", "is swept by the grid; remove it from the fixed params")
    resolve_params(detector, semantics, params)  # names and ranges, before any work
    combos = expand_grid(grid)
    thresholds = grid["threshold"]["values"]
    windows = grid["window"]["values"]
    gaps = [min_gap_samples(g, fs) for g in grid["min_gap_s"]]
    n_w, n_g = len(windows), len(gaps)
    parts = []
    n_elements = None
    for wi, window in enumerate(progress(windows, f"{detector} {stream} windows")):
        values, positions = build_stream(stream, window, tidy=tidy, beats=beats, fs=fs, diff=grid.get("diff", False), source=source)
        if n_elements is None:
            n_elements = values.size + (int(window) - 1 if grid["window"]["name"] == "ma_window" else 0) + int(grid.get("diff", False))
        for ti, threshold in enumerate(thresholds):
            fired = positions[detect(detector, values, semantics, source=source, **params, **{tname: threshold})]
            for gi, gap in enumerate(gaps):
                kept = thin(fired, gap)
                parts.append(((ti * n_w + wi) * n_g + gi, kept))
    parts.sort(key=lambda p: p[0])
    ids = np.concatenate([np.full(k.size, c, dtype=np.int32) for c, k in parts])
    samples = np.concatenate([k for _, k in parts]).astype(np.int64)
    det = pd.DataFrame(
        {
            "combo_id": ids,
            "threshold": combos["threshold"].to_numpy(np.float64)[ids],
            "window": combos["window"].to_numpy(np.float64)[ids],
            "min_gap_s": combos["min_gap_s"].to_numpy(np.float64)[ids],
            "sample": samples,
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
        "grid": [
            {"combo_id": int(c.combo_id), "threshold": float(c.threshold), "window": float(c.window), "min_gap_s": float(c.min_gap_s)}
            for c in combos.itertuples()
        ],
        "n_elements": int(n_elements),
        "diff": bool(grid.get("diff", False)),
    }
    return det, meta


def read_record_tables(stream: str, tidy_path=None, beats_path=None):
    """The tables that ``stream`` needs (tidy for ``ecg``, beats otherwise) and the record's metadata."""
    path = tidy_path if stream == "ecg" else beats_path
    if path is None:
        raise InputError("record", f"the {stream} stream needs a {'tidy' if stream == 'ecg' else 'beats'} table")
    meta = read_metadata(path)
    if "fs" not in meta:
        raise InputError(path, "metadata has no sampling rate 'fs'")
    table = pd.read_parquet(path, columns=["sample", "ecg"] if stream == "ecg" else ["sample"])
    return {"tidy" if stream == "ecg" else "beats": table}, meta


def sweep_record(detector: str, stream: str, setup: dict, tidy_path=None, beats_path=None):
    """:func:`sweep` of one record's files with a detector's config ``setup`` (semantics, params, grid).

    The metadata also carries the record's dataset, record name and n_samples (when its input has them).
    """
    tables, rec = read_record_tables(stream, tidy_path, beats_path)
    grid = canonical_stream_grid(setup["grid"], detector, stream, key=f"detectors.{detector}.streams.{stream}")
    det, meta = sweep(
        detector,
        stream,
        grid,
        fs=float(rec["fs"]),
        semantics=setup.get("semantics", "river"),
        params=setup.get("params") or {},
        source=str(tidy_path if stream == "ecg" else beats_path),
        **tables,
    )
    info = {k: rec.get(k) for k in ("dataset", "record", "n_samples")}
    return det, {**info, **meta}
