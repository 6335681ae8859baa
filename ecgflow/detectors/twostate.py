"""Two-state detectors: the stream is either in a low (regular) or a high (irregular) state, and each
confirmed switch between the two is a detection with a direction (+1 up, -1 down).

- ``hysteresis``: from the low state, a run of ``dwell`` consecutive values ``> hi`` switches up; from
  the high state, a run of ``dwell`` consecutive values ``< lo`` switches down (``lo = hi - band``). The
  change estimate is the first element of the confirming run.
- ``cusum``: two-sided Bernoulli CUSUM on a 0/1 stream. In the low state
  ``S = max(0, S + llr(x))`` with ``llr(1) = ln(p1/p0)``, ``llr(0) = ln((1-p1)/(1-p0))``; in the high state
  the same with ``-llr``. ``S > h`` switches the state and restarts ``S`` at 0. The change estimate is
  the element after the last time ``S`` was 0 (Page's estimate).

Initial state (``initial``, a detector parameter): ``low`` (the default of both, and of every
built-in grid) starts in the low state; ``estimate`` estimates it from the stream's first window and,
when that is high, starts high with a +1 detection at the stream's first element (alarm and change
both at element 0), so that a record in AF from its first beat is one episode from its start, as the
CPSC 2021 classes require. That one alarm is placed before its window ends: it is decided on the
first window. The first window, and when it is high:

- ``hysteresis``: the first ``dwell`` elements, all ``> hi`` (the run that would switch up at once);
- ``cusum``: the first ``m = floor(h / ln(p1/p0)) + 1`` elements (the fewest 1s that can pass ``h``),
  whose summed ``llr`` is > 0 (more likely from ``p1`` than from ``p0``).

After a high start the kernel runs on from element 0 in the high state. A stream shorter than its first
window starts low. Each kernel returns ``(alarm, change, direction)`` arrays.
"""

import math

import numpy as np
from numba import njit


@njit(cache=True)
def hysteresis(x, hi, lo, dwell, estimate_initial=False):
    """Hysteresis switches of ``x`` (see the module docstring); ``estimate_initial``: initial state
    ``estimate`` (else ``low``)."""
    alarm = np.empty(x.shape[0] + 1, dtype=np.int64)
    change = np.empty(x.shape[0] + 1, dtype=np.int64)
    direction = np.empty(x.shape[0] + 1, dtype=np.int8)
    n = 0
    high = False
    run = 0
    if estimate_initial and x.shape[0] >= dwell:
        high = True
        for i in range(dwell):
            if not x[i] > hi:
                high = False
        if high:
            alarm[0] = 0
            change[0] = 0
            direction[0] = 1
            n = 1
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
def cusum(x, p0, p1, h, estimate_initial=False):
    """Bernoulli CUSUM switches of the 0/1 stream ``x`` (see the module docstring); ``estimate_initial``:
    initial state ``estimate`` (else ``low``)."""
    alarm = np.empty(x.shape[0] + 1, dtype=np.int64)
    change = np.empty(x.shape[0] + 1, dtype=np.int64)
    direction = np.empty(x.shape[0] + 1, dtype=np.int8)
    n = 0
    up = math.log(p1 / p0)
    down = math.log((1.0 - p1) / (1.0 - p0))
    high = False
    m = int(math.floor(h / up)) + 1
    if estimate_initial and x.shape[0] >= m:
        total = 0.0
        for i in range(m):
            total += up if x[i] == 1.0 else down
        if total > 0.0:
            high = True
            alarm[0] = 0
            change[0] = 0
            direction[0] = 1
            n = 1
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
