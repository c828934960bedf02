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


# above this period the doubling passes below cost more than van Herk's constant three
DOUBLING_MAX_PERIOD = 256
_TILE = 2048


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

    For short periods, by doubling in cache-sized tiles: the extreme over 2w candles ending at i
    is the extreme of the w-candle extremes ending at i and at i - w, and `period` = w + r is
    covered by the w-extremes ending at i and at i - r. Every pass is an elementwise max/min of
    two aligned slices, so it vectorises: log2(period) cheap passes instead of a sequential
    chain per candle. Longer periods use van Herk / Gil-Werman above.
    """
    p = period
    o_start = max(first + p - 1, lo)
    if o_start >= hi:
        return
    if p > DOUBLING_MAX_PERIOD:
        rolling_max_min(high, low, o_start - p + 1, p, out_max, out_min, hi, o_start)
        return
    size = _TILE + p - 1
    # ping-pong buffers: row 0/1 for the max, 2/3 for the min
    bufs = np.empty((4, size))
    for o0 in range(o_start, hi, _TILE):
        o1 = min(o0 + _TILE, hi)
        a0 = o0 - p + 1
        length = o1 - a0
        # slot k of a buffer holds the extreme of the w candles ending at a0 + k (from k = w - 1)
        pair_max(high[a0 + 1 : o1], high[a0 : o1 - 1], bufs[0, 1:length])
        pair_min(low[a0 + 1 : o1], low[a0 : o1 - 1], bufs[2, 1:length])
        cur = 0
        w = 2
        while 2 * w <= p:
            pair_max(bufs[cur, w:length], bufs[cur, 0 : length - w], bufs[1 - cur, w:length])
            pair_min(bufs[2 + cur, w:length], bufs[2 + cur, 0 : length - w], bufs[3 - cur, w:length])
            cur = 1 - cur
            w *= 2
        m = o1 - o0
        pair_max(bufs[cur, p - 1 : p - 1 + m], bufs[cur, w - 1 : w - 1 + m], out_max[o0:o1])
        pair_min(bufs[2 + cur, p - 1 : p - 1 + m], bufs[2 + cur, w - 1 : w - 1 + m], out_min[o0:o1])
