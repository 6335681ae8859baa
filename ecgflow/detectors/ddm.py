"""DDM (drift detection method, Gama et al. 2004) on a 0/1 stream, as compiled kernels.

- ``river``: river 0.26 ``drift.binary.DDM``: running error rate ``p`` and ``s = sqrt(p(1-p)/n)``;
  after ``warm_start`` values, fires when ``p + s > p_min + drift_threshold * s_min``; the update after
  a detection starts from a fresh detector.
- ``skmultiflow``: scikit-multiflow 0.5.3 ``DDM(min_num_instances, warning_level, out_control_level)``:
  the same test with its own running-mean arithmetic, applied once ``n + 1 >= min_num_instances``.

Warnings do not change when either fires, so the warning level is validated but not used here. Each
kernel also returns, for every detection, the change estimate: the element after the last minimum of
``p + s`` since the detector (re)started.
"""

import math

import numpy as np
from numba import njit



@njit(cache=True, error_model="numpy")
def ddm_river(x, warm_start, drift_threshold):
    """Indices where river 0.26 ``DDM(warm_start, ..., drift_threshold)`` fires, and change estimates."""
    out = np.empty(x.shape[0], dtype=np.int64)  # untouched pages cost nothing
    start = np.empty(x.shape[0], dtype=np.int64)
    n_out = 0
    i_min = -1
    n = 0.0
    p = 0.0
    p_min = 0.0
    s_min = 0.0
    ps_min = np.inf
    for i in range(x.shape[0]):
        n += 1.0
        p += (1.0 / n) * (x[i] - p)
        s = math.sqrt(p * (1.0 - p) / n)
        if n > warm_start:
            if p + s <= ps_min:
                p_min = p
                s_min = s
                ps_min = p_min + s_min
                i_min = i
            if p + s > p_min + drift_threshold * s_min:
                out[n_out] = i
                start[n_out] = min(i_min + 1, i)
                n_out += 1
                n = 0.0  # river replaces the detector at the next update
                p = 0.0
                ps_min = np.inf
                i_min = i
    return out[:n_out].copy(), start[:n_out].copy()


@njit(cache=True, error_model="numpy")
def ddm_skmultiflow(x, min_num_instances, out_control_level):
    """Indices where scikit-multiflow 0.5.3 ``DDM`` reports ``detected_change()``, and change estimates."""
    out = np.empty(x.shape[0], dtype=np.int64)
    start = np.empty(x.shape[0], dtype=np.int64)
    n_out = 0
    i_min = -1
    count = 1.0
    p = 1.0
    p_min = np.inf
    s_min = np.inf
    ps_min = np.inf
    for i in range(x.shape[0]):
        p = p + (x[i] - p) / count
        s = math.sqrt(p * (1.0 - p) / count)
        count += 1.0
        if count >= min_num_instances:
            if p + s <= ps_min:
                p_min = p
                s_min = s
                ps_min = p + s
                i_min = i
            if p + s > p_min + out_control_level * s_min:
                out[n_out] = i
                start[n_out] = min(i_min + 1, i)
                n_out += 1
                count = 1.0  # reset() at the next add_element()
                p = 1.0
                p_min = np.inf
                s_min = np.inf
                ps_min = np.inf
                i_min = i
    return out[:n_out].copy(), start[:n_out].copy()
