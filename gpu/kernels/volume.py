"""Volume indicators: on-balance volume (TA-Lib arithmetic) and a rolling VWAP."""

from __future__ import annotations

import numpy as np
from numba import prange

from gpu.kernels.common import fill_nan, first_valid2, first_valid4, jit, jit_parallel


@jit
def obv_row(close: np.ndarray, volume: np.ndarray, out: np.ndarray) -> None:
    # TA_OBV: starts at the first volume, then adds/subtracts volume on up/down closes
    n = close.shape[0]
    s = first_valid2(close, volume)
    fill_nan(out, s)
    if s >= n:
        return
    total = volume[s]
    out[s] = total
    for i in range(s + 1, n):
        # branch-free: the direction is a coin flip a branch predictor cannot learn; v * 0.0
        # adds an exact zero on an unchanged close
        c = close[i]
        prev = close[i - 1]
        direction = (1.0 if c > prev else 0.0) - (1.0 if c < prev else 0.0)
        total += direction * volume[i]
        out[i] = total


@jit_parallel
def obv(close: np.ndarray, volume: np.ndarray, out: np.ndarray) -> None:
    for r in prange(close.shape[0]):
        obv_row(close[r], volume[r], out[r])


@jit
def vwap_row(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, period: int, out: np.ndarray
) -> None:
    # sum(typical * volume) / sum(volume) over the last `period` candles; NaN on a zero-volume window.
    # No running total (which drifts, and keeps residue of a huge value after it leaves): the
    # history is cut into blocks of `period` from its start, and a window ending at b0 + j is the
    # suffix of the previous block from slot j + 1 plus the prefix of its own block up to j
    # (van Herk / Gil-Werman for sums). Every window sum is thus a fresh sum of its own terms,
    # as exact as a direct sum. A window that traded nothing sums to exactly 0 / 0 = NaN (volumes
    # are not negative). The four running sums per step are independent chains.
    n = close.shape[0]
    s = first_valid4(high, low, close, volume)
    begin = s + period - 1
    fill_nan(out, begin)
    if begin >= n:
        return
    p = period
    third = 1.0 / 3.0
    terms = np.empty(p)  # typical * volume of the current block
    suf_pv = np.empty(p + 1)  # suffix sums of the previous block, slot p = empty suffix
    suf_v = np.empty(p + 1)
    nxt_pv = np.empty(p + 1)
    nxt_v = np.empty(p + 1)
    pre_v = np.empty(p)
    suf_pv[p] = 0.0
    suf_v[p] = 0.0
    nxt_pv[p] = 0.0
    nxt_v[p] = 0.0
    for b0 in range(s, n, p):
        m = min(p, n - b0)
        hs = high[b0 : b0 + m]
        ls = low[b0 : b0 + m]
        cs = close[b0 : b0 + m]
        vs = volume[b0 : b0 + m]
        for j in range(m):
            terms[j] = (hs[j] + ls[j] + cs[j]) * third * vs[j]
        dst = out[b0 : b0 + m]
        # prefixes of this block forward, suffixes of it backward (kept for the next block)
        a_pv = 0.0
        a_v = 0.0
        z_pv = 0.0
        z_v = 0.0
        for j in range(m):
            a_pv += terms[j]
            a_v += vs[j]
            dst[j] = a_pv
            pre_v[j] = a_v
            g = m - 1 - j
            z_pv += terms[g]
            z_v += vs[g]
            nxt_pv[g] = z_pv
            nxt_v[g] = z_v
        if b0 > s:
            for j in range(m):
                dst[j] = (dst[j] + suf_pv[j + 1]) / (pre_v[j] + suf_v[j + 1])
        else:
            # the first block: only its last candle ends a full window
            dst[m - 1] = dst[m - 1] / pre_v[m - 1]
        suf_pv, nxt_pv = nxt_pv, suf_pv
        suf_v, nxt_v = nxt_v, suf_v
    fill_nan(out, begin)


@jit_parallel
def vwap(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, period: int, out: np.ndarray
) -> None:
    for r in prange(close.shape[0]):
        vwap_row(high[r], low[r], close[r], volume[r], period, out[r])
