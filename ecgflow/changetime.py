"""Change-time estimates of the hysteresis detector on windowed beat streams.

A statistic over the last ``w`` beats crosses a threshold part of the way through its window, and a
run of ``dwell`` beats must then confirm the switch, so the first beat of the confirming run lags the
change by up to ``w`` beats. The estimate used instead is the best split of the per-beat irregularity
``z_b = 1[|dRR_b| > irr_ms]`` (``dRR_b``: the difference of the RR intervals ending at beats ``b`` and
``b - 1``) among the last ``w + dwell`` beats before the alarm and the alarm's own beat: the first beat
``t`` of the later segment that maximises ``sqrt(n1 n2 / n) * (mean_after - mean_before)`` (the sign
reversed for a switch down), i.e. the two-segment least-squares split in the direction of the switch.
The estimate is the beat that ends the first RR interval of the new regime: ``t`` for a switch up
(``z_t`` is the first difference involving an irregular interval), ``t - 1`` for a switch down (the
difference at ``t - 1`` straddles the change, so the first regular interval ends at ``t - 1``).
Splitting a longer stretch (back to where the statistic last left the old state's side) was tried on
afdb and mitdb: as good at 2-4 s tolerances, worse at 10-30 s (more estimates before the change).

On the learned ``p_af`` stream (:class:`ProbabilitySplit`) the same split runs on the per-beat
probabilities themselves (unsmoothed) over the last ``window + dwell + PROBABILITY_MARGIN`` beats, and
the estimate is the first beat of the later segment in either direction.

A detector registration carries one estimate for all its streams, or a :class:`ByStream` that picks
one per stream (the sweep asks it with :meth:`ByStream.for_stream`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .streams import irregular_beats

SPLIT_IRR_MS = 50.0  # default |dRR| threshold of the per-beat irregularity (pNN50's)
PROBABILITY_MARGIN = 16  # beats searched beyond window + dwell on the p_af stream


@njit(cache=True)
def _best_split(z, lo, hi, up):
    n = hi - lo + 1
    total = 0.0
    for k in range(lo, hi + 1):
        total += z[k]
    best = -math.inf
    at = hi
    before = 0.0
    for t in range(lo + 1, hi + 1):
        before += z[t - 1]
        n1 = t - lo
        n2 = n - n1
        d = (total - before) / n2 - before / n1
        score = math.sqrt(n1 * n2 / n) * (d if up else -d)
        if score > best:
            best = score
            at = t
    return at


@njit(cache=True)
def _split_all(z, alarm, direction, span, down_shift=1):
    out = np.empty(alarm.shape[0], dtype=np.int64)
    for i in range(alarm.shape[0]):
        hi = alarm[i]
        lo = max(hi - span, 0)
        if hi > lo:
            up = direction[i] > 0
            t = _best_split(z, lo, hi, up)
            out[i] = t if up else t - down_shift
        else:
            out[i] = hi
    return out


def irregularity(beat_samples: np.ndarray, fs: float, irr_ms: float = SPLIT_IRR_MS) -> np.ndarray:
    """``z_b`` for every beat (0 for the first two, which have no dRR)."""
    return np.concatenate(([0.0, 0.0], irregular_beats(beat_samples, fs, irr_ms)))[: beat_samples.size]


def split_changes(beat_samples, z, alarm_samples, direction, span: int) -> np.ndarray:
    """Record samples of the best-split change estimates (see the module docstring) of the alarms at
    ``alarm_samples`` (beat samples) with ``direction`` (+1 or -1), searching ``span`` beats before each;
    ``z``: :func:`irregularity` of ``beat_samples``."""
    s = np.asarray(beat_samples, dtype=np.int64)
    at = np.searchsorted(s, np.asarray(alarm_samples, dtype=np.int64))
    return s[_split_all(z, at.astype(np.int64), np.asarray(direction, dtype=np.int8), int(span))]


class BestSplit:
    """The hysteresis detector's change estimate (see the module docstring), as a detector registration
    carries it: :meth:`prepare` once per record and stream, :meth:`changes` once per detector pass."""

    description = "best split of the per-beat irregularity"

    def prepare(self, beats, fs: float, stream_params: dict):
        """The record's beat samples and their irregularity (``irr_ms`` of the stream, else pNN50's)."""
        samples = beats["sample"].to_numpy(np.int64)
        return samples, irregularity(samples, fs, stream_params.get("irr_ms", SPLIT_IRR_MS))

    def changes(self, prepared, alarm_samples, direction, window, params: dict) -> np.ndarray:
        """Record samples of the estimates of the alarms at ``alarm_samples``, searched over the
        ``window + dwell`` beats before each."""
        samples, z = prepared
        return split_changes(samples, z, alarm_samples, direction, int(window) + params["dwell"])


class ProbabilitySplit:
    """The change estimate on a probability stream (``p_af``): the best split of the per-beat
    probabilities (see the module docstring); the first beat of the new regime in either direction."""

    description = "best split of the per-beat probabilities"

    def __init__(self, column: str = "p_af", margin: int = PROBABILITY_MARGIN):
        self.column, self.margin = column, int(margin)

    def prepare(self, table, fs: float, stream_params: dict):
        """The beat samples of the record's probability table and the probabilities."""
        return table["sample"].to_numpy(np.int64), table[self.column].to_numpy(np.float64)

    def changes(self, prepared, alarm_samples, direction, window, params: dict) -> np.ndarray:
        samples, p = prepared
        at = np.searchsorted(samples, np.asarray(alarm_samples, dtype=np.int64))
        span = int(window) + int(params["dwell"]) + self.margin
        return samples[_split_all(p, at.astype(np.int64), np.asarray(direction, dtype=np.int8), span, 0)]


class ByStream:
    """Change estimates by stream: ``mapping`` (stream -> estimate) and ``default`` for the other streams
    (None: the kernel's own)."""

    def __init__(self, mapping: dict, default=None):
        self.mapping, self.default = dict(mapping), default

    def for_stream(self, stream: str):
        return self.mapping.get(stream, self.default)


def estimate_for(estimate, stream: str):
    """The estimate that a registration's ``change_estimate`` gives ``stream`` (None: the kernel's own)."""
    return estimate.for_stream(stream) if hasattr(estimate, "for_stream") else estimate
