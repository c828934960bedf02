"""What ml reads: the universe as [symbols, time] float64 arrays, shorter histories left-padded with NaN.

core's MarketFrame satisfies `MarketArrays`; `Candles` is ml's own plain container for tests and training.
An `IndicatorFn(name, **params)` returns a gpu.indicators result for the market; passing the frame's
cached `indicator` method lets the model share the indicator arrays the strategies already computed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from gpu.indicators import INPUTS

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IndicatorFn = Callable[..., Any]


class MarketArrays(Protocol):
    @property
    def symbols(self) -> Sequence[str]: ...
    @property
    def times(self) -> np.ndarray: ...
    @property
    def open(self) -> np.ndarray: ...
    @property
    def high(self) -> np.ndarray: ...
    @property
    def low(self) -> np.ndarray: ...
    @property
    def close(self) -> np.ndarray: ...
    @property
    def volume(self) -> np.ndarray: ...


@dataclass
class Candles:
    """A plain MarketArrays: OHLCV [symbols, time] plus candle open times in ms."""

    symbols: tuple[str, ...]
    times: np.ndarray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    _cache: dict[tuple[Any, ...], Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        shape = (len(self.symbols), len(self.times))
        for name in ("open", "high", "low", "close", "volume"):
            arr = np.ascontiguousarray(getattr(self, name), dtype=np.float64)
            if arr.shape != shape:
                raise ValueError(f"{name} has shape {arr.shape}, expected {shape}")
            setattr(self, name, arr)
        self.times = np.asarray(self.times, dtype=np.int64)

    def slice_time(self, start: int, end: int) -> Candles:
        return Candles(
            self.symbols,
            self.times[start:end],
            *(getattr(self, c)[:, start:end] for c in ("open", "high", "low", "close", "volume")),
        )

    def indicator(self, name: str, **params: Any) -> Any:
        key = (name, tuple(sorted(params.items())))
        if key not in self._cache:
            self._cache[key] = compute_indicator(self, name, **params)
        return self._cache[key]


def to_numpy(value: Any) -> np.ndarray:
    """A numpy array from a numpy or cupy result (cupy arrays have .get())."""
    if hasattr(value, "get") and not isinstance(value, np.ndarray):
        value = value.get()
    return np.asarray(value, dtype=np.float64)


def compute_indicator(market: MarketArrays, name: str, **params: Any) -> Any:
    """Call gpu.indicators.<name> on the market's series (no cache)."""
    from gpu import indicators

    try:
        inputs = INPUTS[name]
    except KeyError:
        raise ValueError(f"unknown indicator {name!r}") from None
    return getattr(indicators, name)(*(getattr(market, src) for src in inputs), **params)


def indicator_fn(market: MarketArrays) -> IndicatorFn:
    """The market's own cached `indicator` method when it has one, else a direct gpu.indicators call."""
    method = getattr(market, "indicator", None)
    if callable(method):
        return method

    def call(name: str, **params: Any) -> Any:
        return compute_indicator(market, name, **params)

    return call
