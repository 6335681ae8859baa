"""Two-state detectors: the stream is either in a low (regular) or a high (irregular) state, and each
confirmed switch between the two is a detection with a direction (+1 up, -1 down).

- ``hysteresis``: from the low state, a run of ``dwell`` consecutive values ``> hi`` switches up; from
  the high state, a run of ``dwell`` consecutive values ``< lo`` switches down (``lo = hi - band``). The
  change estimate is the first element of the confirming run.
- ``cusum``: two-sided Bernoulli CUSUM on a 0/1 stream. In the low state
  ``S = max(0, S + llr(x))`` with ``llr(1) = ln(p1/p0)``, ``llr(0) = ln((1-p1)/(1-p0))``; in the high state
  the same with ``-llr``. ``S > h`` switches the state and restarts ``S`` at 0. The change estimate is
  the element after the last time ``S`` was 0 (Page's estimate).

Both start in the low state. Each kernel returns ``(alarm, change, direction)`` arrays.
"""

import math

import numpy as np
from numba import njit


@njit(cache=True)
def hysteresis(x, hi, lo, dwell):
    """Hysteresis switches of ``x`` (see the module docstring)."""
    alarm = np.empty(x.shape[0], dtype=np.int64)
    change = np.empty(x.shape[0], dtype=np.int64)
    direction = np.empty(x.shape[0], dtype=np.int8)
    n = 0
    high = False
    run = 0
    for i in range(x.shape[0]):
        if (x[i] < lo) if high else (x[i] > hi):
            run += 1
        else:
            run = 0
        if run >= dwell:
            alarm[n] = i
            change[n] = i - dwell + 1
            direction[n] = -1 if high else 1
            n += 1
            high = not high
            run = 0
    return alarm[:n].copy(), change[:n].copy(), direction[:n].copy()


@njit(cache=True)
def cusum(x, p0, p1, h):
    """Bernoulli CUSUM switches of the 0/1 stream ``x`` (see the module docstring)."""
    alarm = np.empty(x.shape[0], dtype=np.int64)
    change = np.empty(x.shape[0], dtype=np.int64)
    direction = np.empty(x.shape[0], dtype=np.int8)
    n = 0
    up = math.log(p1 / p0)
    down = math.log((1.0 - p1) / (1.0 - p0))
    high = False
    s = 0.0
    last_zero = -1
    for i in range(x.shape[0]):
        llr = up if x[i] == 1.0 else down
        s += -llr if high else llr
        if s <= 0.0:
            s = 0.0
            last_zero = i
        elif s > h:
            alarm[n] = i
            change[n] = last_zero + 1
            direction[n] = -1 if high else 1
            n += 1
            high = not high
            s = 0.0
            last_zero = i
    return alarm[:n].copy(), change[:n].copy(), direction[:n].copy()
