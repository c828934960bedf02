"""Moving averages and what is built from them: SMA, EMA, MACD, Bollinger bands (TA-Lib arithmetic)."""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from gpu.kernels.common import (
    chunk_bounds,
    fill_nan,
    fill_nan_range,
    first_valid1,
    jit,
    jit_parallel,
)
from gpu.kernels.recurrence import powers, run, step4


@jit
def sma_row(x: np.ndarray, period: int, out: np.ndarray, lo: int, hi: int) -> None:
    # TA_INT_SMA's running window total, seeded the same way (the first `period` values in order).
    # The total then moves by (new - leaving), four candles per step off one running total: the
    # chain is one addition per four candles instead of TA-Lib's two per candle; the rounding
    # differs from TA-Lib's by a few ulps of the total, far inside 1e-8. Slices with plain
    # non-negative indices let LLVM drop the bounds wraparound and vectorise the differences.
    # Writes out[lo:hi] only (a time chunk); a chunk after the first restarts at its own window.
    s = first_valid1(x)
    begin = s + period - 1
    fill_nan_range(out, lo, min(begin, hi))
    start = max(begin, lo)
    if start >= hi:
        return
    inv = 1.0 / period
    total = 0.0
    for i in range(start - period + 1, start + 1):
        total += x[i]
    out[start] = total * inv
    m = hi - start - 1
    new = x[start + 1 : hi]
    old = x[start + 1 - period : hi - period]
    dst = out[start + 1 : hi]
    k = 0
    while k + 4 <= m:
        d0 = new[k] - old[k]
        d1 = d0 + (new[k + 1] - old[k + 1])
        d2 = d1 + (new[k + 2] - old[k + 2])
        d3 = d2 + (new[k + 3] - old[k + 3])
        dst[k] = (total + d0) * inv
        dst[k + 1] = (total + d1) * inv
        dst[k + 2] = (total + d2) * inv
        total += d3
        dst[k + 3] = total * inv
        k += 4
    while k < m:
        total += new[k] - old[k]
        dst[k] = total * inv
        k += 1


@jit_parallel
def sma(x: np.ndarray, period: int, chunks: int, out: np.ndarray) -> None:
    rows, n = x.shape
    for task in prange(rows * chunks):
        r = task // chunks
        lo, hi = chunk_bounds(n, chunks, task % chunks)
        sma_row(x[r], period, out[r], lo, hi)


@jit
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


@jit_parallel
def ema(x: np.ndarray, period: int, out: np.ndarray) -> None:
    for r in prange(x.shape[0]):
        ema_row(x[r], period, out[r])


@jit
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
    slow_ema = total / slow
    total = 0.0
    for i in range(first - fast + 1, first + 1):
        total += x[i]
    fast_ema = total / fast
    # the line up to the signal's seed, one candle at a time (a short stretch)
    s1, s2, s3, s4 = powers(1.0 - k_slow)
    f1, f2, f3, f4 = powers(1.0 - k_fast)
    m = fast_ema - slow_ema
    line[first] = m
    total = m
    for i in range(first + 1, begin + 1):
        slow_ema = s1 * slow_ema + k_slow * x[i]
        fast_ema = f1 * fast_ema + k_fast * x[i]
        m = fast_ema - slow_ema
        line[i] = m
        total += m
    # then all three EMAs four candles per step (gpu/kernels/recurrence.py), in one pass
    g1, g2, g3, g4 = powers(1.0 - k_sig)
    signal_ema = total / signal
    copy = signal == 1  # a 1-period signal is the line itself in TA-Lib (its MA of period 1 is a copy)
    if copy:
        signal_ema = m
    sig[begin] = signal_ema
    hist[begin] = m - signal_ema
    i = begin + 1
    while i + 4 <= n:
        x0 = x[i]
        x1 = x[i + 1]
        x2 = x[i + 2]
        x3 = x[i + 3]
        w0, w1, w2, w3 = step4(slow_ema, s1, s2, s3, s4, k_slow, x0, x1, x2, x3)
        e0, e1, e2, e3 = step4(fast_ema, f1, f2, f3, f4, k_fast, x0, x1, x2, x3)
        m0 = e0 - w0
        m1 = e1 - w1
        m2 = e2 - w2
        m3 = e3 - w3
        if copy:
            q0, q1, q2, q3 = m0, m1, m2, m3
        else:
            q0, q1, q2, q3 = step4(signal_ema, g1, g2, g3, g4, k_sig, m0, m1, m2, m3)
        line[i] = m0
        line[i + 1] = m1
        line[i + 2] = m2
        line[i + 3] = m3
        sig[i] = q0
        sig[i + 1] = q1
        sig[i + 2] = q2
        sig[i + 3] = q3
        hist[i] = m0 - q0
        hist[i + 1] = m1 - q1
        hist[i + 2] = m2 - q2
        hist[i + 3] = m3 - q3
        slow_ema = w3
        fast_ema = e3
        signal_ema = q3
        i += 4
    while i < n:
        slow_ema = s1 * slow_ema + k_slow * x[i]
        fast_ema = f1 * fast_ema + k_fast * x[i]
        m = fast_ema - slow_ema
        signal_ema = m if copy else g1 * signal_ema + k_sig * m
        line[i] = m
        sig[i] = signal_ema
        hist[i] = m - signal_ema
        i += 1
    fill_nan(line, begin)
    fill_nan(sig, begin)
    fill_nan(hist, begin)


