"""Detector input streams built from a record's tidy, beats and other per-record tables.

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

Irregularity streams over the last ``w`` RR intervals (the window axis ``w``), placed at the window's
last beat; a position whose window is not yet full yields no value:

- ``cosen``: coefficient of sample entropy (Lake & Moorman 2011), embedding 1, tolerance ``r`` seconds
  (fixed stream parameter, default 0.03): ``B`` = pairs ``i < j`` among the window's first ``w - 1``
  intervals with ``|RR_i - RR_j| <= r``, ``A`` = those with ``|RR_(i+1) - RR_(j+1)| <= r`` as well (a zero
  count becomes 0.5); ``cosen = -ln(A / B) + ln(2 r) - ln(mean RR)``. Medians on afdb (w = 16): -2.3 outside
  AF, -0.5 in AF.
- ``pirr``: share of the last ``w`` ``|dRR|`` values above ``irr_ms`` ms (fixed stream parameter,
  default 50): the ``irr`` stream's moving average.
- ``nrmssd``: normalised RMSSD, ``sqrt(mean(dRR^2)) / mean(RR)`` over the window's ``w - 1`` successive
  differences and ``w`` intervals.

Beats: every row of the beats table is used, including beat symbols outside the AAMI classes: each is
a detected QRS complex, and dropping one would merge two RR intervals into one long interval.

A learned stream:

- ``p_af``: the rhythm model's probability that beat ``k`` is in AF or flutter (read from the
  record's ``rhythm`` table, ``results/{dataset}/rhythm/{record}.parquet``: columns sample, p_af; see
  :mod:`ecgflow.training.rhythm`), computed from the RR intervals up to beat ``k`` only, then a causal
  moving average of the last ``smooth`` probabilities (the window axis; 1: none).

Moving averages use float64 cumulative sums: value ``i`` is ``(c[i] - c[i - w]) / w``; the detectors
and any reference run on these same values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
from numba import njit

from .errors import ConfigError, InputError
from .registry import Registry



@dataclass(frozen=True)
class Stream:
    """What ecgflow needs to know of a detector input stream, registered with :func:`register_stream`.

    ``build(table, fs, window, params, source)`` returns ``(values, positions)`` (see the module
    docstring) from the record's ``source`` table (``"beats"``: a beats table with a ``sample`` column;
    ``"tidy"``: the signal table; any other name ``kind``: the per-record table
    ``results/{dataset}/<kind>/{record}.parquet`` that a rule writes, with the sampling rate ``fs`` in
    its metadata); ``columns``: the columns it reads from that table (default: ``sample`` and, for
    ``tidy``, ``ecg``); ``window``: the name of its window axis in the grid;
    ``integer_window``: the window counts elements (else it is a number such as a threshold in ms);
    ``min_window``: its smallest window; ``params``: its fixed parameters and their defaults (each > 0,
    grid key ``stream_params``); ``diff``: it has the first-difference option (``build`` then takes
    ``diff=``).
    """

    name: str
    window: str
    build: Callable
    source: str = "beats"
    integer_window: bool = True
    min_window: int = 1
    params: dict = field(default_factory=dict)
    diff: bool = False
    columns: tuple = ()

    @property
    def read_columns(self) -> list:
        """The columns read from the stream's ``source`` table."""
        return list(self.columns or (("sample", "ecg") if self.source == "tidy" else ("sample",)))


STREAMS = Registry("stream")
BEAT_STREAMS = STREAMS.view("name", lambda s: s.source == "beats")
WINDOW_NAME = STREAMS.view("window")
MIN_WINDOW = STREAMS.view("min_window", lambda s: s.min_window > 1)
STREAM_PARAMS = STREAMS.view("params", lambda s: bool(s.params))  # fixed stream parameters: name -> default


class _IntegerWindows:
    """The window names counted in elements (``ma_window``, ``w``; ``irr_ms`` is a threshold in ms)."""

    def __contains__(self, name) -> bool:
        return any(s.window == name and s.integer_window for s in STREAMS.values())


INTEGER_WINDOWS = _IntegerWindows()


