"""Batched technical indicators over the whole universe at once.

Every input is a float64 array shaped [symbols, time] (a 1-D array counts as one symbol); shorter
histories are left-padded with NaN. A row's history starts at its first candle where every input
is a number; from there each output equals TA-Lib's on that tail (same defaults, same warm-up NaNs,
same zero-division results). Outputs have the input's shape and come back as the same kind of
array as the inputs (numpy in, numpy out; cupy in, cupy out).

`xp` names the array module to compute with (default: `gpu.backend.get_xp()`). On the CPU the
kernels are numba loops, parallel over symbols; on a CUDA device the same kernels currently run on
the host with a device round trip (see gpu/README.md).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numba
import numpy as np

from gpu.backend import get_xp, is_gpu_array
from gpu.kernels import averages, oscillators, ranges
from gpu.kernels import volume as volumes

Array = Any  # numpy.ndarray or cupy.ndarray

# one kernel launch at a time: each already uses every core, and numba's workqueue threading
# layer aborts the process on concurrent parallel launches from several Python threads
_LAUNCH = threading.Lock()

# windowed kernels cut a row into time chunks (one per thread) when there are fewer rows than
# threads and each chunk would hold at least this many candles
MIN_CHUNK = 65_536


class _Batch:
    """Inputs as C-contiguous float64 [symbols, time] host arrays, and how to shape the outputs back."""

    def __init__(self, arrays: tuple[Array, ...], xp: ModuleType | None) -> None:
        self.on_device = any(is_gpu_array(a) for a in arrays)
        # the chosen backend is checked on every call (cached), so COMPUTE_BACKEND=gpu on a host
        # without a device fails loudly; device inputs go back to the device whatever xp says
        self.xp = xp if xp is not None else get_xp()
        if self.on_device:
            self.xp = importlib.import_module("cupy")
        host = [np.ascontiguousarray(a.get() if is_gpu_array(a) else a, dtype=np.float64) for a in arrays]
        shape = host[0].shape
        for a in host:
            if a.shape != shape:
                raise ValueError(f"inputs differ in shape: {a.shape} and {shape}")
        if len(shape) not in (1, 2):
            raise ValueError(f"expected a [symbols, time] or [time] array, got shape {shape}")
        self.one_dim = len(shape) == 1
        self.inputs = [a.reshape(1, -1) if self.one_dim else a for a in host]
        self.shape = self.inputs[0].shape

    def empty(self) -> np.ndarray:
        return np.empty(self.shape, dtype=np.float64)

    def result(self, out: np.ndarray) -> Array:
        arr = out[0] if self.one_dim else out
        if self.on_device:
            return self.xp.asarray(arr)
        return arr


def _chunks(arr: Array) -> int:
    """Time chunks per row for the windowed kernels: one, unless fewer rows than threads."""
    shape = np.shape(arr)
    rows, n = (1, shape[0]) if len(shape) == 1 else (shape[0], shape[-1])
    threads = numba.get_num_threads()
    if rows >= threads or MIN_CHUNK <= 0:
        return 1
    return max(1, min(threads, n // MIN_CHUNK))


def _period(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if not minimum <= int(value) <= 100_000:
        raise ValueError(f"{name} must be in [{minimum}, 100000] (TA-Lib's range), got {value}")
    return int(value)


def _single(
    kernel: Callable[..., None], arrays: tuple[Array, ...], params: tuple[Any, ...], xp: Any
) -> Array:
    batch = _Batch(arrays, xp)
    out = batch.empty()
    with _LAUNCH:
        kernel(*batch.inputs, *params, out)
    return batch.result(out)


def _multi(
    kernel: Callable[..., None], arrays: tuple[Array, ...], params: tuple[Any, ...], n_out: int, xp: Any
) -> tuple[Array, ...]:
    batch = _Batch(arrays, xp)
    outs = [batch.empty() for _ in range(n_out)]
    with _LAUNCH:
        kernel(*batch.inputs, *params, *outs)
    return tuple(batch.result(o) for o in outs)


def sma(close: Array, period: int = 30, *, xp: ModuleType | None = None) -> Array:
    """Simple moving average (TA-Lib SMA)."""
    return _single(averages.sma, (close,), (_period("period", period, 2), _chunks(close)), xp)


def ema(close: Array, period: int = 30, *, xp: ModuleType | None = None) -> Array:
    """Exponential moving average seeded with the SMA of the first `period` values (TA-Lib EMA)."""
    return _single(averages.ema, (close,), (_period("period", period, 2),), xp)


def rsi(close: Array, period: int = 14, *, xp: ModuleType | None = None) -> Array:
    """Relative strength index with Wilder smoothing (TA-Lib RSI)."""
    return _single(oscillators.rsi, (close,), (_period("period", period, 2),), xp)


def macd(
    close: Array,
    fastperiod: int = 12,
    slowperiod: int = 26,
    signalperiod: int = 9,
    *,
    xp: ModuleType | None = None,
) -> tuple[Array, Array, Array]:
    """MACD line, signal line and histogram (TA-Lib MACD, including its fast-EMA seeding)."""
    fast = _period("fastperiod", fastperiod, 2)
    slow = _period("slowperiod", slowperiod, 2)
    signal = _period("signalperiod", signalperiod, 1)
    if slow < fast:  # TA-Lib swaps them too
        fast, slow = slow, fast
    line, sig, hist = _multi(averages.macd, (close,), (fast, slow, signal), 3, xp)
    return line, sig, hist


def bbands(
    close: Array,
    period: int = 20,
    nbdevup: float = 2.0,
    nbdevdn: float = 2.0,
    *,
    xp: ModuleType | None = None,
) -> tuple[Array, Array, Array]:
    """Bollinger bands around an SMA with the population std (TA-Lib BBANDS): upper, middle, lower.

    The default period is the installed TA-Lib's (20; TA-Lib before 0.6 used 5).
    """
    params = (_period("period", period, 2), float(nbdevup), float(nbdevdn), _chunks(close))
    upper, middle, lower = _multi(averages.bbands, (close,), params, 3, xp)
    return upper, middle, lower


def atr(high: Array, low: Array, close: Array, period: int = 14, *, xp: ModuleType | None = None) -> Array:
    """Average true range with Wilder smoothing (TA-Lib ATR)."""
    return _single(ranges.atr, (high, low, close), (_period("period", period, 1),), xp)


def adx(
    high: Array, low: Array, close: Array, period: int = 14, *, xp: ModuleType | None = None
) -> tuple[Array, Array, Array]:
    """ADX with +DI and -DI (TA-Lib ADX, PLUS_DI, MINUS_DI)."""
    adx_, plus_di, minus_di = _multi(ranges.adx, (high, low, close), (_period("period", period, 2),), 3, xp)
    return adx_, plus_di, minus_di


def obv(close: Array, volume: Array, *, xp: ModuleType | None = None) -> Array:
    """On-balance volume, starting at the first candle's volume (TA-Lib OBV)."""
    return _single(volumes.obv, (close, volume), (), xp)


