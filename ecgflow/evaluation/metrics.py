"""Tolerance-window scores of one detection list against ground-truth events."""

from __future__ import annotations

import math

import numpy as np

from ..errors import ConfigError, InputError
from .drift import drift_figures, episode_counts
from .matching import POLICIES, event_tolerances, match


def as_samples(values, name: str) -> np.ndarray:
    """``values`` as a sorted 1-D int64 array of sample indices; integral floats are accepted."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InputError(name, f"expected a 1-D array of sample indices, got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise InputError(name, "contains NaN or infinite values")
        if not np.all(arr == np.round(arr)):
            raise InputError(name, "contains non-integer sample indices")
    elif arr.dtype.kind not in "iu" and arr.size:
        raise InputError(name, f"expected integer sample indices, got dtype {arr.dtype}")
    return np.sort(arr.astype(np.int64))


def check_parameters(tolerance, pre_tolerance, policy, adaptive_fraction, n_samples) -> None:
    """Raise :class:`ConfigError` for a parameter :func:`evaluate_detections` cannot use."""
    for key, value in (("tolerance", tolerance), ("pre_tolerance", pre_tolerance)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ConfigError(key, f"must be a non-negative integer number of samples, got {value!r}")
    if policy not in POLICIES:
        raise ConfigError("policy", f"must be one of {POLICIES}, got {policy!r}")
    if adaptive_fraction is not None:
        if not 0 < adaptive_fraction <= 1:
            raise ConfigError("adaptive_fraction", f"must lie in (0, 1], got {adaptive_fraction!r}")
        if n_samples is None:
            raise ConfigError("n_samples", "is required with adaptive_fraction (length of the last regime)")


def precision_recall_f1(tp, fp, fn):
    """(precision, recall, F1) from counts: the project's one definition.

    precision = TP / (TP + FP), recall = TP / (TP + FN), F1 = their harmonic mean
    = 2 TP / (2 TP + FP + FN); each 0.0 where its denominator is 0. Scalars give floats; arrays
    (or pandas columns) give float arrays. Counts may be fractional (a placebo's mean TP).
    """
    tp, fp, fn = (np.asarray(x, np.float64) for x in (tp, fp, fn))
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
    if precision.ndim == 0:
        return float(precision), float(recall), float(f1)
    return precision, recall, f1


def chance_f1(tp_chance, n_detections, n_events):
    """F1 of a placebo with ``n_detections`` detections and ``tp_chance`` (mean) true positives against
    ``n_events`` events: :func:`precision_recall_f1` of TP, FP = n_detections - TP, FN = n_events - TP."""
    return precision_recall_f1(tp_chance, n_detections - tp_chance, n_events - tp_chance)[2]


def delay_penalised(f1, mean_delay, tolerance):
    """``F1 / (1 + max(mean_delay, 0) / tolerance)``: early (negative) mean delays are not penalised;
    F1 itself for a zero tolerance, 0.0 without matches (NaN mean delay). Scalars or arrays."""
    f1, mean_delay = np.asarray(f1, np.float64), np.asarray(mean_delay, np.float64)
    scale = 1 + np.maximum(np.nan_to_num(mean_delay), 0.0) / tolerance if tolerance > 0 else 1.0
    out = np.where(np.isnan(mean_delay), 0.0, f1 / scale)
    return float(out) if out.ndim == 0 else out


def evaluate_detections(detections, events, tolerance=500, pre_tolerance=0, policy="greedy",
                        adaptive_fraction=None, n_samples=None) -> dict:
    """Score detections against events (sample indices, any order) with a tolerance window.

    A detection ``d`` can match event ``e`` when ``-pre_tolerance <= d - e <= tol_e``, where
    ``tol_e = tolerance`` or, with ``adaptive_fraction``, ``min(tolerance, floor(fraction x
    regime length))`` (regime: from the event to the next one, or to ``n_samples``).
    ``policy``: ``"greedy"`` or ``"optimal"`` (see :mod:`ecgflow.evaluation.matching`).

    Returns a dict: ``tp`` (matched detections), ``fp``, ``fn`` (unmatched events), ``precision``,
    ``recall``, ``f1`` (0.0 where a denominator is 0), ``delays`` (``d - e`` of the matches, in
    samples, ordered by detection), ``mean_delay``, ``median_delay`` (NaN without a match),
    ``pairs`` (int64 array of ``(detection, event)`` rows), ``delay_penalised_f1``
    (``f1 / (1 + max(mean_delay, 0) / tolerance)``), ``n_detections``, ``n_events``, and the drift figures
    of :mod:`ecgflow.evaluation.drift` in samples: ``episode_recall``, ``missed_detection_rate``,
    ``mttd``, ``n_false_alarms``, ``mtfa`` (needs ``n_samples``, else NaN), ``mtr``.

    >>> m = evaluate_detections([1100, 1900, 2100], [1000, 2000], tolerance=500)
    >>> m["tp"], m["fp"], m["fn"], m["mean_delay"]
    (2, 1, 0, 100.0)
    """
    det = as_samples(detections, "detections")
    ev = as_samples(events, "events")
    check_parameters(tolerance, pre_tolerance, policy, adaptive_fraction, n_samples)
    tol_e = event_tolerances(ev, tolerance, adaptive_fraction, n_samples)
    matched = match(det, ev, tol_e, np.int64(pre_tolerance), policy == "optimal")
    hit = matched >= 0
    pairs = np.column_stack([det[hit], ev[matched[hit]]]).astype(np.int64)
    delays = pairs[:, 0] - pairs[:, 1]
    tp = int(hit.sum())
    fp, fn = len(det) - tp, len(ev) - tp
    precision, recall, f1 = precision_recall_f1(tp, fp, fn)
    mean_delay = float(delays.mean()) if tp else math.nan
    detected, delay_sum, n_false = episode_counts(det, ev, tol_e, np.int64(pre_tolerance))
    duration = math.nan if n_samples is None else float(n_samples)
    drift = drift_figures(len(ev), detected, delay_sum, n_false, duration)
    return {
        "tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall, "f1": f1,
        "mean_delay": mean_delay, "median_delay": float(np.median(delays)) if tp else math.nan,
        "delays": delays, "pairs": pairs,
        "delay_penalised_f1": delay_penalised(f1, mean_delay, tolerance),
        "n_detections": len(det), "n_events": len(ev), "n_false_alarms": int(n_false), **drift,
    }
