"""Rolling maximum of one series and minimum of another over `period` candles, branch-free.

van Herk / Gil-Werman: cut the history into blocks of `period`; a window ending at i spans the
tail of the previous block (its suffix extreme from i - period + 1) and the head of i's block
(its prefix extreme up to i), so the window's extreme is the larger of the two. The prefixes of a
block and the suffixes of the block before it advance in the same loop, four independent running
extremes, so no step waits on the previous one; only `period`-long suffix buffers are needed.
Extremes are exact, so the values equal TA-Lib's MAX / MIN to the bit.
"""

from __future__ import annotations

import numpy as np

from gpu.kernels.common import jit_no_nan


# max/min are exact whatever the flags; 'nnan' only lets LLVM use the maxsd/minsd instructions
# instead of compare-and-blend (interior NaN is outside the kernels' contract anyway)
@jit_no_nan
def rolling_max_min(
    high: np.ndarray,
    low: np.ndarray,
    start: int,
    period: int,
    out_max: np.ndarray,
    out_min: np.ndarray,
    stop: int,
    emit_from: int,
) -> None:
    """out_max[i] = max(high[i-period+1 : i+1]) and out_min[i] = min(low[...]) for i in
    [start + period - 1, stop), with blocks counted from `start`.

    Indices in [emit_from, start + period - 1) are scratch (the caller fills its warm-up); nothing
    before emit_from or from stop on is written. The outputs may not alias the inputs.
    """
    n = stop
    p = period
    suf_max = np.empty(p)
    suf_min = np.empty(p)
    for b0 in range(start, n, p):
        b1 = min(b0 + p, n)
        m = b1 - b0
        # prefixes of this block into the outputs; suffixes of the previous block into the buffers
        pmax = high[b0]
        pmin = low[b0]
        if b0 >= emit_from:
            out_max[b0] = pmax
            out_min[b0] = pmin
        have_prev = b0 > start
        if have_prev:
            g = b0 - 1
            smax = high[g]
            smin = low[g]
            suf_max[p - 1] = smax
            suf_min[p - 1] = smin
        for j in range(1, p):
            if j < m:
                f = b0 + j
                v = high[f]
                pmax = v if v > pmax else pmax
                if f >= emit_from:
                    out_max[f] = pmax
                v = low[f]
                pmin = v if v < pmin else pmin
                if f >= emit_from:
                    out_min[f] = pmin
            if have_prev:
                g = b0 - 1 - j
                v = high[g]
                smax = v if v > smax else smax
                suf_max[p - 1 - j] = smax
                v = low[g]
                smin = v if v < smin else smin
                suf_min[p - 1 - j] = smin
        if not have_prev:
            continue
        # a window ending at b0 + j starts at b0 - p + 1 + j, suffix slot j + 1 of the previous block
        for j in range(m):
            f = b0 + j
            if j + 1 < p:
                a = suf_max[j + 1]
                c = out_max[f]
                out_max[f] = a if a > c else c
                a = suf_min[j + 1]
                c = out_min[f]
                out_min[f] = a if a < c else c


# about where the doubling passes below (log2 of the period) stop beating van Herk's three (measured)
DOUBLING_MAX_PERIOD = 256
_TILE = 1024


@jit_no_nan
def pair_max(a: np.ndarray, b: np.ndarray, dst: np.ndarray) -> None:
    """dst = elementwise max(a, b) (a plain loop over aligned slices, which vectorises)."""
    for k in range(dst.shape[0]):
        u = a[k]
        v = b[k]
        dst[k] = u if u > v else v


@jit_no_nan
def pair_min(a: np.ndarray, b: np.ndarray, dst: np.ndarray) -> None:
    for k in range(dst.shape[0]):
        u = a[k]
        v = b[k]
        dst[k] = u if u < v else v


@jit_no_nan
def pair(a: np.ndarray, b: np.ndarray, dst: np.ndarray, is_max: bool) -> None:
    if is_max:
        pair_max(a, b, dst)
    else:
        pair_min(a, b, dst)


@jit_no_nan
def extreme_tile(
    x: np.ndarray, p: int, out: np.ndarray, o0: int, o1: int, one: np.ndarray, two: np.ndarray, is_max: bool
) -> None:
    """out[i] = max (or min) of x[i-p+1 : i+1] for i in [o0, o1), by doubling: the extreme over
    2w candles ending at i is that of the w-candle extremes ending at i and at i - w, and p =
    w + r is covered by the w-extremes ending at i and at i - (p - w). Every pass is an
    elementwise max/min of two aligned slices of a cache-resident tile (`one`, `two`: scratch of
    o1 - o0 + p - 1), so it vectorises: log2(p) cheap passes instead of a chain per candle."""
    a0 = o0 - p + 1
    length = o1 - a0
    # slot k of a buffer holds the extreme of the w candles ending at a0 + k (from k = w - 1)
    pair(x[a0 + 1 : o1], x[a0 : o1 - 1], one[1:length], is_max)
    in_one = True
    w = 2
    while 2 * w <= p:
        if in_one:
            pair(one[w:length], one[0 : length - w], two[w:length], is_max)
        else:
            pair(two[w:length], two[0 : length - w], one[w:length], is_max)
        in_one = not in_one
        w *= 2
    m = o1 - o0
    if in_one:
        pair(one[p - 1 : p - 1 + m], one[w - 1 : w - 1 + m], out[o0:o1], is_max)
    else:
        pair(two[p - 1 : p - 1 + m], two[w - 1 : w - 1 + m], out[o0:o1], is_max)


@jit_no_nan
def rolling_max_min_tiled(
    high: np.ndarray,
    low: np.ndarray,
    first: int,
    period: int,
    out_max: np.ndarray,
    out_min: np.ndarray,
    lo: int,
    hi: int,
) -> None:
    """out_max[i] = max(high[i-period+1 : i+1]) and out_min[i] = min(low[...]) for i in
    [max(first + period - 1, lo), hi); reads nothing before `first`; writes nothing else.

    Periods up to DOUBLING_MAX_PERIOD by doubling (extreme_tile), longer ones by van Herk /
    Gil-Werman above. Tiles small enough for the scratch to stay in the first-level cache.
    """
    p = period
    o_start = max(first + p - 1, lo)
    if o_start >= hi:
        return
    if p < 2 or p > DOUBLING_MAX_PERIOD:
        rolling_max_min(high, low, o_start - p + 1, p, out_max, out_min, hi, o_start)
        return
    size = _TILE + p - 1
    one = np.empty(size)
    two = np.empty(size)
    for o0 in range(o_start, hi, _TILE):
        o1 = min(o0 + _TILE, hi)
        extreme_tile(high, p, out_max, o0, o1, one, two, True)
        extreme_tile(low, p, out_min, o0, o1, one, two, False)
