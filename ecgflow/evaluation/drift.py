"""Window-based drift-detection figures, in the manner of river's ``river/drift/evaluate.py``
(development branch).

Each event ``e`` owns the window ``[e - pre, e + tol_e]``. Every alarm (detection) goes to the
earliest window it falls in; an alarm in no window is a false alarm. Unlike the one-to-one
matching of :mod:`ecgflow.evaluation.matching`, several alarms in one window are all "true".

- episode recall: share of events whose window received at least one alarm (an event counts once);
- missed detection rate (MDR): ``1 - episode recall``;
- mean time to detection (MTTD): mean, over detected events, of (first alarm in the window - event);
- mean time between false alarms (MTFA): record duration / number of false alarms
  (undefined, NaN, without false alarms);
- mean time ratio (MTR): ``MTFA / MTTD x (1 - MDR)`` (NaN where MTFA or MTTD is undefined or MTTD <= 0).

Each is NaN without events, except MTFA.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def episode_counts(det, ev, tol_e, pre):
    """(detected events, sum of first-alarm delays, false alarms); ``det`` and ``ev`` sorted."""
    n = ev.shape[0]
    first = np.full(n, -1, np.int64)
    ends = ev + tol_e
    n_false = 0
    i = 0
    for j in range(det.shape[0]):
        d = det[j]
        while i < n and ends[i] < d:  # window ends never decrease along the events
            i += 1
        if i < n and ev[i] - pre <= d:
            if first[i] < 0:
                first[i] = j
        else:
            n_false += 1
    detected = 0
    delay_sum = 0
    for i in range(n):
        if first[i] >= 0:
            detected += 1
            delay_sum += det[first[i]] - ev[i]
    return detected, delay_sum, n_false


def drift_figures(n_events: int, detected: int, delay_sum: float, n_false: int, duration: float) -> dict:
    """Episode recall, MDR, MTTD, MTFA and MTR from :func:`episode_counts`' output.

    ``delay_sum`` and ``duration`` share one unit (samples or seconds); MTTD and MTFA come in it.
    """
    recall = detected / n_events if n_events else math.nan
    mttd = delay_sum / detected if detected else math.nan
    mtfa = duration / n_false if n_false else math.nan
    mtr = mtfa / mttd * recall if (mttd > 0 and not math.isnan(mtfa)) else math.nan
    return {"episode_recall": recall, "missed_detection_rate": 1.0 - recall, "mttd": mttd,
            "mtfa": mtfa, "mtr": mtr}
