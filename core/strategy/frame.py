"""The batched market frame every strategy reads: the whole universe as [symbols, time] arrays.

Shorter histories are left-padded with NaN so every symbol shares one time axis. Indicators are
computed once per frame through `indicator()`, so two strategies asking for sma(30) share one call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gpu import indicators as _ind

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@dataclass
class MarketFrame:
    symbols: tuple[str, ...]
    times: np.ndarray  # int64 ms, candle open times, shape [T]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    timeframe_ms: int = 0
    # anything computed outside the strategies for this frame, e.g. the model's class probabilities
    extras: dict[str, Any] = field(default_factory=dict)
    _cache: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        shape = (len(self.symbols), len(self.times))
        for name in ("open", "high", "low", "close", "volume"):
            arr = np.ascontiguousarray(getattr(self, name), dtype=np.float64)
            if arr.shape != shape:
                raise ValueError(f"{name} has shape {arr.shape}, expected {shape}")
            setattr(self, name, arr)
        self.times = np.asarray(self.times, dtype=np.int64)

    @property
    def n_symbols(self) -> int:
        return len(self.symbols)

    @property
    def n_times(self) -> int:
        return len(self.times)

    def index_of(self, symbol: str) -> int:
        return self.symbols.index(symbol)

    def indicator(self, name: str, source: str | None = None, **params: Any) -> Any:
        """gpu.indicators.<name> over this frame's series, computed once per (name, source, params).

        `source` runs a one-input indicator over another series, e.g. sma of "volume".
        """
        key = (name, source, tuple(sorted(params.items())))
        if key not in self._cache:
            try:
                inputs = _ind.INPUTS[name]
            except KeyError:
                raise ValueError(f"unknown indicator {name!r}") from None
            if source is not None:
                if len(inputs) != 1 or source not in ("open", "high", "low", "close", "volume"):
                    raise ValueError(f"indicator {name!r} cannot take source {source!r}")
                inputs = (source,)
            func = getattr(_ind, name)
            self._cache[key] = func(*(getattr(self, src) for src in inputs), **params)
        return self._cache[key]

    def memo(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """Compute something once per frame (e.g. one strategy's signals shared by several users' sets)."""
        full = ("memo", *key)
        if full not in self._cache:
            self._cache[full] = compute()
        return self._cache[full]

    @classmethod
    def from_candles(
        cls, candles: Mapping[str, pd.DataFrame], timeframe_ms: int = 0, symbols: Sequence[str] | None = None
    ) -> MarketFrame:
        """Align per-symbol OHLCV frames (columns date, open, high, low, close, volume) on one time axis."""
        names = list(symbols) if symbols is not None else list(candles)
        if not names:
            raise ValueError("no symbols to build a frame from")
        stamps = [_to_ms(candles[s]["date"]) for s in names]
        times = np.unique(np.concatenate(stamps))
        if not timeframe_ms and len(times) > 1:
            timeframe_ms = int(np.min(np.diff(times)))
        if timeframe_ms and len(times) > 1 and not ((times - times[0]) % timeframe_ms).any():
            # a regular grid, so a candle missing from every symbol is still a (flat) candle
            times = np.arange(times[0], times[-1] + timeframe_ms, timeframe_ms, dtype=np.int64)
        cols: dict[str, FloatArray] = {}
        for col in ("open", "high", "low", "close", "volume"):
            cols[col] = np.full((len(names), len(times)), np.nan)
        for i, (name, ts) in enumerate(zip(names, stamps, strict=True)):
            pos = np.searchsorted(times, ts)
            df = candles[name]
            for col in cols:
                cols[col][i, pos] = df[col].to_numpy(dtype=np.float64)
        _fill_gaps(cols)
        return cls(
            tuple(names),
            times,
            cols["open"],
            cols["high"],
            cols["low"],
            cols["close"],
            cols["volume"],
            timeframe_ms=timeframe_ms,
        )


def _to_ms(dates: pd.Series) -> np.ndarray:
    if pd.api.types.is_integer_dtype(dates):
        return dates.to_numpy(dtype=np.int64)
    stamps = pd.to_datetime(dates, utc=True)
    return (stamps.astype("datetime64[ms, UTC]").astype("int64")).to_numpy(dtype=np.int64)


def _fill_gaps(cols: dict[str, FloatArray]) -> None:
    """A missing candle inside a history becomes a flat candle at the previous close with no volume.

    Only the left padding stays NaN, which is what the indicator kernels expect.
    """
    close = cols["close"]
    missing = np.isnan(close)
    if not missing.any():
        return
    idx = np.where(~missing, np.arange(close.shape[1]), 0)
    np.maximum.accumulate(idx, axis=1, out=idx)
    started = np.maximum.accumulate(~missing, axis=1)
    gap = missing & started
    prev_close = np.take_along_axis(close, idx, axis=1)
    for col in ("open", "high", "low", "close"):
        cols[col][gap] = prev_close[gap]
    cols["volume"][gap] = 0.0
