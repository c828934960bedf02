"""Oscillators: RSI (Wilder), slow stochastic, rate of change (TA-Lib arithmetic)."""

from __future__ import annotations

import math


import numpy as np
from numba import njit, prange

from gpu.kernels.common import EPS_ZERO, JIT, PARALLEL, fill_nan, first_valid1, first_valid3, is_zero
from gpu.kernels.recurrence import powers, step4


@njit(**JIT)
def rsi_row(x: np.ndarray, period: int, out: np.ndarray) -> None:
    # TA_RSI: mean gain/loss over the first `period` changes, then Wilder smoothing; a zero
    # gain+loss (|.| < 1e-14, or NaN as TA-Lib treats it) gives 0.
    n = x.shape[0]
    s = first_valid1(x)
    begin = s + period
    fill_nan(out, begin)
    if begin >= n:
        return
    gain = 0.0
    loss = 0.0
    prev = x[s]
    for i in range(s + 1, begin + 1):
        v = x[i]
        d = v - prev
        prev = v
        if d < 0:
            loss -= d
        else:
            gain += d
    loss /= period
    gain /= period
    out[begin] = rsi_value(gain, loss)
    # Wilder: (prev * (p - 1) + change) / p, four candles at a time
    a1, a2, a3, a4 = powers((period - 1) / period)
    b = 1.0 / period
    i = begin + 1
    while i + 4 <= n:
        d0 = x[i] - prev
        d1 = x[i + 1] - x[i]
        d2 = x[i + 2] - x[i + 1]
        d3 = x[i + 3] - x[i + 2]
        prev = x[i + 3]
        g0, g1, g2, g3 = step4(gain, a1, a2, a3, a4, b, up(d0), up(d1), up(d2), up(d3))
        l0, l1, l2, l3 = step4(loss, a1, a2, a3, a4, b, up(-d0), up(-d1), up(-d2), up(-d3))
        out[i] = rsi_value(g0, l0)
        out[i + 1] = rsi_value(g1, l1)
        out[i + 2] = rsi_value(g2, l2)
        out[i + 3] = rsi_value(g3, l3)
        gain = g3
        loss = l3
        i += 4
    while i < n:
        d = x[i] - prev
        prev = x[i]
        gain = a1 * gain + b * up(d)
        loss = a1 * loss + b * up(-d)
        out[i] = rsi_value(gain, loss)
        i += 1


@njit(**JIT)
def up(d: float) -> float:
    """The rise in a change, 0 for a fall (branch-free; adding 0.0 to the idle side is exact)."""
    return d if d > 0.0 else 0.0


@njit(**JIT)
def rsi_value(gain: float, loss: float) -> float:
    total = gain + loss
    return 100.0 * (gain / total) if not is_zero(total) else 0.0


@njit(**PARALLEL)
def rsi(x: np.ndarray, period: int, out: np.ndarray) -> None:
    for r in prange(x.shape[0]):
        rsi_row(x[r], period, out[r])


@njit(**JIT)
def stoch_row(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    fastk: int,
    slowk: int,
    slowd: int,
    out_k: np.ndarray,
    out_d: np.ndarray,
) -> None:
    # TA_STOCH with SMA smoothing: fast %K = ((close - lowest) / (highest - lowest)) * 100, 0 on a
    # window flat to within 1e-14 of its extremes (TA-Lib's scaled zero test); slow %K = SMA(fast
    # %K), slow %D = SMA(slow %K); both start where %D does.
    n = close.shape[0]
    s = first_valid3(high, low, close)
    first_k = s + fastk - 1
    first_sk = first_k + slowk - 1
    begin = first_sk + slowd - 1
    fill_nan(out_k, begin)
    fill_nan(out_d, begin)
    if begin >= n:
        return
    # rolling extremes the way TA-Lib tracks them: rescan only when the extreme leaves the window
    lowest = 0.0
    highest = 0.0
    lowest_idx = -1
    highest_idx = -1
    k_total = 0.0  # running SMA total of fast %K (TA_INT_SMA order)
    d_total = 0.0  # running SMA total of slow %K
    trailing = s
    # fast %K and slow %K history, kept in small rings for the trailing subtraction
    ring_k = np.empty(slowk, np.float64)
    ring_sk = np.empty(slowd, np.float64)
    for today in range(first_k, n):
        trailing = today - fastk + 1
        if lowest_idx < trailing:
            lowest_idx = trailing
            lowest = low[lowest_idx]
            for i in range(lowest_idx + 1, today + 1):
                t = low[i]
                if t < lowest:
                    lowest_idx = i
                    lowest = t
        else:
            t = low[today]
            if t <= lowest:
                lowest_idx = today
                lowest = t
        if highest_idx < trailing:
            highest_idx = trailing
            highest = high[highest_idx]
            for i in range(highest_idx + 1, today + 1):
                t = high[i]
                if t > highest:
                    highest_idx = i
                    highest = t
        else:
            t = high[today]
            if t >= highest:
                highest_idx = today
                highest = t
        rng = highest - lowest
        if math.fabs(rng) <= EPS_ZERO * (math.fabs(highest) + math.fabs(lowest)):
            fk = 0.0
        else:
            fk = ((close[today] - lowest) / rng) * 100.0
        j = today - first_k  # position in the fast %K series
        ring_k[j % slowk] = fk
        k_total += fk
        if j < slowk - 1:
            continue
        sk_value = k_total
        k_total -= ring_k[(j - slowk + 1) % slowk]
        sk = sk_value / slowk
        m = j - (slowk - 1)  # position in the slow %K series
        ring_sk[m % slowd] = sk
        d_total += sk
        if m < slowd - 1:
            continue
        d_value = d_total
        d_total -= ring_sk[(m - slowd + 1) % slowd]
        out_k[today] = sk
        out_d[today] = d_value / slowd


@njit(**PARALLEL)
def stoch(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    fastk: int,
    slowk: int,
    slowd: int,
    out_k: np.ndarray,
    out_d: np.ndarray,
) -> None:
    for r in prange(close.shape[0]):
        stoch_row(high[r], low[r], close[r], fastk, slowk, slowd, out_k[r], out_d[r])


@njit(**JIT)
def roc_row(x: np.ndarray, period: int, out: np.ndarray) -> None:
    # TA_ROC: ((x / x[-p]) - 1) * 100, 0 where the old price is 0
    n = x.shape[0]
    s = first_valid1(x)
    begin = s + period
    fill_nan(out, begin)
    for i in range(begin, n):
        old = x[i - period]
        out[i] = ((x[i] / old) - 1.0) * 100.0 if old != 0.0 else 0.0


@njit(**PARALLEL)
def roc(x: np.ndarray, period: int, out: np.ndarray) -> None:
    for r in prange(x.shape[0]):
        roc_row(x[r], period, out[r])


