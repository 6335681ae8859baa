"""ADWIN (adaptive windowing, Bifet & Gavaldà 2007) as compiled kernels.

Two semantics, each reproducing its reference operation by operation:

- ``river``: river 0.26 ``drift.ADWIN`` (exponential histogram of buckets, ``max_buckets`` per row,
  merged variances kept, every bucket tested as a cut point every ``clock`` updates once the window
  exceeds ``grace_period``; the update after a detection starts from a fresh detector).
- ``skmultiflow``: scikit-multiflow 0.5.3 ``ADWIN`` with ``detected_change()`` called after every
  ``add_element()``: clock 32, 5 buckets per row, grace 10 and minimum sub-window 5 are hard-coded; a
  merge keeps only the second bucket's variance; the cut loop skips the last bucket of every row; after
  a detection only the dropped buckets are gone, so it can fire again at the next clock tick.

Divisions follow IEEE rules (a division by zero gives inf or NaN, as in the references, instead of
raising). Both return the ascending indices of the elements on which a change was reported and, for
each, the change estimate: the first element of the window ADWIN keeps after its cuts (its cut point).

Floating-point operations follow the references' order exactly; divisions by a bucket size (a power
of two) become multiplications by its reciprocal, which give the same bits. A division-free bound
skips cut points that certainly do not cut (:func:`_surely_below`); the others are evaluated as the
reference does. river's logarithm is the C library's, like numba's; scikit-multiflow calls numpy's,
whose vectorised ``log`` (numpy 1.23 on AVX-512 machines) can differ from it in the last bit, which
could only change a decision whose mean difference equals the cut threshold to 16 digits.
"""

import math

import numpy as np
from numba import njit


_LEVELS = 64  # bucket rows: row r holds buckets of 2**r elements, far beyond any stream length
# x / 2**r == x * 2**-r exactly (both round the same real number), and a multiplication is cheaper
_SIZE = np.array([2.0**r for r in range(_LEVELS)])
_INV = np.array([2.0**-r for r in range(_LEVELS)])


@njit(cache=True, inline="always", error_model="numpy")
def _drop_front(totals, variances, base, n, count):
    """Drop the first ``n`` of the ``count`` buckets of the row that starts at ``base``."""
    for k in range(n, count):
        totals[base + k - n] = totals[base + k]
        variances[base + k - n] = variances[base + k]


@njit(cache=True, inline="always", error_model="numpy")
def _floor(width, mwl, var_w, delta_prime, lin):
    """A lower bound, with a wide safety margin, of the cut threshold epsilon over every cut point.

    epsilon grows with ``m = 1/(n0 - mwl + 1) + 1/(n1 - mwl + 1)``, and ``m >= 4 / (width - 2 (mwl - 1))``
    since ``n0 + n1 = width``. A cut point whose mean difference is clearly below this bound cannot be a
    cut, which :func:`_surely_below` checks without a division; the others are evaluated exactly as the
    reference does. Returns 0 (no shortcut) when the bound is not meaningful.
    """
    spread = width - 2.0 * (mwl - 1.0)
    if not (delta_prime > 0.0 and spread > 0.0):
        return 0.0
    m_min = 4.0 / spread
    floor = math.sqrt(2.0 * m_min * var_w * delta_prime) + lin * m_min
    return floor * (1.0 - 2.0**-40) if floor > 0.0 else 0.0


@njit(cache=True, inline="always", error_model="numpy")
def _surely_below(u0, n0, u1, n1, floor):
    """True when ``|u0/n0 - u1/n1|``, as rounded by the reference, is certainly below ``floor``.

    Multiplied through by ``n0 * n1``; the ``2**-45`` term covers every rounding error (each < 2**-50
    relative), so a true answer never hides a cut. NaN or overflow give False (exact path).
    """
    return abs(u0 * n1 - u1 * n0) + 2.0**-45 * (abs(u0) * n1 + abs(u1) * n0) < floor * n0 * n1


