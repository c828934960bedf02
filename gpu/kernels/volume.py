"""Volume indicators: on-balance volume (TA-Lib arithmetic) and a rolling VWAP."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from gpu.kernels.common import NAN, JIT, PARALLEL, fill_nan, first_valid2, first_valid4


@njit(**JIT)
def obv_row(close: np.ndarray, volume: np.ndarray, out: np.ndarray) -> None:
    # TA_OBV: starts at the first volume, then adds/subtracts volume on up/down closes
    n = close.shape[0]
    s = first_valid2(close, volume)
    fill_nan(out, s)
    if s >= n:
        return
    total = volume[s]
    prev = close[s]
    for i in range(s, n):
        c = close[i]
        if c > prev:
            total += volume[i]
        elif c < prev:
            total -= volume[i]
        out[i] = total
        prev = c


@njit(**PARALLEL)
def obv(close: np.ndarray, volume: np.ndarray, out: np.ndarray) -> None:
    for r in prange(close.shape[0]):
        obv_row(close[r], volume[r], out[r])


@njit(**JIT)
def _two_sum_add(total: float, comp: float, v: float) -> tuple[float, float]:
    # Neumaier compensation: the running window sums lose nothing when a huge value leaves the
    # window, so long series agree with a direct sum over each window
    t = total + v
    if abs(total) >= abs(v):
        comp += (total - t) + v
    else:
        comp += (v - t) + total
    return t, comp


@njit(**JIT)
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
    pv = 0.0
    pv_c = 0.0
    vol = 0.0
    vol_c = 0.0
    traded = 0  # candles with volume in the window: an exact zero test despite rounding residue
    for i in range(s, n):
        v = volume[i]
        if v != 0.0:
            traded += 1
        pv, pv_c = _two_sum_add(pv, pv_c, (high[i] + low[i] + close[i]) / 3.0 * v)
        vol, vol_c = _two_sum_add(vol, vol_c, v)
        if i < begin:
            continue
        out[i] = (pv + pv_c) / (vol + vol_c) if traded > 0 else NAN
        j = i - period + 1
        w = volume[j]
        if w != 0.0:
            traded -= 1
        pv, pv_c = _two_sum_add(pv, pv_c, -((high[j] + low[j] + close[j]) / 3.0 * w))
        vol, vol_c = _two_sum_add(vol, vol_c, -w)


@njit(**PARALLEL)
def vwap(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, period: int, out: np.ndarray
) -> None:
    for r in prange(close.shape[0]):
        vwap_row(high[r], low[r], close[r], volume[r], period, out[r])
