"""Range-based indicators: ATR and ADX/DI (Wilder), rolling min/max levels (TA-Lib arithmetic)."""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from gpu.kernels.common import (
    chunk_bounds,
    fill_nan,
    fill_nan_range,
    first_valid2,
    first_valid3,
    is_zero,
    jit,
    jit_parallel,
)
from gpu.kernels.recurrence import run
from gpu.kernels.windows import rolling_max_min_tiled


@jit
def true_range(high: float, low: float, prev_close: float) -> float:
    # TA-Lib's TRUE_RANGE, max(h - l, |h - c1|, |l - c1|), written as max(h, c1) - min(l, c1): the
    # same single subtraction of the same two prices whenever high >= low, so the same bits
    if high >= low:
        top = high if high > prev_close else prev_close
        bottom = low if low < prev_close else prev_close
        return top - bottom
    out = high - low
    t = math.fabs(high - prev_close)
    out = t if t > out else out
    t = math.fabs(low - prev_close)
    return t if t > out else out


_TILE = 128


@jit
def true_ranges(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, lo: int, hi: int, dst: np.ndarray
) -> None:
    """dst[k] = true range of candle lo + k for k < hi - lo (lo >= 1); aligned slices with plain
    indices, no carried state: it vectorises."""
    hs = high[lo:hi]
    ls = low[lo:hi]
    cs = close[lo - 1 : hi - 1]
    for k in range(hi - lo):
        dst[k] = true_range(hs[k], ls[k], cs[k])


@jit
def atr_row(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int, out: np.ndarray) -> None:
    # TA_ATR: seed = SMA of the first `period` true ranges, then (prev * (p - 1) + tr) / p.
    # Tile by tile: the true ranges into a small buffer (vectorised), then the Wilder recurrence
    # from it into `out`, four candles per step (gpu/kernels/recurrence.py). The inputs are read
    # once and `out` written once, which bounds the speed on a long series. One long row is not
    # cut into time chunks: memory bandwidth, which the cores share, is the limit (measured: two
    # chunks with a prefix scan of the recurrence were slower than one pass).
    n = close.shape[0]
    s = first_valid3(high, low, close)
    begin = s + period
    if begin >= n:
        fill_nan(out, n)
        return
    true_ranges(high, low, close, s + 1, begin + 1, out[s + 1 : begin + 1])
    total = 0.0
    for i in range(s + 1, begin + 1):
        total += out[i]
    state = total / period
    out[begin] = state
    a = (period - 1) / period
    b = 1.0 / period
    buf = np.empty(_TILE)
    for t0 in range(begin + 1, n, _TILE):
        t1 = min(t0 + _TILE, n)
        true_ranges(high, low, close, t0, t1, buf)
        state = run(buf, out[t0:t1], 0, t1 - t0, state, a, b)
    fill_nan(out, begin)  # the warm-up held true ranges


@jit_parallel
def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int, out: np.ndarray) -> None:
    for r in prange(close.shape[0]):
        atr_row(high[r], low[r], close[r], period, out[r])


@jit
def adx_row(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    period: int,
    out_adx: np.ndarray,
    out_pdi: np.ndarray,
    out_mdi: np.ndarray,
) -> None:
    # TA_ADX / TA_PLUS_DI / TA_MINUS_DI: Wilder-smoothed +DM, -DM and TR summed over the first
    # period-1 bars, DI from bar `period`, ADX = mean DX over the next `period` bars, then Wilder.
    n = close.shape[0]
    s = first_valid3(high, low, close)
    di_begin = s + period
    adx_begin = s + 2 * period - 1
    fill_nan(out_pdi, di_begin)
    fill_nan(out_mdi, di_begin)
    fill_nan(out_adx, adx_begin)
    if di_begin >= n:
        return
    p = float(period)
    pm1 = p - 1.0
    plus_dm = 0.0
    minus_dm = 0.0
    tr = 0.0
    prev_high = high[s]
    prev_low = low[s]
    prev_close = close[s]
    for today in range(s + 1, di_begin):
        h = high[today]
        lo = low[today]
        diff_p = h - prev_high
        prev_high = h
        diff_m = prev_low - lo
        prev_low = lo
        if diff_m > 0 and diff_p < diff_m:
            minus_dm += diff_m
        elif diff_p > 0 and diff_p > diff_m:
            plus_dm += diff_p
        tr += true_range(prev_high, prev_low, prev_close)
        prev_close = close[today]
    sum_dx = 0.0
    adx = 0.0
    for today in range(di_begin, n):
        h = high[today]
        lo = low[today]
        diff_p = h - prev_high
        prev_high = h
        diff_m = prev_low - lo
        prev_low = lo
        minus_dm -= minus_dm / p
        plus_dm -= plus_dm / p
        if diff_m > 0 and diff_p < diff_m:
            minus_dm += diff_m
        elif diff_p > 0 and diff_p > diff_m:
            plus_dm += diff_p
        tr = tr - (tr / p) + true_range(prev_high, prev_low, prev_close)
        prev_close = close[today]
        have_tr = not is_zero(tr)
        if have_tr:
            mdi = 100.0 * (minus_dm / tr)
            pdi = 100.0 * (plus_dm / tr)
        else:
            mdi = 0.0
            pdi = 0.0
        out_mdi[today] = mdi
        out_pdi[today] = pdi
        if today <= adx_begin:
            # the first ADX is the plain mean of the first `period` DX values
            if have_tr:
                t = mdi + pdi
                if not is_zero(t):
                    sum_dx += 100.0 * (math.fabs(mdi - pdi) / t)
            if today == adx_begin:
                adx = sum_dx / p
                out_adx[today] = adx
            continue
        if have_tr:
            t = mdi + pdi
            if not is_zero(t):
                dx = 100.0 * (math.fabs(mdi - pdi) / t)
                adx = ((adx * pm1) + dx) / p
        out_adx[today] = adx


@jit_parallel
def adx(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    period: int,
    out_adx: np.ndarray,
    out_pdi: np.ndarray,
    out_mdi: np.ndarray,
) -> None:
    for r in prange(close.shape[0]):
        adx_row(high[r], low[r], close[r], period, out_adx[r], out_pdi[r], out_mdi[r])


@jit
def minmax_row(
    low: np.ndarray, high: np.ndarray, period: int, out_min: np.ndarray, out_max: np.ndarray, lo: int, hi: int
) -> None:
    # TA_MIN / TA_MAX over the row's history (gpu/kernels/windows.py); writes out[lo:hi] only
    s = first_valid2(low, high)
    begin = s + period - 1
    rolling_max_min_tiled(high, low, s, period, out_max, out_min, lo, hi)
    fill_nan_range(out_min, lo, min(begin, hi))
    fill_nan_range(out_max, lo, min(begin, hi))


@jit_parallel
def minmax(
    low: np.ndarray, high: np.ndarray, period: int, chunks: int, out_min: np.ndarray, out_max: np.ndarray
) -> None:
    rows, n = low.shape
    for task in prange(rows * chunks):
        r = task // chunks
        lo, hi = chunk_bounds(n, chunks, task % chunks)
        minmax_row(low[r], high[r], period, out_min[r], out_max[r], lo, hi)
