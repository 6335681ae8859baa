"""Chance level: the F1 of a placebo detector with as many detections as the scored run.

The placebo fires periodically, ``n`` times over the record: detection ``k`` (0..n-1) at sample
``floor((k + u) x n_samples / n)``, where ``u`` in [0, 1) is the phase as a fraction of the period.
Its mean true positives over a fixed set of phases drawn with a seeded generator, matched with the
same policy and tolerances as the run, give the chance F1: with the detection count fixed, F1 is
linear in TP, so the F1 of the mean TP is the mean F1 over the phases, and chance pools over records
exactly as F1 does (summed TP, FP, FN). Placebo detections outside every event window cannot
match, so only the ones inside windows are generated: the cost does not grow with ``n``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .matching import match


def chance_phases(n_phases: int, seed: int) -> np.ndarray:
    """The placebo's phases (fractions of a period): ``n_phases`` seeded uniform draws, sorted."""
    return np.sort(np.random.default_rng(seed).random(int(n_phases)))


def placebo_detections(n: int, n_samples: int, u: float) -> np.ndarray:
    """All ``n`` detections of the placebo with phase ``u`` (sorted int64 samples)."""
    period = n_samples / n
    return np.floor((np.arange(n) + u) * period).astype(np.int64)


@njit(cache=True)
def placebo_in_windows(n, n_samples, u, ev, tol_e, pre):
    """The placebo detections that fall in some window ``[e - pre, e + tol_e]`` (sorted)."""
    period = n_samples / n
    cap = 0
    for i in range(ev.shape[0]):
        cap += int((tol_e[i] + pre + 1) / period) + 3
    out = np.empty(cap, np.int64)
    size = 0
    last_k = -1
    for i in range(ev.shape[0]):
        a, b = ev[i] - pre, ev[i] + tol_e[i]
        k0 = max(int(math.ceil(a / period - u)) - 1, last_k + 1, 0)
        k1 = min(int(math.ceil((b + 1) / period - u)), n - 1)
        for k in range(k0, k1 + 1):
            s = np.int64(math.floor((k + u) * period))
            if a <= s <= b:
                out[size] = s
                size += 1
                last_k = k
    return out[:size]


@njit(cache=True)
def chance_tp_many(ns, n_samples, phases, ev, tol_e, pre, optimal):
    """Mean placebo true positives over ``phases`` for each detection count in ``ns``."""
    out = np.zeros(ns.shape[0])
    for r in range(ns.shape[0]):
        n = ns[r]
        if n == 0 or ev.shape[0] == 0:
            continue
        total = 0
        for u in phases:
            det = placebo_in_windows(n, n_samples, u, ev, tol_e, pre)
            total += np.sum(match(det, ev, tol_e, pre, optimal) >= 0)
        out[r] = total / phases.shape[0]
    return out

