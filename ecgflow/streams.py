"""Detector input streams built from a record's tidy and beats tables.

Every builder returns ``(values, positions)``: float64 values and, for each value, the int64 record
sample index it belongs to, so that a detection at stream index ``i`` is reported at ``positions[i]``.

- ``ecg``: the tidy ``ecg`` column (mV) after a causal moving average of ``ma_window`` samples; the
  stream starts at the first full window (sample ``ma_window - 1``). With ``diff=True`` its first
  difference (placed at the later sample) replaces it.
- ``rr``: RR intervals in seconds, ``(sample_i - sample_(i-1)) / fs`` for consecutive beat rows, at the
  later beat, then a causal moving average of ``ma_window`` beats.
- ``drr``: ``|RR_i - RR_(i-1)|`` in seconds at beat ``i`` (an irregularity stream: atrial fibrillation
  changes the variability of RR more than its mean), then a moving average of ``ma_window`` beats.
- ``irr``: DDM's 0/1 stream, 1 at beat ``i`` when ``|RR_i - RR_(i-1)| > irr_ms`` milliseconds, else 0.

Beats: every row of the beats table is used, including beat symbols outside the AAMI classes: each is
a detected QRS complex, and dropping one would merge two RR intervals into one long interval.

Moving averages use float64 cumulative sums: value ``i`` is ``(c[i] - c[i - w]) / w``; the detectors
and any reference run on these same values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import ConfigError, InputError

STREAMS = ("ecg", "rr", "drr", "irr")
BEAT_STREAMS = ("rr", "drr", "irr")
WINDOW_NAME = {"ecg": "ma_window", "rr": "ma_window", "drr": "ma_window", "irr": "irr_ms"}


def moving_average(x: np.ndarray, window: int) -> np.ndarray:
    """Causal mean of the last ``window`` values, for every full window (``len(x) - window + 1`` values)."""
    c = np.concatenate(([0.0], np.cumsum(np.asarray(x, dtype=np.float64))))
    return (c[window:] - c[:-window]) / window


def _window(window, key="ma_window") -> int:
    if isinstance(window, bool) or not float(window).is_integer() or window < 1:
        raise ConfigError(key, f"must be a positive integer, got {window!r}")
    return int(window)


def _beat_samples(beats: pd.DataFrame, source) -> np.ndarray:
    if "sample" not in beats.columns:
        raise InputError(source, "beats table has no 'sample' column")
    s = beats["sample"].to_numpy(dtype=np.int64)
    if s.size and np.any(np.diff(s) <= 0):
        raise InputError(source, "beat samples are not strictly increasing")
    return s


def _rr(beats, fs, source):
    s = _beat_samples(beats, source)
    return np.diff(s) / float(fs), s[1:]


def ecg_stream(tidy: pd.DataFrame, ma_window: int, diff: bool = False, source="tidy"):
    """The ``ecg`` stream of a tidy record (see the module docstring)."""
    w = _window(ma_window)
    for col in ("sample", "ecg"):
        if col not in tidy.columns:
            raise InputError(source, f"tidy table has no {col!r} column")
    x = tidy["ecg"].to_numpy(dtype=np.float64)
    pos = tidy["sample"].to_numpy(dtype=np.int64)
    if x.size < w + int(diff):
        raise InputError(source, f"{x.size} samples: too short for ma_window={w}" + (" and diff" if diff else ""))
    v = moving_average(x, w)
    pos = pos[w - 1 :]
    if diff:
        v, pos = np.diff(v), pos[1:]
    return v, pos


def rr_stream(beats: pd.DataFrame, fs: float, ma_window: int, source="beats"):
    """The ``rr`` stream (seconds) of a beats table."""
    w = _window(ma_window)
    rr, pos = _rr(beats, fs, source)
    if rr.size < w:
        raise InputError(source, f"{rr.size} RR intervals: too few for ma_window={w}")
    return moving_average(rr, w), pos[w - 1 :]


def drr_stream(beats: pd.DataFrame, fs: float, ma_window: int, source="beats"):
    """The ``drr`` stream (seconds) of a beats table."""
    w = _window(ma_window)
    rr, pos = _rr(beats, fs, source)
    d = np.abs(np.diff(rr))
    if d.size < w:
        raise InputError(source, f"{d.size} successive RR differences: too few for ma_window={w}")
    return moving_average(d, w), pos[1:][w - 1 :]


def irr_stream(beats: pd.DataFrame, fs: float, irr_ms: float, source="beats"):
    """The ``irr`` 0/1 stream of a beats table: 1 where ``|RR_i - RR_(i-1)| > irr_ms`` ms."""
    if isinstance(irr_ms, bool) or not np.isfinite(irr_ms) or irr_ms < 0:
        raise ConfigError("irr_ms", f"must be a finite number >= 0, got {irr_ms!r}")
    s = _beat_samples(beats, source)
    d = np.abs(np.diff(np.diff(s)))  # in samples, exact
    if d.size == 0:
        raise InputError(source, "fewer than 3 beats: no successive RR difference")
    return (d * 1000.0 / float(fs) > irr_ms).astype(np.float64), s[2:]


def build_stream(kind: str, window, *, tidy=None, beats=None, fs=None, diff=False, source="record"):
    """Dispatch to the builder of stream ``kind`` with its window parameter (``ma_window`` or ``irr_ms``)."""
    if kind not in STREAMS:
        raise ConfigError("stream", f"unknown stream {kind!r}; choose one of {list(STREAMS)}")
    if kind == "ecg":
        if tidy is None:
            raise InputError(source, "the ecg stream needs a tidy signal table (annotation-only record?)")
        return ecg_stream(tidy, window, diff=diff, source=source)
    if beats is None or fs is None:
        raise InputError(source, f"the {kind} stream needs a beats table and its sampling rate")
    if diff:
        raise ConfigError("diff", f"only the ecg stream has a first-difference option, not {kind!r}")
    if kind == "rr":
        return rr_stream(beats, fs, window, source)
    if kind == "drr":
        return drr_stream(beats, fs, window, source)
    return irr_stream(beats, fs, window, source)
