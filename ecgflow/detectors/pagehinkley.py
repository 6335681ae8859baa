"""Page-Hinkley test (Page 1954) as compiled kernels.

- ``river``: river 0.26 ``drift.PageHinkley``: running mean, cumulative deviations
  ``alpha * sum + dev -/+ delta`` for increases and decreases with their running extremes, tested
  once ``min_instances`` values were seen; ``mode`` up, down or both; the update after a detection
  starts from a fresh detector.
- ``skmultiflow``: scikit-multiflow 0.5.3 ``PageHinkley``: one-sided (increases), the cumulative sum is
  clamped at zero (``max(0, ...)``) and tested from the ``min_instances - 1``-th value on; reset at the
  value after a detection.
"""

import numpy as np
from numba import njit


MODES = {"up": 1, "down": 2, "both": 3}


@njit(cache=True, error_model="numpy")
def pagehinkley_river(x, min_instances, delta, threshold, alpha, mode):
    """Indices where river 0.26 ``PageHinkley`` fires; ``mode`` is a value of :data:`MODES`."""
    out = np.empty(x.shape[0], dtype=np.int64)  # untouched pages cost nothing
    n_out = 0
    test_up = mode != 2
    test_down = mode != 1
    n = 0.0
    mean = 0.0
    sum_inc = 0.0
    sum_dec = 0.0
    min_inc = np.inf
    max_dec = -1.0
    for i in range(x.shape[0]):
        v = x[i]
        n += 1.0
        mean += (1.0 / n) * (v - mean)
        dev = v - mean
        sum_inc = alpha * sum_inc + dev - delta
        sum_dec = alpha * sum_dec + dev + delta
        min_inc = sum_inc if sum_inc < min_inc else min_inc
        max_dec = sum_dec if sum_dec > max_dec else max_dec
        if n >= min_instances:
            if (test_up and sum_inc - min_inc > threshold) or (test_down and max_dec - sum_dec > threshold):
                out[n_out] = i
                n_out += 1
                # river replaces the detector at the next update: same as starting afresh now
                n = 0.0
                mean = 0.0
                sum_inc = 0.0
                sum_dec = 0.0
                min_inc = np.inf
                max_dec = -1.0
    return out[:n_out].copy()


@njit(cache=True, error_model="numpy")
def pagehinkley_skmultiflow(x, min_instances, delta, threshold, alpha):
    """Indices where scikit-multiflow 0.5.3 ``PageHinkley`` reports ``detected_change()``."""
    out = np.empty(x.shape[0], dtype=np.int64)
    n_out = 0
    count = 1.0
    mean = 0.0
    total = 0.0
    for i in range(x.shape[0]):
        v = x[i]
        mean = mean + (v - mean) / count
        s = alpha * total + (v - mean - delta)
        total = s if s > 0.0 else 0.0
        count += 1.0
        if count >= min_instances and total > threshold:
            out[n_out] = i
            n_out += 1
            count = 1.0  # reset() at the next add_element()
            mean = 0.0
            total = 0.0
    return out[:n_out].copy()
