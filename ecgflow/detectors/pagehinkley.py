"""Page-Hinkley test (Page 1954) as compiled kernels.

- ``river``: river 0.26 ``drift.PageHinkley``: running mean, cumulative deviations
  ``alpha * sum + dev -/+ delta`` for increases and decreases with their running extremes, tested
  once ``min_instances`` values were seen; ``mode`` up, down or both; the update after a detection
  starts from a fresh detector.
- ``skmultiflow``: scikit-multiflow 0.5.3 ``PageHinkley``: one-sided (increases), the cumulative sum is
  clamped at zero (``max(0, ...)``) and tested from the ``min_instances - 1``-th value on; reset at the
  value after a detection.

Each kernel also returns, for every detection, Page's change estimate: the element after the last
extreme of the cumulative sum that fired (river: the minimum of the increase sum or the maximum of the
decrease sum; scikit-multiflow: the last time the clamped sum was 0).
"""

import numpy as np
from numba import njit


MODES = {"up": 1, "down": 2, "both": 3}


@njit(cache=True, error_model="numpy")
def pagehinkley_river(x, min_instances, delta, threshold, alpha, mode):
    """Indices where river 0.26 ``PageHinkley`` fires and change estimates; ``mode`` is a value of :data:`MODES`."""
    out = np.empty(x.shape[0], dtype=np.int64)  # untouched pages cost nothing
    start = np.empty(x.shape[0], dtype=np.int64)
    n_out = 0
    i_inc = -1
    i_dec = -1
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
        if sum_inc < min_inc:
            min_inc = sum_inc
            i_inc = i
        if sum_dec > max_dec:
            max_dec = sum_dec
            i_dec = i
        if n >= min_instances:
            up = test_up and sum_inc - min_inc > threshold
            if up or (test_down and max_dec - sum_dec > threshold):
                out[n_out] = i
                start[n_out] = (i_inc if up else i_dec) + 1
                n_out += 1
                # river replaces the detector at the next update: same as starting afresh now
                n = 0.0
                mean = 0.0
                sum_inc = 0.0
                sum_dec = 0.0
                min_inc = np.inf
                max_dec = -1.0
                i_inc = i
                i_dec = i
    return out[:n_out].copy(), start[:n_out].copy()


@njit(cache=True, error_model="numpy")
def pagehinkley_skmultiflow(x, min_instances, delta, threshold, alpha):
    """Indices where scikit-multiflow 0.5.3 ``PageHinkley`` reports ``detected_change()``, and change estimates."""
    out = np.empty(x.shape[0], dtype=np.int64)
    start = np.empty(x.shape[0], dtype=np.int64)
    n_out = 0
    last_zero = -1
    count = 1.0
    mean = 0.0
    total = 0.0
    for i in range(x.shape[0]):
        v = x[i]
        mean = mean + (v - mean) / count
        s = alpha * total + (v - mean - delta)
        if s > 0.0:
            total = s
        else:
            total = 0.0
            last_zero = i
        count += 1.0
        if count >= min_instances and total > threshold:
            out[n_out] = i
            start[n_out] = last_zero + 1
            n_out += 1
            count = 1.0  # reset() at the next add_element()
            mean = 0.0
            total = 0.0
            last_zero = i
    return out[:n_out].copy(), start[:n_out].copy()
