"""Parameter grids of the detectors: validation, canonical form, expansion to combinations, min-gap thinning.

A stream grid spec (``detectors.<detector>.streams.<stream>`` in the config)::

    threshold: {name: delta, values: [...]}      # the detector's main parameter (THRESHOLD_NAME)
    window: {name: ma_window, values: [...]}     # the stream's window (ecgflow.streams.WINDOW_NAME)
    min_gap_s: [...]                             # post-filter on alarm times, seconds
    diff: false                                  # optional, ecg only: first difference of the stream
    stream_params: {r: 0.03}                     # optional: the stream's fixed parameters (cosen, pirr)

Combination ids run 0..N-1 over threshold, window and min_gap_s (each ascending, nested in that order).
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import pandas as pd
from numba import njit

from .detectors import DETECTORS, resolve_params
from .errors import ConfigError
from .streams import INTEGER_WINDOWS, MIN_WINDOW, STREAM_PARAMS, STREAMS, WINDOW_NAME, resolve_stream_params

THRESHOLD_NAME = DETECTORS.view("threshold")  # the parameter each detector's grid sweeps
DETECTOR_STREAMS = DETECTORS.view("streams")  # the streams each detector runs on
_KEYS = {"threshold", "window", "min_gap_s", "diff", "stream_params"}


def _values(key, values, integer=False, low=None):
    if not isinstance(values, (list, tuple)) or not values:
        raise ConfigError(key, f"must be a non-empty list, got {values!r}")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, Real) or not math.isfinite(v):
            raise ConfigError(key, f"values must be finite numbers, got {v!r}")
        if integer and not float(v).is_integer():
            raise ConfigError(key, f"values must be integers, got {v!r}")
        if low is not None and v < low:
            raise ConfigError(key, f"values must be >= {low}, got {v!r}")
        out.append(int(v) if integer else float(v))
    if len(set(out)) != len(out):
        raise ConfigError(key, f"values must be distinct, got {values!r}")
    return sorted(out)


def split_stream_spec(stream_spec: dict) -> tuple[dict, dict | None]:
    """A stream's entry of the config's ``detectors`` section as ``(grid, params)``: its grid (threshold,
    window, min-gap) and its own fixed detector params (``None`` when it has none)."""
    grid = dict(stream_spec)
    return grid, grid.pop("params", None)


def canonical_stream_grid(spec, detector: str, stream: str, key: str = "grid") -> dict:
    """The validated grid ``spec`` of ``detector`` on ``stream``, in canonical form (sorted, typed).

    Raises :class:`ConfigError` naming the offending key (``key`` is the spec's own path).
    """
    if detector not in DETECTOR_STREAMS:
        raise ConfigError(key, f"unknown detector {detector!r}; choose one of {list(DETECTOR_STREAMS)}")
    if stream not in DETECTOR_STREAMS[detector] or stream not in STREAMS:
        raise ConfigError(key, f"{detector} does not run on stream {stream!r}; streams: {list(DETECTOR_STREAMS[detector])}")
    if not isinstance(spec, dict):
        raise ConfigError(key, f"must be a mapping, got {spec!r}")
    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}", f"unknown key; keys: {sorted(_KEYS)}")
    for part in ("threshold", "window", "min_gap_s"):
        if part not in spec:
            raise ConfigError(f"{key}.{part}", "missing")
    out = {}
    for part, expected in (("threshold", THRESHOLD_NAME[detector]), ("window", WINDOW_NAME[stream])):
        sub = spec[part]
        if not isinstance(sub, dict) or set(sub) != {"name", "values"}:
            raise ConfigError(f"{key}.{part}", f"must be a mapping with keys name and values, got {sub!r}")
        if sub["name"] != expected:
            raise ConfigError(f"{key}.{part}.name", f"must be {expected!r} for {detector} on {stream}, got {sub['name']!r}")
        integer = expected in INTEGER_WINDOWS
        low = MIN_WINDOW.get(stream, 1) if integer else 0.0
        values = _values(f"{key}.{part}.values", sub["values"], integer=integer,
                         low=None if part == "threshold" else low)
        if part == "threshold":
            for v in values:
                try:
                    resolve_params(detector, "river", {expected: v})
                except ConfigError as e:
                    raise ConfigError(f"{key}.{part}.values", e.problem) from None
        out[part] = {"name": expected, "values": values}
    out["min_gap_s"] = _values(f"{key}.min_gap_s", spec["min_gap_s"], low=0.0)
    diff = spec.get("diff", False)
    if not isinstance(diff, bool):
        raise ConfigError(f"{key}.diff", f"must be true or false, got {diff!r}")
    if diff and not STREAMS[stream].diff:
        raise ConfigError(f"{key}.diff", f"only the ecg stream has a first difference, not {stream!r}")
    out["diff"] = diff
    if "stream_params" in spec or stream in STREAM_PARAMS:
        out["stream_params"] = resolve_stream_params(stream, spec.get("stream_params"), key=f"{key}.stream_params")
    return out


def expand_grid(grid: dict) -> pd.DataFrame:
    """Combinations of a canonical grid: combo_id, threshold, window, min_gap_s, threshold_name, window_name."""
    t = grid["threshold"]["values"]
    w = grid["window"]["values"]
    g = grid["min_gap_s"]
    tt, ww, gg = (a.ravel() for a in np.meshgrid(t, w, g, indexing="ij"))
    return pd.DataFrame(
        {
            "combo_id": np.arange(tt.size, dtype=np.int32),
            "threshold": tt.astype(np.float64),
            "window": ww.astype(np.int64) if grid["window"]["name"] in INTEGER_WINDOWS else ww.astype(np.float64),
            "min_gap_s": gg.astype(np.float64),
            "threshold_name": grid["threshold"]["name"],
            "window_name": grid["window"]["name"],
        }
    )


def min_gap_samples(min_gap_s: float, fs: float) -> int:
    """``round(min_gap_s * fs)``: a min-gap in seconds as samples of a record."""
    return int(round(min_gap_s * fs))


@njit(cache=True)
def _keep(indices, min_gap):
    keep = np.empty(indices.shape[0], dtype=np.bool_)
    last = 0
    for j in range(indices.shape[0]):
        keep[j] = j == 0 or indices[j] - last >= min_gap
        if keep[j]:
            last = indices[j]
    return keep


def thin_mask(indices, min_gap_samples: int) -> np.ndarray:
    """Which of the ascending ``indices`` :func:`thin` keeps (a boolean mask)."""
    if min_gap_samples < 0:
        raise ConfigError("min_gap", f"must be >= 0 samples, got {min_gap_samples}")
    return _keep(np.ascontiguousarray(indices, dtype=np.int64), int(min_gap_samples))


def thin(indices, min_gap_samples: int) -> np.ndarray:
    """Ascending ``indices`` keeping each only if it lies ``>= min_gap_samples`` after the last kept one."""
    indices = np.ascontiguousarray(indices, dtype=np.int64)
    return indices[thin_mask(indices, min_gap_samples)]
