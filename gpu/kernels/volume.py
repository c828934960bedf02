"""Volume indicators: on-balance volume (TA-Lib arithmetic) and a rolling VWAP."""

from __future__ import annotations

import numpy as np
from numba import prange

from gpu.kernels.common import NAN, fill_nan, first_valid2, first_valid4, jit, jit_parallel


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
def _add(total: float, comp: float, v: float) -> tuple[float, float]:
    # Knuth's TwoSum: the rounding error of every addition is carried in `comp`, so the running
    # window sums lose nothing when a huge value leaves the window (branch-free)
    t = total + v
    bp = t - total
    comp += (total - (t - bp)) + (v - bp)
    return t, comp


@jit
def vwap_row(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, period: int, out: np.ndarray
) -> None:
    # sum(typical * volume) / sum(volume) over the last `period` candles; NaN on a zero-volume window
    n = close.shape[0]
    s = first_valid4(high, low, close, volume)
    begin = s + period - 1
    fill_nan(out, begin)
    if begin >= n:
        return
    ring_pv = np.empty(period)  # the window's terms, to subtract them exactly as they were added
    ring_v = np.empty(period)
    slot = 0
    pv = 0.0
    pv_c = 0.0
    vol = 0.0
    vol_c = 0.0
    traded = 0  # candles with volume in the window: an exact zero test despite rounding residue
    for i in range(s, n):
        v = volume[i]
        term = (high[i] + low[i] + close[i]) / 3.0 * v
        traded += v != 0.0
        pv, pv_c = _add(pv, pv_c, term)
        vol, vol_c = _add(vol, vol_c, v)
        ring_pv[slot] = term
        ring_v[slot] = v
        slot = slot + 1 if slot + 1 < period else 0
        if i < begin:
            continue
        out[i] = (pv + pv_c) / (vol + vol_c) if traded > 0 else NAN
        # the slot after the newest holds the oldest term, which leaves the window now
        w = ring_v[slot]
        traded -= w != 0.0
        pv, pv_c = _add(pv, pv_c, -ring_pv[slot])
        vol, vol_c = _add(vol, vol_c, -w)


@jit_parallel
def vwap(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, period: int, out: np.ndarray
) -> None:
    for r in prange(close.shape[0]):
        vwap_row(high[r], low[r], close[r], volume[r], period, out[r])
