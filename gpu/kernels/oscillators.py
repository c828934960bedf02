"""Oscillators: RSI (Wilder), slow stochastic, rate of change (TA-Lib arithmetic)."""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from gpu.kernels.common import (
    EPS_ZERO,
    chunk_bounds,
    fill_nan,
    fill_nan_range,
    first_valid1,
    first_valid3,
    is_zero,
    jit,
    jit_parallel,
)
from gpu.kernels.recurrence import powers, step4
from gpu.kernels.windows import rolling_max_min


@jit
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


@jit
def up(d: float) -> float:
    """The rise in a change, 0 for a fall (branch-free; adding 0.0 to the idle side is exact)."""
    return d if d > 0.0 else 0.0


@jit
def rsi_value(gain: float, loss: float) -> float:
    total = gain + loss
    return 100.0 * (gain / total) if not is_zero(total) else 0.0


@jit_parallel
def rsi(x: np.ndarray, period: int, out: np.ndarray) -> None:
    for r in prange(x.shape[0]):
        rsi_row(x[r], period, out[r])


@jit
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
    # %K), slow %D = SMA(slow %K), both as TA_INT_SMA's running sums; both start where %D does.
    # The outputs double as work space: extremes, then fast %K, then slow %K, then the results.
    n = close.shape[0]
    s = first_valid3(high, low, close)
    first_k = s + fastk - 1
    first_sk = first_k + slowk - 1
    begin = first_sk + slowd - 1
    if begin >= n:
        fill_nan(out_k, n)
        fill_nan(out_d, n)
        return
    rolling_max_min(high, low, s, fastk, out_d, out_k, n, 0)
    for i in range(first_k, n):
        highest = out_d[i]
        lowest = out_k[i]
        rng = highest - lowest
        flat = math.fabs(rng) <= EPS_ZERO * (math.fabs(highest) + math.fabs(lowest))
        ratio = (close[i] - lowest) / rng
        out_k[i] = 0.0 if flat else ratio * 100.0
    # slow %K into out_d
    total = 0.0
    for i in range(first_k, first_sk):
        total += out_k[i]
    for i in range(first_sk, n):
        total += out_k[i]
        value = total
        total -= out_k[i - slowk + 1]
        out_d[i] = value / slowk
    # slow %D into out_d, slow %K moved to out_k; a ring keeps the slow %K leaving the window
    ring = np.empty(slowd)
    slot = 0  # ring slot of slow %K at i, which is also the slot of the one leaving at i
    total = 0.0
    for i in range(first_sk, n):
        sk = out_d[i]
        out_k[i] = sk
        ring[slot] = sk
        total += sk
        slot = slot + 1 if slot + 1 < slowd else 0
        if i < begin:
            continue
        value = total
        total -= ring[slot]
        out_d[i] = value / slowd
    fill_nan(out_k, begin)
    fill_nan(out_d, begin)


@jit_parallel
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


@jit
def roc_row(x: np.ndarray, period: int, out: np.ndarray, lo: int, hi: int) -> None:
    # TA_ROC: ((x / x[-p]) - 1) * 100, 0 where the old price is 0; writes out[lo:hi] only.
    # Aligned slices with plain indices: no wraparound test, so the divisions vectorise.
    s = first_valid1(x)
    begin = s + period
    fill_nan_range(out, lo, min(begin, hi))
    start = max(begin, lo)
    if start >= hi:
        return
    new = x[start:hi]
    olds = x[start - period : hi - period]
    dst = out[start:hi]
    for k in range(hi - start):
        old = olds[k]
        ratio = new[k] / old  # inf/nan when old is 0, then replaced: a select the compiler vectorises
        dst[k] = (ratio - 1.0) * 100.0 if old != 0.0 else 0.0


@jit_parallel
def roc(x: np.ndarray, period: int, chunks: int, out: np.ndarray) -> None:
    rows, n = x.shape
    for task in prange(rows * chunks):
        r = task // chunks
        lo, hi = chunk_bounds(n, chunks, task % chunks)
        roc_row(x[r], period, out[r], lo, hi)
