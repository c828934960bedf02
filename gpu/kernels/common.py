"""Shared pieces of the kernels: the JIT options, NaN warm-up and where a row's history starts."""

from __future__ import annotations

import math
import os

import numba
import numpy as np
from numba import njit

# Numba's default OpenMP layer spin-waits and collapses when the cores are shared (measured here:
# mean call time 10x its best); the workqueue layer degrades gracefully. It does not allow two
# parallel launches at once, so gpu/indicators.py serialises calls with a lock. An explicit
# NUMBA_THREADING_LAYER in the environment still wins.
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"

# exactness first: no fastmath, so IEEE operation order is kept like TA-Lib's C; numpy error model:
# a float division by zero gives inf/nan (then handled) instead of a checked Python exception
JIT = {"cache": True, "fastmath": False, "nogil": True, "error_model": "numpy"}
PARALLEL = {**JIT, "parallel": True}

NAN = np.nan

# TA-Lib's TA_IS_ZERO / TA_IS_ZERO_OR_NEG threshold
EPS_ZERO = 0.00000000000001


@njit(**JIT)
def first_valid1(a: np.ndarray) -> int:
    """Index of the first non-NaN value (len when none): the start of the row's history."""
    n = a.shape[0]
    for i in range(n):
        if not math.isnan(a[i]):
            return i
    return n


@njit(**JIT)
def first_valid2(a: np.ndarray, b: np.ndarray) -> int:
    n = a.shape[0]
    for i in range(n):
        if not (math.isnan(a[i]) or math.isnan(b[i])):
            return i
    return n


@njit(**JIT)
def first_valid3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> int:
    n = a.shape[0]
    for i in range(n):
        if not (math.isnan(a[i]) or math.isnan(b[i]) or math.isnan(c[i])):
            return i
    return n


@njit(**JIT)
def first_valid4(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> int:
    n = a.shape[0]
    for i in range(n):
        if not (math.isnan(a[i]) or math.isnan(b[i]) or math.isnan(c[i]) or math.isnan(d[i])):
            return i
    return n


@njit(**JIT)
def fill_nan(out: np.ndarray, stop: int) -> None:
    """NaN over out[:stop] (clipped to the row), the warm-up TA-Lib leaves empty."""
    stop = min(stop, out.shape[0])
    for i in range(stop):
        out[i] = NAN


@njit(**JIT)
def is_zero(v: float) -> bool:
    """TA-Lib's TA_IS_ZERO band (|v| < 1e-14); TA-Lib's build treats NaN as zero too (it outputs 0)."""
    return not (v <= -EPS_ZERO or v >= EPS_ZERO)