def register_stream(stream: Stream, replace: bool = False) -> Stream:
    """Make ``stream`` known to the grid, the sweep and the config check (a detector runs on it once its
    registration lists it in ``streams``)."""
    if not isinstance(stream.source, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", stream.source):
        raise ValueError(f"stream {stream.name!r}: source must name a per-record table folder, got {stream.source!r}")
    return STREAMS.register(stream, replace)


def moving_average(x: np.ndarray, window: int) -> np.ndarray:
    """Causal mean of the last ``window`` values, for every full window (``len(x) - window + 1`` values)."""
    c = np.concatenate(([0.0], np.cumsum(np.asarray(x, dtype=np.float64))))
    return (c[window:] - c[:-window]) / window


def _window(window, key="ma_window", low=1) -> int:
    if isinstance(window, bool) or not float(window).is_integer() or window < low:
        rule = f"an integer >= {low}" if low > 1 else "a positive integer"
        raise ConfigError(key, f"must be {rule}, got {window!r}")
    return int(window)


def resolve_stream_params(kind: str, params: dict | None = None, key: str = "stream_params") -> dict:
    """Validated fixed parameters of stream ``kind``, defaults filled in (empty for a stream without any)."""
    spec = STREAM_PARAMS.get(kind, {})
    params = dict(params or {})
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}", f"not a parameter of the {kind} stream; parameters: {list(spec)}")
    out = {}
    for name, default in spec.items():
        v = params.get(name, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise ConfigError(f"{key}.{name}", f"must be a finite number > 0, got {v!r}")
        out[name] = float(v)
    return out


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
    if s.size < 3:
        raise InputError(source, "fewer than 3 beats: no successive RR difference")
    return irregular_beats(s, fs, irr_ms), s[2:]


def irregular_beats(samples: np.ndarray, fs: float, irr_ms: float) -> np.ndarray:
    """1.0 where ``|RR_i - RR_(i-1)| > irr_ms`` ms, else 0.0: one value per beat from the third of the
    beat ``samples``."""
    d = np.abs(np.diff(np.diff(samples)))  # in samples, exact
    return (d * 1000.0 / float(fs) > irr_ms).astype(np.float64)


@njit(cache=True)
def _cosen(rr, w, r):
    out = np.empty(rr.shape[0] - w + 1)
    log_2r = math.log(2.0 * r)
    for k in range(out.shape[0]):
        total = 0.0
        for i in range(k, k + w):
            total += rr[i]
        b = 0
        a = 0
        for i in range(k, k + w - 1):
            for j in range(i + 1, k + w - 1):
                if abs(rr[i] - rr[j]) <= r:
                    b += 1
                    if abs(rr[i + 1] - rr[j + 1]) <= r:
                        a += 1
        fa = a if a > 0 else 0.5
        fb = b if b > 0 else 0.5
        out[k] = -math.log(fa / fb) + log_2r - math.log(total / w)
    return out


@njit(cache=True)
def _nrmssd(rr, w):
    out = np.empty(rr.shape[0] - w + 1)
    for k in range(out.shape[0]):
        total = rr[k]
        sq = 0.0
        for i in range(k + 1, k + w):
            total += rr[i]
            d = rr[i] - rr[i - 1]
            sq += d * d
        out[k] = math.sqrt(sq / (w - 1)) / (total / w)
    return out


def window_stream(kind: str, beats: pd.DataFrame, fs: float, w: int, p: dict, source="beats"):
    """The ``cosen``, ``pirr`` or ``nrmssd`` stream of a beats table, windows of ``w`` (see the module
    docstring); ``p``: the stream's fixed params as :func:`resolve_stream_params` returns them."""
    w = _window(w, "w", MIN_WINDOW.get(kind, 1))
    if kind == "pirr":
        irr, pos = irr_stream(beats, fs, p["irr_ms"], source)
        if irr.size < w:
            raise InputError(source, f"{irr.size} successive RR differences: too few for w={w}")
        return moving_average(irr, w), pos[w - 1 :]
    rr, pos = _rr(beats, fs, source)
    if rr.size < w:
        raise InputError(source, f"{rr.size} RR intervals: too few for w={w}")
    values = _cosen(rr, w, p["r"]) if kind == "cosen" else _nrmssd(rr, w)
    return values, pos[w - 1 :]


def build_stream(kind: str, window, *, tidy=None, beats=None, fs=None, diff=False, params=None, source="record",
                 tables: dict | None = None, **more_tables):
    """The stream ``kind`` (a registered :class:`Stream`) of a record with its window parameter (``ma_window``,
    ``irr_ms``, ``w``, ...) and its fixed ``params``; ``tables``: the record's tables by source kind
    (``tidy``, ``beats`` and any other kind may also be passed on their own, e.g. ``rhythm=table``)."""
    spec = STREAMS.spec(kind, "stream")
    params = resolve_stream_params(kind, params)
    if diff and not spec.diff:
        raise ConfigError("diff", f"only the ecg stream has a first-difference option, not {kind!r}")
    tables = {**(tables or {}), **more_tables, **{k: v for k, v in (("tidy", tidy), ("beats", beats)) if v is not None}}
    table = tables.get(spec.source)
    if spec.source == "tidy":
        if table is None:
            raise InputError(source, f"the {kind} stream needs a tidy signal table (annotation-only record?)")
        return spec.build(table, fs, window, params, source, diff=diff) if spec.diff else spec.build(table, fs, window, params, source)
    if table is None or fs is None:
        raise InputError(source, f"the {kind} stream needs a {spec.source} table and its sampling rate")
    return spec.build(table, fs, window, params, source)


def p_af_stream(table: pd.DataFrame, fs: float, smooth: int, source="rhythm"):
    """The ``p_af`` stream of a record's rhythm table (see the module docstring)."""
    w = _window(smooth, "smooth")
    for col in ("sample", "p_af"):
        if col not in table.columns:
            raise InputError(source, f"rhythm table has no {col!r} column")
    pos = _beat_samples(table, source)
    p = table["p_af"].to_numpy(np.float64)
    if p.size < w:
        raise InputError(source, f"{p.size} probabilities: too few for smooth={w}")
    return moving_average(p, w), pos[w - 1 :]


register_stream(Stream("ecg", "ma_window", lambda tidy, fs, w, p, source, diff=False: ecg_stream(tidy, w, diff, source),
                       source="tidy", diff=True))
register_stream(Stream("rr", "ma_window", lambda beats, fs, w, p, source: rr_stream(beats, fs, w, source)))
register_stream(Stream("drr", "ma_window", lambda beats, fs, w, p, source: drr_stream(beats, fs, w, source)))
register_stream(Stream("irr", "irr_ms", lambda beats, fs, w, p, source: irr_stream(beats, fs, w, source),
                       integer_window=False))
register_stream(Stream("cosen", "w", partial(window_stream, "cosen"), min_window=3, params={"r": 0.03}))
register_stream(Stream("pirr", "w", partial(window_stream, "pirr"), params={"irr_ms": 50.0}))
register_stream(Stream("nrmssd", "w", partial(window_stream, "nrmssd"), min_window=2))
register_stream(Stream("p_af", "smooth", lambda table, fs, w, p, source: p_af_stream(table, fs, w, source),
                       source="rhythm", columns=("sample", "p_af")))
