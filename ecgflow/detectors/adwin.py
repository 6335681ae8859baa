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

Floating-point operations follow the references' order exactly, so every total, variance and test is
bit for bit the reference's; what changes is where the values live:

- The window is the stream's last ``width`` elements and its buckets are consecutive runs of them, so
  row 0 (single elements) and row 1 (pairs) are read from the stream itself: a row-1 bucket's total and
  variance are recomputed from its two elements where needed (the same operations give the same bits).
  Only rows 2 and up are stored, each as a ring of slots: a merge moves no other bucket.
- The cut passes of a clock tick run in a function of their own (:func:`_tick`), so that the
  per-element loop keeps its state in registers.
- Divisions by a bucket size (a power of two) become multiplications by its reciprocal, which give the
  same bits. Cut points that certainly do not cut are skipped without a division (:func:`_is_cut`: a
  floor of the threshold over all cut points, then the point's own threshold, squared); the others are
  evaluated as the reference does.

river's logarithm is the C library's, like numba's; scikit-multiflow calls numpy's, whose vectorised
``log`` (numpy 1.23 on AVX-512 machines) can differ from it in the last bit, which could only change a
decision whose mean difference equals the cut threshold to 16 digits.
"""

import math

import numpy as np
from numba import njit


_LEVELS = 64  # bucket rows: row r holds buckets of 2**r elements, far beyond any stream length
# x / 2**r == x * 2**-r exactly (both round the same real number), and a multiplication is cheaper
_SIZE = np.array([2.0**r for r in range(_LEVELS)])
_INV = np.array([2.0**-r for r in range(_LEVELS)])
_UP = 1.0 + 2.0**-40  # safety factors of the division-free bounds (every rounding error is < 2**-50)
_DOWN = 1.0 - 2.0**-40


@njit(cache=True, inline="always", error_model="numpy")
def _at(a, k):
    """``a[k]`` for an index known to be in range (unsigned: no negative-index wraparound code)."""
    return a[np.uint64(k)]


@njit(cache=True, inline="always", error_model="numpy")
def _floor(width, mwl, var_w, delta_prime, lin):
    """A lower bound, with a wide safety margin, of the cut threshold epsilon over every cut point.

    epsilon grows with ``m = 1/(n0 - mwl + 1) + 1/(n1 - mwl + 1)``, and ``m >= 4 / (width - 2 (mwl - 1))``
    since ``n0 + n1 = width``. Returns 0 (no shortcut) when the bound is not meaningful.
    """
    spread = width - 2.0 * (mwl - 1.0)
    if not (delta_prime > 0.0 and spread > 0.0):
        return 0.0
    m_min = 4.0 / spread
    floor = math.sqrt(2.0 * m_min * var_w * delta_prime) + lin * m_min
    return floor * (1.0 - 2.0**-40) if floor > 0.0 else 0.0


@njit(cache=True, inline="always", error_model="numpy")
def _is_cut(u0, n0, u1, n1, mwl, floor, tight, k2, var_w, delta_prime, lin):
    """The reference's cut test ``|u0/n0 - u1/n1| > epsilon``, false at once where bounds settle it.

    ``bound / (n0 n1)`` is at least ``|u0/n0 - u1/n1|`` as the reference rounds it (the ``2**-45`` term
    covers every rounding error, each < 2**-50 relative). First test: ``bound`` against ``floor`` (a lower
    bound of epsilon at every cut point). Second test (``tight``: ``k2 = 2 var_w delta_prime`` and ``lin``
    in a range where relative rounding bounds hold): epsilon at this point, ``sqrt(k2 m) + lin m`` with
    ``m = (a + b) / (a b)``, ``a = n0 - mwl + 1``, ``b = n1 - mwl + 1``, multiplied through by ``a b n0 n1``
    and squared, so ``bound / (n0 n1) < epsilon`` becomes ``P < Q`` or ``(P - Q)**2 < n0**2 n1**2 k2 (a + b) a b``
    with ``P = bound a b`` and ``Q = lin (a + b) n0 n1``; each side is rounded the safe way by 2**-40. A true
    answer never hides a cut; NaN or overflow make both tests false, and the point is evaluated as the
    reference does.
    """
    nn = n0 * n1
    bound = abs(u0 * n1 - u1 * n0) + 2.0**-45 * (abs(u0) * n1 + abs(u1) * n0)
    if bound < floor * nn:
        return False
    if tight:
        a = n0 - mwl + 1.0
        b = n1 - mwl + 1.0
        ab = a * b
        p = bound * ab * _UP
        q = lin * (a + b) * nn * _DOWN
        if p < q:
            return False
        d = (p - q) * _UP
        rhs = nn * nn * k2 * (a + b) * ab * _DOWN
        if d * d * _UP < rhs and rhs < 2.0**1000:
            return False
    delta_mean = (u0 / n0) - (u1 / n1)
    m_recip = 1.0 / (n0 - mwl + 1.0) + 1.0 / (n1 - mwl + 1.0)
    epsilon = math.sqrt(2.0 * m_recip * var_w * delta_prime) + lin * m_recip
    return abs(delta_mean) > epsilon


@njit(cache=True, inline="always", error_model="numpy")
def _pair_variance(a0, a1, skm):
    """The variance of the row-1 bucket that merging single elements ``a0``, ``a1`` gives."""
    if skm:  # the second bucket's variance (0) plus n1 * n1 * (u1 - u2)**2 / (n1 + n1), n1 = 1
        return 0.0 + 1.0 * 1.0 * ((a0 - a1) * (a0 - a1)) / (1.0 + 1.0)
    return 0.0 + 0.5 * (a0 - a1) * (a0 - a1)  # (0 + 0) + n1 * 0.5 * (mu1 - mu2)**2, n1 = 1, mu = a * 1


@njit(cache=True, inline="always", error_model="numpy")
def _merge_row1(x, p, skm):
    """``(total, variance)`` of the row-2 bucket that merging the row-1 buckets ``x[p:p + 2]`` and
    ``x[p + 2:p + 4]`` gives."""
    a0 = np.float64(_at(x, p))
    a1 = np.float64(_at(x, p + 1))
    a2 = np.float64(_at(x, p + 2))
    a3 = np.float64(_at(x, p + 3))
    t0 = a0 + a1
    t1 = a2 + a3
    mu1 = t0 * 0.5
    mu2 = t1 * 0.5
    if skm:
        v = _pair_variance(a2, a3, True) + 2.0 * 2.0 * ((mu1 - mu2) * (mu1 - mu2)) / (2.0 + 2.0)
    else:
        v = _pair_variance(a0, a1, False) + _pair_variance(a2, a3, False) + 2.0 * 0.5 * (mu1 - mu2) * (mu1 - mu2)
    return t0 + t1, v


@njit(cache=True, error_model="numpy")
def _carry(totals, variances, counts, heads, ring, cap, skm, n_rows, tsum, vsum):
    """Append a bucket to row 2, then merge the two oldest buckets of every full row into the next row.
    Returns the number of rows."""
    mask = ring - 1
    if n_rows == 2:
        counts[2] = 0
        n_rows = 3
    row = 2
    while True:
        b = row * ring
        c = _at(counts, row)
        h = _at(heads, row)
        s = b + ((h + c) & mask)
        totals[s] = tsum
        variances[s] = vsum
        c += 1
        if c < cap:
            counts[row] = c
            return n_rows
        if row + 1 == n_rows:
            counts[n_rows] = 0
            n_rows += 1
        s0 = b + h
        s1 = b + ((h + 1) & mask)
        n1 = _at(_SIZE, row)
        inv = _at(_INV, row)
        t0 = _at(totals, s0)
        t1 = _at(totals, s1)
        mu1 = t0 * inv
        mu2 = t1 * inv
        if skm:  # the first bucket's variance is lost
            vsum = _at(variances, s1) + n1 * n1 * ((mu1 - mu2) * (mu1 - mu2)) / (n1 + n1)
        else:
            vsum = _at(variances, s0) + _at(variances, s1) + n1 * 0.5 * (mu1 - mu2) * (mu1 - mu2)
        tsum = t0 + t1
        heads[row] = (h + 2) & mask
        counts[row] = cap - 2
        row += 1


@njit(cache=True, error_model="numpy")
def _tick(x, i, totals, variances, counts, heads, ring, skm, n_rows, c1, c0, width, total, variance, delta, mwl):
    """Every cut pass of the clock tick at element ``i``: test the cut points oldest first, drop the oldest
    bucket while a cut holds. Returns whether a cut happened and the window's new state. A function of
    its own: inlined, its loops would crowd the registers of the per-element loop."""
    change = False
    mask = ring - 1
    skip = 1 if skm else 0  # scikit-multiflow never tests (nor adds up) the last bucket of a row
    while True:
        delta_prime = math.log(2.0 * math.log(width) / delta)
        var_w = variance / width
        lin = 2.0 / 3.0 * delta_prime
        floor = _floor(width, mwl, var_w, delta_prime, lin)
        k2 = 2.0 * var_w * delta_prime
        lo = 2.0**-600
        hi = 2.0**600
        tight = lin >= lo and lin <= hi and (k2 == 0.0 or (k2 >= lo and k2 <= hi))
        n0 = 0.0
        n1 = width
        u0 = 0.0
        u1 = total
        found = False
        for row in range(n_rows - 1, 1, -1):
            size = _at(_SIZE, row)
            b = row * ring
            h = _at(heads, row)
            for k in range(_at(counts, row) - skip):
                n0 += size
                n1 -= size
                t = _at(totals, b + ((h + k) & mask))
                u0 += t
                u1 -= t
                if n1 >= mwl and n0 >= mwl and _is_cut(u0, n0, u1, n1, mwl, floor, tight, k2, var_w, delta_prime, lin):
                    found = True
                    break
            if found:
                break
        if not found:
            p1 = i - c0 - 2 * c1 + 1  # row 1: the pairs before row 0's elements
            for k in range(c1 - skip):
                n0 += 2.0
                n1 -= 2.0
                t = np.float64(_at(x, p1 + 2 * k)) + np.float64(_at(x, p1 + 2 * k + 1))
                u0 += t
                u1 -= t
                if n1 >= mwl and n0 >= mwl and _is_cut(u0, n0, u1, n1, mwl, floor, tight, k2, var_w, delta_prime, lin):
                    found = True
                    break
        if not found:
            p0 = i - c0 + 1
            for k in range(c0 - 1):  # river stops at the newest element; scikit-multiflow skips it
                n0 += 1.0
                n1 -= 1.0
                t = np.float64(_at(x, p0 + k))
                u0 += t
                u1 -= t
                if n1 >= mwl and n0 >= mwl and _is_cut(u0, n0, u1, n1, mwl, floor, tight, k2, var_w, delta_prime, lin):
                    found = True
                    break
        if not found:
            return change, n_rows, c1, c0, width, total, variance
        change = True
        if width > 0.0:  # drop the oldest bucket
            last = n_rows - 1
            n = _at(_SIZE, last)
            if last >= 2:
                s = last * ring + _at(heads, last)
                u = _at(totals, s)
                vb = _at(variances, s)
            elif last == 1:
                p1 = i - c0 - 2 * c1 + 1
                a0 = np.float64(_at(x, p1))
                a1 = np.float64(_at(x, p1 + 1))
                u = a0 + a1
                vb = _pair_variance(a0, a1, skm)
            else:
                u = np.float64(_at(x, i - c0 + 1))
                vb = 0.0
            mu = u * _at(_INV, last)
            width -= n
            total -= u
            mu_window = total / width
            variance -= vb + n * width * (mu - mu_window) * (mu - mu_window) / (n + width)
            if last >= 2:
                heads[last] = (_at(heads, last) + 1) & mask
                counts[last] -= 1
                if _at(counts, last) == 0:
                    n_rows -= 1
            elif last == 1:
                c1 -= 1
                if c1 == 0:
                    n_rows -= 1
            else:
                c0 -= 1


@njit(cache=True, error_model="numpy")
def _adwin(x, delta, clock, max_buckets, mwl, grace, skm):
    """Both semantics (``skm``: scikit-multiflow's merges, cut loop and no reset after a detection)."""
    cap = max_buckets + 1
    ring = 1
    while ring < cap:
        ring *= 2
    totals = np.zeros(_LEVELS * ring)  # row r (r >= 2): slots [r * ring, (r + 1) * ring), oldest at heads[r]
    variances = np.zeros(_LEVELS * ring)
    counts = np.zeros(_LEVELS, dtype=np.int64)
    heads = np.zeros(_LEVELS, dtype=np.int64)
    n = x.shape[0]
    out = np.empty(n, dtype=np.int64)  # untouched pages cost nothing
    cut = np.empty(n, dtype=np.int64)
    n_out = 0
    n_rows = np.int64(1)  # int64, not a literal: one compilation of the helpers
    c0 = np.int64(0)  # row 0: the window's last c0 elements; row 1: the c1 pairs before them
    c1 = np.int64(0)
    width = 0.0
    total = 0.0
    variance = 0.0
    tick = 0  # the reference tests when its update count is a multiple of clock: a wrapping counter
    for i in range(n):
        value = np.float64(_at(x, i))
        width += 1.0
        inc = 0.0
        if width > 1.0:
            dv = value - total / (width - 1.0)
            inc = (width - 1.0) * dv * dv / width
        variance += inc
        total += value
        # merges: two row-0 elements become a row-1 pair (nothing to compute); two row-1 pairs become a
        # row-2 bucket, which may make rows further up overflow in turn
        c0 += 1
        if c0 == cap:
            c0 = cap - 2
            if n_rows == 1:
                n_rows = 2
            c1 += 1
            if c1 == cap:
                c1 = cap - 2
                tsum, vsum = _merge_row1(x, i - c0 - 2 * cap + 1, skm)
                n_rows = _carry(totals, variances, counts, heads, ring, cap, skm, n_rows, tsum, vsum)
        tick += 1
        if tick == clock:
            tick = 0
            if width > grace:
                change, n_rows, c1, c0, width, total, variance = _tick(
                    x, i, totals, variances, counts, heads, ring, skm, n_rows, c1, c0, width, total, variance, delta, mwl
                )
                if change:
                    out[n_out] = i
                    cut[n_out] = i + 1 - int(width)
                    n_out += 1
                    if not skm:  # river replaces the detector at the next update: same as starting afresh now
                        n_rows = 1
                        c0 = 0
                        c1 = 0
                        width = 0.0
                        total = 0.0
                        variance = 0.0
    return out[:n_out].copy(), cut[:n_out].copy()


@njit(cache=True, error_model="numpy")
def adwin_river(x, delta, clock, max_buckets, min_window_length, grace_period):
    """Indices where river 0.26 ``ADWIN(delta, clock, max_buckets, min_window_length, grace_period)`` fires, and cut points."""
    return _adwin(x, delta, clock, max_buckets, float(min_window_length), float(grace_period), False)


_SKM_BUCKETS = 5
_SKM_CLOCK = 32
_SKM_GRACE = 10
_SKM_MIN_LENGTH = 5


@njit(cache=True, error_model="numpy")
def adwin_skmultiflow(x, delta):
    """Indices where scikit-multiflow 0.5.3 ``ADWIN(delta)`` reports ``detected_change()``, and cut points."""
    return _adwin(x, delta, _SKM_CLOCK, _SKM_BUCKETS, float(_SKM_MIN_LENGTH), float(_SKM_GRACE), True)