@njit(cache=True, error_model="numpy")
def adwin_river(x, delta, clock, max_buckets, min_window_length, grace_period):
    """Indices where river 0.26 ``ADWIN(delta, clock, max_buckets, min_window_length, grace_period)`` fires, and cut points."""
    cap = max_buckets + 1
    totals = np.zeros(_LEVELS * cap)  # row r: slots [r * cap, (r + 1) * cap)
    variances = np.zeros(_LEVELS * cap)
    counts = np.zeros(_LEVELS, dtype=np.int64)
    mwl = float(min_window_length)
    grace = float(grace_period)
    out = np.empty(x.shape[0], dtype=np.int64)  # untouched pages cost nothing
    cut = np.empty(x.shape[0], dtype=np.int64)
    n_out = 0
    n_rows = 1
    c0 = 0
    width = 0.0
    total = 0.0
    variance = 0.0
    tick = 0
    for i in range(x.shape[0]):
        value = x[i]
        # insert into row 0 and update the window statistics; row 0's count lives in c0 (a register)
        # and is written to counts[0] around the rarer steps that read it there
        totals[c0] = value
        variances[c0] = 0.0
        c0 += 1
        width += 1.0
        inc = 0.0
        if width > 1.0:
            dv = value - total / (width - 1.0)
            inc = (width - 1.0) * dv * dv / width
        variance += inc
        total += value
        # merge the two oldest buckets of every full row into the next row
        if c0 == cap:
            counts[0] = c0
            row = 0
            while counts[row] == cap:
                b = row * cap
                n1 = _SIZE[row]
                t0 = totals[b]
                t1 = totals[b + 1]
                mu1 = t0 * _INV[row]
                mu2 = t1 * _INV[row]
                temp = n1 * 0.5 * (mu1 - mu2) * (mu1 - mu2)
                v12 = variances[b] + variances[b + 1] + temp
                if row + 1 == n_rows:
                    counts[n_rows] = 0
                    n_rows += 1
                c = counts[row + 1]
                totals[b + cap + c] = t0 + t1
                variances[b + cap + c] = v12
                counts[row + 1] = c + 1
                _drop_front(totals, variances, b, 2, cap)
                counts[row] = cap - 2
                if counts[row + 1] <= max_buckets:
                    break
                row += 1
            c0 = counts[0]
        # test every cut point, oldest bucket first; drop the oldest bucket while a cut holds
        change = False
        tick += 1  # river tests when tick % clock == 0; a wrapping counter avoids the division
        if tick == clock:
            tick = 0
        if tick == 0 and width > grace:
            counts[0] = c0
            reduce_width = True
            while reduce_width:
                reduce_width = False
                n0 = 0.0
                n1 = width
                u0 = 0.0
                u1 = total
                delta_prime = math.log(2.0 * math.log(width) / delta)
                var_w = variance / width
                lin = 2.0 / 3.0 * delta_prime
                floor = _floor(width, mwl, var_w, delta_prime, lin)
                stop = False
                for row in range(n_rows - 1, -1, -1):
                    size = _SIZE[row]
                    cnt = counts[row]
                    b = row * cap
                    for k in range(cnt):
                        n0 += size
                        n1 -= size
                        t = totals[b + k]
                        u0 += t
                        u1 -= t
                        if row == 0 and k == cnt - 1:
                            stop = True
                            break
                        if n1 < mwl or n0 < mwl or _surely_below(u0, n0, u1, n1, floor):
                            continue
                        delta_mean = (u0 / n0) - (u1 / n1)
                        m_recip = 1.0 / (n0 - mwl + 1.0) + 1.0 / (n1 - mwl + 1.0)
                        epsilon = math.sqrt(2.0 * m_recip * var_w * delta_prime) + lin * m_recip
                        if abs(delta_mean) > epsilon:
                            reduce_width = True
                            change = True
                            if width > 0.0:
                                last = n_rows - 1
                                bl = last * cap
                                n = _SIZE[last]
                                u = totals[bl]
                                mu = u * _INV[last]
                                width -= n
                                total -= u
                                mu_window = total / width
                                variance -= variances[bl] + n * width * (mu - mu_window) * (mu - mu_window) / (
                                    n + width
                                )
                                _drop_front(totals, variances, bl, 1, counts[last])
                                counts[last] -= 1
                                if counts[last] == 0 and n_rows > 1:
                                    n_rows -= 1
                                stop = True
                                break
                    if stop:
                        break
            c0 = counts[0]
        if change:
            out[n_out] = i
            cut[n_out] = i + 1 - int(width)
            n_out += 1
            # river replaces the detector at the next update: same as starting afresh now
            n_rows = 1
            c0 = 0
            width = 0.0
            total = 0.0
            variance = 0.0
            tick = 0
    return out[:n_out].copy(), cut[:n_out].copy()


