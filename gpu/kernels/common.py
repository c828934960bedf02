"""Shared pieces of the kernels: the JIT options, NaN warm-up and where a row's history starts."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
from numba import njit

# Numba's default OpenMP layer spin-waits and collapses when the cores are shared (measured here:
# mean call time 10x its best); the workqueue layer degrades gracefully. It does not allow two
# parallel launches at once, so gpu/indicators.py serialises calls with a lock. An explicit
# NUMBA_THREADING_LAYER in the environment still wins.
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"  # type: ignore[attr-defined]

F = TypeVar("F", bound=Callable[..., Any])


def jit(func: F) -> F:
    """Compile a kernel. Exactness first: no fastmath, so IEEE operation order is kept like
    TA-Lib's C; numpy error model: a float division by zero gives inf/nan (then handled) instead
    of a checked Python exception; cached on disk so only the first run ever compiles."""
    return cast(F, njit(cache=True, fastmath=False, nogil=True, error_model="numpy")(func))


def jit_parallel(func: F) -> F:
    """Like `jit`, with `prange` loops spread over the cores."""
    return cast(F, njit(cache=True, fastmath=False, nogil=True, error_model="numpy", parallel=True)(func))


def jit_no_nan(func: F) -> F:
    """Like `jit`, but the compiler may assume no NaN: for kernels whose result cannot change by it."""
    return cast(F, njit(cache=True, fastmath={"nnan"}, nogil=True, error_model="numpy")(func))


NAN = np.nan

# TA-Lib's TA_IS_ZERO / TA_IS_ZERO_OR_NEG threshold
EPS_ZERO = 0.00000000000001


@jit
def first_valid1(a: np.ndarray) -> int:
    """Index of the first non-NaN value (len when none): the start of the row's history."""
    n = a.shape[0]
    for i in range(n):
        if not math.isnan(a[i]):
            return i
    return n


@jit
def first_valid2(a: np.ndarray, b: np.ndarray) -> int:
    n = a.shape[0]
    for i in range(n):
        if not (math.isnan(a[i]) or math.isnan(b[i])):
            return i
    return n


@jit
def first_valid3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> int:
    n = a.shape[0]
    for i in range(n):
        if not (math.isnan(a[i]) or math.isnan(b[i]) or math.isnan(c[i])):
            return i
    return n


@jit
def first_valid4(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> int:
    n = a.shape[0]
    for i in range(n):
        if not (math.isnan(a[i]) or math.isnan(b[i]) or math.isnan(c[i]) or math.isnan(d[i])):
            return i
    return n


@jit
def fill_nan(out: np.ndarray, stop: int) -> None:
    """NaN over out[:stop] (clipped to the row), the warm-up TA-Lib leaves empty."""
    stop = min(stop, out.shape[0])
    for i in range(stop):
        out[i] = NAN


@jit
def is_zero(v: float) -> bool:
    """The installed TA-Lib's test on a sum of non-negative smoothed values (RSI's gain + loss,
    ADX's true range and DI sum): only an exact zero, or NaN, counts as nothing to divide by.
    (TA-Lib before 0.6 used a fixed |v| < 1e-14 band; measured: a flat tail keeps RSI and DI at
    their last ratio until the sums underflow.)"""
    return not v > 0.0


@jit
def chunk_bounds(n: int, chunks: int, c: int) -> tuple[int, int]:
    return n * c // chunks, n * (c + 1) // chunks


@jit
def fill_nan_range(out: np.ndarray, lo: int, hi: int) -> None:
    """NaN over out[lo:hi] (an empty range does nothing)."""
    for i in range(lo, min(hi, out.shape[0])):
        out[i] = NAN
