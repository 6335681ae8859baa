"""Beat (QRS) detection for records without beat annotations, and its beat-by-beat accuracy where they exist.

Detector: sleepecg's ``detect_heartbeats`` (C backend), a Pan & Tompkins (1985) variant with a zero-phase
5-30 Hz band-pass; it marks the peak of the band-passed signal, which may sit a few samples off the
annotators' fiducial point (benchmarks/qrs.py reports the offset; it is left as is). Chosen over wfdb's
XQRS and neurokit2's ``ecg_peaks`` on mitdb accuracy and speed (see benchmarks/qrs.py).

Matching follows the beat-by-beat comparison of ANSI/AAMI EC57: a detection within +-150 ms of a
reference beat matches it, one to one, nearest pairs first.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError

MIN_DETECT_S = 5.0  # shortest signal to detect beats in (s): the detector learns its thresholds on the first 2 s
MATCH_WINDOW_S = 0.15  # +-150 ms: EC57 beat-by-beat match window


def detect_beats(signal: np.ndarray, fs: float, source="record") -> np.ndarray:
    """Sample indices (int64, ascending, unique) of the beats sleepecg detects in ``signal`` (one lead,
    any unit) sampled at ``fs`` Hz. Raises InputError naming ``source`` for a signal that is not 1-D and
    finite, shorter than ``MIN_DETECT_S``, or in which fewer than 2 beats are found."""
    import sleepecg

    x = np.asarray(signal)
    if not np.isfinite(fs) or fs <= 0:
        raise InputError(source, f"sampling rate {fs!r} Hz is not a positive number")
    if x.ndim != 1:
        raise InputError(source, f"expected one lead (a 1-D signal), got shape {x.shape}")
    duration = len(x) / fs
    if duration < MIN_DETECT_S:
        raise InputError(source, f"signal of {len(x)} samples ({duration:.2f} s at {fs:g} Hz) is too short to "
                                 f"detect beats (at least {MIN_DETECT_S:g} s)")
    bad = ~np.isfinite(x)
    if bad.any():
        raise InputError(source, f"{int(bad.sum())} missing (NaN or infinite) samples, the first at sample "
                                 f"{int(np.argmax(bad))}")
    flat = bool(np.all(x == x[0]))
    beats = np.empty(0, np.int64) if flat else np.unique(sleepecg.detect_heartbeats(x, float(fs), backend="c"))
    if len(beats) < 2:
        why = " (flat signal)" if flat else ""
        raise InputError(source, f"{len(beats)} beats found in {duration:.1f} s{why}: at least 2 are needed")
    return beats.astype(np.int64)


def beat_pairs(reference, detected, fs: float, window_s: float = MATCH_WINDOW_S) -> tuple[np.ndarray, np.ndarray]:
    """``(reference index, detected index)`` arrays of the one-to-one matches of ``detected`` to
    ``reference`` (sample indices, any order; indices refer to the sorted arrays) within
    ``+-window_s``: candidate pairs are taken nearest first (ties: earlier reference, then earlier
    detection), each beat of either list used at most once. O(n log n) in the number of beats."""
    ref = np.sort(np.asarray(reference, np.int64))
    det = np.sort(np.asarray(detected, np.int64))
    w = int(round(window_s * fs))
    lo = np.searchsorted(ref, det - w, side="left")
    hi = np.searchsorted(ref, det + w, side="right")
    n = hi - lo
    d_idx = np.repeat(np.arange(len(det)), n)
    r_idx = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(n.sum())  # lo[d] + 0, 1, ... per detection
    if not len(d_idx):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    # Pairs whose detection and reference have no other candidate are matched outright; the rest
    # (a beat within reach of two) go through the nearest-first loop.
    ref_count = np.bincount(r_idx, minlength=len(ref))
    sole = (n[d_idx] == 1) & (ref_count[r_idx] == 1)
    keep_r, keep_d = [r_idx[sole]], [d_idx[sole]]
    r_c, d_c = r_idx[~sole], d_idx[~sole]
    if len(r_c):
        order = np.lexsort((d_c, r_c, np.abs(det[d_c] - ref[r_c])))
        used_r, used_d, got_r, got_d = set(), set(), [], []
        for r, d in zip(r_c[order].tolist(), d_c[order].tolist()):
            if r not in used_r and d not in used_d:
                used_r.add(r)
                used_d.add(d)
                got_r.append(r)
                got_d.append(d)
        keep_r.append(np.array(got_r, np.int64))
        keep_d.append(np.array(got_d, np.int64))
    r_m, d_m = np.concatenate(keep_r), np.concatenate(keep_d)
    order = np.argsort(r_m, kind="stable")
    return r_m[order], d_m[order]


def match_beats(reference, detected, fs: float, window_s: float = MATCH_WINDOW_S) -> tuple[int, int, int]:
    """``(tp, fp, fn)`` of ``detected`` against ``reference`` beats (sample indices) at ``fs`` Hz, matched
    one to one within ``+-window_s`` (see :func:`beat_pairs`)."""
    r_m, _ = beat_pairs(reference, detected, fs, window_s)
    tp = len(r_m)
    return tp, len(np.asarray(detected)) - tp, len(np.asarray(reference)) - tp