_SKM_BUCKETS = 5
_SKM_CLOCK = 32
_SKM_GRACE = 10
_SKM_MIN_LENGTH = 5


@njit(cache=True, error_model="numpy")
def adwin_skmultiflow(x, delta):
    """Indices where scikit-multiflow 0.5.3 ``ADWIN(delta)`` reports ``detected_change()``, and cut points."""
    cap = _SKM_BUCKETS + 1
    totals = np.zeros(_LEVELS * cap)  # row r: slots [r * cap, (r + 1) * cap)
    variances = np.zeros(_LEVELS * cap)
    counts = np.zeros(_LEVELS, dtype=np.int64)
    mwl = float(_SKM_MIN_LENGTH)
    out = np.empty(x.shape[0], dtype=np.int64)
    cut = np.empty(x.shape[0], dtype=np.int64)
    n_out = 0
    n_rows = 1
    width = 0.0
    total = 0.0
    variance = 0.0
    time = 0
    for i in range(x.shape[0]):
        value = x[i]
        width += 1.0
        c = counts[0]
        totals[c] = value
        variances[c] = 0.0
        counts[0] = c + 1
        inc = 0.0
        if width > 1.0:
            inc = (width - 1.0) * (value - total / (width - 1.0)) * (value - total / (width - 1.0)) / width
        variance += inc
        total += value
        row = 0
        while counts[row] == cap:
            if row + 1 == n_rows:
                counts[n_rows] = 0
                n_rows += 1
            b = row * cap
            n1 = _SIZE[row]
            u1 = totals[b] * _INV[row]
            u2 = totals[b + 1] * _INV[row]
            inc = n1 * n1 * ((u1 - u2) * (u1 - u2)) / (n1 + n1)
            c = counts[row + 1]
            totals[b + cap + c] = totals[b] + totals[b + 1]
            variances[b + cap + c] = variances[b + 1] + inc  # the first bucket's variance is lost
            counts[row + 1] = c + 1
            _drop_front(totals, variances, b, 2, cap)
            counts[row] = cap - 2
            if counts[row + 1] <= _SKM_BUCKETS:
                break
            row += 1
        change = False
        time += 1
        if time % _SKM_CLOCK == 0 and width > _SKM_GRACE:
            reduce_width = True
            while reduce_width:
                reduce_width = False
                n0 = 0.0
                n1 = width
                u0 = 0.0
                u1 = total
                dd = math.log(2.0 * math.log(width) / delta)
                v = variance / width
                floor = _floor(width, mwl, v, dd, 2.0 / 3.0 * dd)
                stop = False
                for row in range(n_rows - 1, -1, -1):
                    size = _SIZE[row]
                    b = row * cap
                    for k in range(counts[row] - 1):  # the row's last bucket is never a cut point
                        n0 += size
                        n1 -= size
                        t = totals[b + k]
                        u0 += t
                        u1 -= t
                        if n1 < mwl or n0 < mwl or _surely_below(u0, n0, u1, n1, floor):
                            continue
                        abs_value = (u0 / n0) - (u1 / n1)
                        m = (1.0 / (n0 - mwl + 1.0)) + (1.0 / (n1 - mwl + 1.0))
                        epsilon = math.sqrt(2.0 * m * v * dd) + 2.0 / 3.0 * dd * m
                        if abs(abs_value) > epsilon:
                            reduce_width = True
                            change = True
                            if width > 0.0:
                                last = n_rows - 1
                                bl = last * cap
                                n = _SIZE[last]
                                width -= n
                                total -= totals[bl]
                                u = totals[bl] * _INV[last]
                                variance -= variances[bl] + n * width * (u - total / width) * (u - total / width) / (
                                    n + width
                                )
                                _drop_front(totals, variances, bl, 1, counts[last])
                                counts[last] -= 1
                                if counts[last] == 0 and n_rows > 1:
                                    n_rows -= 1
                                stop = True
                                break
                    if stop:
                        break
        if change:
            out[n_out] = i
            cut[n_out] = i + 1 - int(width)
            n_out += 1
    return out[:n_out].copy(), cut[:n_out].copy()
