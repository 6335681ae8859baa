"""One-to-one matching of detections to ground-truth events within tolerance windows.

Detection ``d`` may match event ``e`` when ``-pre <= d - e <= tol_e`` (``tol_e`` is the event's
tolerance: one value for all events, or an adaptive one). Inputs of the kernels are sorted int64
sample arrays; each kernel returns, per detection, the index of its event or -1.

The windows' ends ``e + tol_e`` never decrease along the events (a constant tolerance, or an
adaptive one that ends at or before the next event), which both algorithms rely on:

- ``greedy``: detections in time order; each takes, among the unmatched events in its window, the
  one with the smallest absolute delay (on a tie, the event before the detection). With
  ``pre = 0`` that is the latest unmatched event at or before the detection.
- ``optimal``: a maximum matching, and among those one with the least total absolute delay
  ``sum |d - e|`` (the quantity greedy minimises locally; with ``pre = 0`` every delay is
  non-negative). The windows' starts ``e - pre`` and ends both never decrease along the events, so
  two crossing pairs can always be uncrossed into two valid pairs, and ``|d - e|`` does not grow
  under uncrossing: a dynamic programme over order-preserving matchings is exact. It visits
  each (event, detection-in-its-window) pair once: O(n_events log n_detections + pairs).
"""

from __future__ import annotations

import numpy as np
from numba import njit

POLICIES = ("greedy", "optimal")


@njit(cache=True)
def _find(parent, k):
    """Root of ``k`` in a union-find forest (path halving); roots satisfy ``parent[r] == r``."""
    while parent[k] != k:
        parent[k] = parent[parent[k]]
        k = parent[k]
    return k


@njit(cache=True)
def match_greedy(det, ev, tol_e, pre):
    """Greedy matching (see module docstring); ``det`` and ``ev`` sorted ascending."""
    n, m = ev.shape[0], det.shape[0]
    match = np.full(m, -1, np.int64)
    # prev[k + 1]: root = 1 + largest unmatched event index <= k (0: none);
    # nxt[k]: root = smallest unmatched event index >= k (n: none).
    prev = np.arange(n + 1)
    nxt = np.arange(n + 1)
    p = 0  # number of events at or before the current detection
    for j in range(m):
        d = det[j]
        while p < n and ev[p] <= d:
            p += 1
        a = _find(prev, p) - 1
        b = _find(nxt, p)
        ok_a = a >= 0 and d - ev[a] <= tol_e[a]
        ok_b = b < n and ev[b] - d <= pre
        if ok_a and ok_b:
            if ev[b] - d < d - ev[a]:
                ok_a = False
        if ok_a:
            k = a
        elif ok_b:
            k = b
        else:
            continue
        match[j] = k
        prev[k + 1] = k
        nxt[k] = k + 1
    return match


@njit(cache=True)
def _better(c1, s1, c2, s2):
    """(count c1, total absolute delay s1) strictly better than (c2, s2)."""
    return c1 > c2 or (c1 == c2 and s1 < s2)


@njit(cache=True)
def match_optimal(det, ev, tol_e, pre):
    """Maximum matching with least total absolute delay (see module docstring); inputs sorted ascending."""
    n, m = ev.shape[0], det.shape[0]
    match = np.full(m, -1, np.int64)
    if n == 0 or m == 0:
        return match
    lo = np.searchsorted(det, ev - pre, side="left")
    hi = np.searchsorted(det, ev + tol_e, side="right")
    off = np.zeros(n + 1, np.int64)
    for i in range(n):
        off[i + 1] = off[i] + hi[i] - lo[i] + 1
    cnt = np.zeros(off[n], np.int64)
    tot = np.zeros(off[n], np.int64)
    choice = np.full(off[n], -1, np.int64)
    # g_i(j), j in [lo_i, hi_i]: best (count, total |delay|) of events 0..i using detections < j.
    for i in range(n):
        best_c, best_s, best_j = -1, 0, -1
        for j in range(lo[i], hi[i] + 1):
            if i == 0:
                pc, ps = 0, 0
            else:
                jj = min(j, hi[i - 1])
                q = off[i - 1] + jj - lo[i - 1]
                pc, ps = cnt[q], tot[q]
            r = off[i] + j - lo[i]
            if best_j >= 0 and _better(best_c, best_s, pc, ps):
                cnt[r], tot[r], choice[r] = best_c, best_s, best_j
            else:
                cnt[r], tot[r] = pc, ps
            if j < hi[i]:
                c, s = pc + 1, ps + abs(det[j] - ev[i])
                if best_j < 0 or _better(c, s, best_c, best_s):
                    best_c, best_s, best_j = c, s, j
    j = hi[n - 1]
    for i in range(n - 1, -1, -1):
        j = min(j, hi[i])
        k = choice[off[i] + j - lo[i]]
        if k >= 0:
            match[k] = i
            j = k
    return match


@njit(cache=True)
def match(det, ev, tol_e, pre, optimal):
    """Dispatch to :func:`match_optimal` or :func:`match_greedy`."""
    if optimal:
        return match_optimal(det, ev, tol_e, pre)
    return match_greedy(det, ev, tol_e, pre)


def event_tolerances(events: np.ndarray, tolerance: int, adaptive_fraction: float | None = None,
                     n_samples: int | None = None) -> np.ndarray:
    """Tolerance of each (sorted) event: ``tolerance``, or with ``adaptive_fraction`` the smaller of
    ``tolerance`` and ``floor(fraction x regime length)``, the regime running from the event to the
    next event (the last one to ``n_samples``)."""
    tol = np.full(events.shape[0], int(tolerance), np.int64)
    if adaptive_fraction is None or events.shape[0] == 0:
        return tol
    ends = np.append(events[1:], max(int(n_samples), int(events[-1])))
    regime = np.floor(adaptive_fraction * (ends - events)).astype(np.int64)
    return np.minimum(tol, regime)