@jit_parallel
def macd(
    x: np.ndarray, fast: int, slow: int, signal: int, line: np.ndarray, sig: np.ndarray, hist: np.ndarray
) -> None:
    for r in prange(x.shape[0]):
        macd_row(x[r], fast, slow, signal, line[r], sig[r], hist[r])


@jit
def bbands_row(
    x: np.ndarray,
    period: int,
    up: float,
    dn: float,
    upper: np.ndarray,
    middle: np.ndarray,
    lower: np.ndarray,
    lo: int,
    hi: int,
) -> None:
    # SMA with the population std around it, as exactly as the installed TA-Lib (not as
    # E[x^2] - E[x]^2 over raw prices): sums of d = x - ref and d^2 around a reference price in
    # the window, so d is small and exact. No running totals: the history is cut into blocks of
    # `period` from its start and a window ending at b0 + j is the suffix of the previous block
    # from slot j + 1 plus the prefix of its own block up to j (van Herk / Gil-Werman for sums),
    # both taken around ref = x[b0], which every such window holds. Each window's sums are thus
    # fresh sums of its own terms (no drift, no residue of a large price that left); a window of
    # identical prices has every d exactly 0, so std exactly 0. A block only needs the previous
    # block's suffixes, which a time chunk computes afresh for its first block: out[lo:hi] only
    # is written, and the cuts are seamless.
    s = first_valid1(x)
    begin = s + period - 1
    fill_nan_range(upper, lo, min(begin, hi))
    fill_nan_range(middle, lo, min(begin, hi))
    fill_nan_range(lower, lo, min(begin, hi))
    start = max(begin, lo)
    if start >= hi:
        return
    p = period
    inv = 1.0 / p
    # suffix sums of the previous block around this block's ref (slot j: from slot j on; slot p
    # empty), and those of this block around the next block's ref, filled in the same loop
    suf1 = np.zeros(p + 1)
    suf2 = np.zeros(p + 1)
    nxt1 = np.zeros(p + 1)
    nxt2 = np.zeros(p + 1)
    b0 = s + (start - s) // p * p  # the block holding the first output
    if b0 + p - 1 < start:
        b0 += p
    if b0 > s:  # the block before the first one used: its suffixes around this block's ref
        ref = x[b0]
        z1 = 0.0
        z2 = 0.0
        for g in range(p - 1, -1, -1):
            e = x[b0 - p + g] - ref
            z1 += e
            z2 += e * e
            suf1[g] = z1
            suf2[g] = z2
    while b0 < hi:
        ref = x[b0]
        m = min(p, hi - b0)
        cur = x[b0 : b0 + m]
        j0 = max(start - b0, 0)
        mid = middle[b0 : b0 + m]
        upp = upper[b0 : b0 + m]
        has_next = b0 + p < hi
        a1 = 0.0
        a2 = 0.0
        z1 = 0.0
        z2 = 0.0
        if has_next:
            # m == p here: prefix, this window, and the suffix for the next block in one loop
            nref = x[b0 + p]
            for j in range(p):
                d = cur[j] - ref
                a1 += d
                a2 += d * d
                if j >= j0:
                    mean_d = (a1 + suf1[j + 1]) * inv
                    mid[j] = ref + mean_d
                    upp[j] = (a2 + suf2[j + 1]) * inv - mean_d * mean_d
                g = p - 1 - j
                e = cur[g] - nref
                z1 += e
                z2 += e * e
                nxt1[g] = z1
                nxt2[g] = z2
            suf1, nxt1 = nxt1, suf1
            suf2, nxt2 = nxt2, suf2
        else:
            for j in range(m):
                d = cur[j] - ref
                a1 += d
                a2 += d * d
                if j >= j0:
                    mean_d = (a1 + suf1[j + 1]) * inv
                    mid[j] = ref + mean_d
                    upp[j] = (a2 + suf2[j + 1]) * inv - mean_d * mean_d
        b0 += p
    # the bands in one long pass with no carried state, so the square roots vectorise
    mids = middle[start:hi]
    upps = upper[start:hi]
    lows = lower[start:hi]
    for k in range(hi - start):
        var = upps[k]
        std = math.sqrt(var) if var > 0.0 else 0.0
        mean = mids[k]
        upps[k] = mean + std * up
        lows[k] = mean - std * dn


@jit_parallel
def bbands(
    x: np.ndarray,
    period: int,
    up: float,
    dn: float,
    chunks: int,
    upper: np.ndarray,
    middle: np.ndarray,
    lower: np.ndarray,
) -> None:
    rows, n = x.shape
    for task in prange(rows * chunks):
        r = task // chunks
        lo, hi = chunk_bounds(n, chunks, task % chunks)
        bbands_row(x[r], period, up, dn, upper[r], middle[r], lower[r], lo, hi)