def stoch(
    high: Array,
    low: Array,
    close: Array,
    fastk_period: int = 5,
    slowk_period: int = 3,
    slowd_period: int = 3,
    *,
    xp: ModuleType | None = None,
) -> tuple[Array, Array]:
    """Slow stochastic %K and %D with SMA smoothing (TA-Lib STOCH)."""
    params = (
        _period("fastk_period", fastk_period, 1),
        _period("slowk_period", slowk_period, 1),
        _period("slowd_period", slowd_period, 1),
    )
    slowk, slowd = _multi(oscillators.stoch, (high, low, close), params, 2, xp)
    return slowk, slowd


def roc(close: Array, period: int = 10, *, xp: ModuleType | None = None) -> Array:
    """Rate of change in percent: (close / close[-period] - 1) * 100 (TA-Lib ROC)."""
    return _single(oscillators.roc, (close,), (_period("period", period, 1), _chunks(close)), xp)


def rolling_vwap(
    high: Array, low: Array, close: Array, volume: Array, period: int = 14, *, xp: ModuleType | None = None
) -> Array:
    """Sum of typical price ((h + l + c) / 3) times volume over `period` candles, over their volume.

    NaN during the first period-1 candles and wherever the window traded no volume.
    """
    return _single(volumes.vwap, (high, low, close, volume), (_period("period", period, 1),), xp)


def pivots(high: Array, low: Array, period: int = 20, *, xp: ModuleType | None = None) -> tuple[Array, Array]:
    """Support and resistance: rolling min of lows and rolling max of highs (TA-Lib MIN / MAX)."""
    chunks = _chunks(low)
    support, resistance = _multi(ranges.minmax, (low, high), (_period("period", period, 2), chunks), 2, xp)
    return support, resistance


# the price series each indicator takes, in call order (callers that hold a whole frame use this)
INPUTS: dict[str, tuple[str, ...]] = {
    "sma": ("close",),
    "ema": ("close",),
    "rsi": ("close",),
    "macd": ("close",),
    "bbands": ("close",),
    "roc": ("close",),
    "atr": ("high", "low", "close"),
    "adx": ("high", "low", "close"),
    "stoch": ("high", "low", "close"),
    "obv": ("close", "volume"),
    "rolling_vwap": ("high", "low", "close", "volume"),
    "pivots": ("high", "low"),
}


__all__ = [
    "INPUTS",
    "adx",
    "atr",
    "bbands",
    "ema",
    "macd",
    "obv",
    "pivots",
    "roc",
    "rolling_vwap",
    "rsi",
    "sma",
    "stoch",
]
