"""Moving averages and what is built from them: SMA, EMA, MACD, Bollinger bands (TA-Lib arithmetic)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from gpu.kernels.common import JIT, PARALLEL, fill_nan, first_valid1
from gpu.kernels.recurrence import run


@njit(**JIT)
def sma_row(x: np.ndarray, period: int, out: np.ndarray) -> None:
    # TA_INT_SMA: one running total, added before and subtracted after each output
    n = x.shape[0]
    s = first_valid1(x)
    begin = s + period - 1
    fill_nan(out, begin)
    if begin >= n:
        return
    total = 0.0
    for i in range(s, begin):
        total += x[i]
    trailing = s
    for i in range(begin, n):
        total += x[i]
        value = total
        total -= x[trailing]
        trailing += 1
        out[i] = value / period


@njit(**PARALLEL)
def sma(x: np.ndarray, period: int, out: np.ndarray) -> None:
    for r in prange(x.shape[0]):
        sma_row(x[r], period, out[r])


@njit(**JIT)
def ema_row(x: np.ndarray, period: int, out: np.ndarray) -> None:
    # TA_INT_EMA, default compatibility: seeded with the SMA of the first `period` values, then
    # prev + k * (x - prev), evaluated four candles at a time (gpu/kernels/recurrence.py)
    n = x.shape[0]
    s = first_valid1(x)
    begin = s + period - 1
    fill_nan(out, begin)
    if begin >= n:
        return
    k = 2.0 / (period + 1)
    total = 0.0
    for i in range(s, begin + 1):
        total += x[i]
    seed = total / period
    out[begin] = seed
    run(x, out, begin + 1, n, seed, 1.0 - k, k)


@njit(**PARALLEL)
def ema(x: np.ndarray, period: int, out: np.ndarray) -> None:
    for r in prange(x.shape[0]):
        ema_row(x[r], period, out[r])


@njit(**JIT)
def macd_row(
    x: np.ndarray, fast: int, slow: int, signal: int, line: np.ndarray, sig: np.ndarray, hist: np.ndarray
) -> None:
    # TA_INT_MACD: both EMAs start at the slow one's first index; the fast one is seeded there
    # with the SMA of the `fast` values ending at that index, not at the start of the series.
    # The signal is an EMA of the line seeded with the SMA of its first `signal` values.
    n = x.shape[0]
    s = first_valid1(x)
    first = s + slow - 1  # first MACD line value (kept internally for the signal's seed)
    begin = first + signal - 1  # first output
    if begin >= n:
        fill_nan(line, n)
        fill_nan(sig, n)
        fill_nan(hist, n)
        return
    k_slow = 2.0 / (slow + 1)
    k_fast = 2.0 / (fast + 1)
    k_sig = 2.0 / (signal + 1)
    total = 0.0
    for i in range(s, first + 1):
        total += x[i]
    line[first] = total / slow  # slow EMA, in the line buffer for now
    run(x, line, first + 1, n, line[first], 1.0 - k_slow, k_slow)
    total = 0.0
    for i in range(first - fast + 1, first + 1):
        total += x[i]
    hist[first] = total / fast  # fast EMA, in the histogram buffer for now
    run(x, hist, first + 1, n, hist[first], 1.0 - k_fast, k_fast)
    total = 0.0
    for i in range(first, n):
        m = hist[i] - line[i]
        line[i] = m
        if i <= begin:
            total += m
    if signal > 1:
        sig[begin] = total / signal
        run(line, sig, begin + 1, n, sig[begin], 1.0 - k_sig, k_sig)
    else:  # a 1-period signal is the line itself in TA-Lib (its MA of period 1 is a copy)
        for i in range(begin, n):
            sig[i] = line[i]
    for i in range(begin, n):
        hist[i] = line[i] - sig[i]
    fill_nan(line, begin)
    fill_nan(sig, begin)
    fill_nan(hist, begin)


@njit(**PARALLEL)
def macd(
    x: np.ndarray, fast: int, slow: int, signal: int, line: np.ndarray, sig: np.ndarray, hist: np.ndarray
) -> None:
    for r in prange(x.shape[0]):
        macd_row(x[r], fast, slow, signal, line[r], sig[r], hist[r])


@njit(**JIT)
def deviation_sums(x: np.ndarray, lo: int, hi: int, ref: float) -> tuple[float, float, float]:
    """Sum of (x - ref), of its square, and the largest square, over x[lo:hi]."""
    s1 = 0.0
    s2 = 0.0
    biggest = 0.0
    for j in range(lo, hi):
        d = x[j] - ref
        s1 += d
        dd = d * d
        s2 += dd
        biggest = dd if dd > biggest else biggest
    return s1, s2, biggest


@njit(**JIT)
def bbands_row(
    x: np.ndarray, period: int, up: float, dn: float, upper: np.ndarray, middle: np.ndarray, lower: np.ndarray
) -> None:
    # Middle band: TA_INT_SMA's running mean (same bits as TA-Lib). Deviation: the population std
    # computed as exactly as the installed TA-Lib does, not as E[x^2] - E[x]^2: running sums of
    # d = x - ref and d^2 around a reference price from the window. They are recomputed from the
    # window every `period` candles (the reference stays in it, so d is small and exact) and
    # whenever the window's d^2 sum has shrunk below 1% of the largest d^2 added since, when the
    # subtractions' rounding would show. A window of identical prices has std exactly 0.
    n = x.shape[0]
    s = first_valid1(x)
    begin = s + period - 1
    fill_nan(upper, begin)
    fill_nan(middle, begin)
    fill_nan(lower, begin)
    if begin >= n:
        return
    total = 0.0
    for i in range(s, begin):
        total += x[i]
    flat = 1  # length of the run of identical prices ending at i
    for i in range(max(s + 1, begin - period + 1), begin):
        flat = flat + 1 if x[i] == x[i - 1] else 1
    inv = 1.0 / period
    ref = x[begin]
    s1, s2, biggest = deviation_sums(x, s, begin, ref)
    trailing = s
    rebase = begin + period
    for i in range(begin, n):
        v = x[i]
        total += v
        mean = total / period
        total -= x[trailing]
        if i > s:
            flat = flat + 1 if v == x[i - 1] else 1
        d = v - ref
        dd = d * d
        s1 += d
        s2 += dd
        biggest = dd if dd > biggest else biggest
        if i == rebase or s2 < 0.01 * biggest:
            ref = v
            rebase = i + period
            s1, s2, biggest = deviation_sums(x, trailing, i + 1, ref)
        if flat >= period:
            std = 0.0
        else:
            m1 = s1 * inv
            var = s2 * inv - m1 * m1
            std = math.sqrt(var) if var > 0.0 else 0.0
        old = x[trailing] - ref
        s1 -= old
        s2 -= old * old
        trailing += 1
        middle[i] = mean
        upper[i] = mean + std * up
        lower[i] = mean - std * dn


@njit(**PARALLEL)
def bbands(
    x: np.ndarray, period: int, up: float, dn: float, upper: np.ndarray, middle: np.ndarray, lower: np.ndarray
) -> None:
    for r in prange(x.shape[0]):
        bbands_row(x[r], period, up, dn, upper[r], middle[r], lower[r])
