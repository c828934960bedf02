"""The universe as batched arrays on one time grid: the strategies' MarketFrame, built from candles.

The frame type is core.strategy's, so the market stage's output is what strategies and indicators
read without conversion. Gaps inside a history follow core.strategy's rule (a flat candle at the
previous close, no volume); only the left padding of younger symbols stays NaN.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from core.strategy.frame import MarketFrame
from core.strategy.frame import _fill_gaps as fill_gaps

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

# Column order of a candle row everywhere in core/market: the ccxt OHLCV order.
TS, OPEN, HIGH, LOW, CLOSE, VOLUME = range(6)
FIELDS = ("open", "high", "low", "close", "volume")

__all__ = ["F64", "FIELDS", "MarketFrame", "assemble_frame", "grid"]


def grid(end_open: int, tf_ms: int, length: int) -> I64:
    """`length` candle open times ending at `end_open`, ascending."""
    return end_open - tf_ms * np.arange(length - 1, -1, -1, dtype=np.int64)


def assemble_frame(candles: Mapping[str, F64], *, tf_ms: int, end_open: int, length: int) -> MarketFrame:
    """Place each symbol's candle rows [n, 6] on the grid of `length` opens ending at `end_open`.

    Rows outside the grid are dropped; rows off the timeframe's boundaries are ignored, not rounded.
    """
    symbols = tuple(candles)
    times = grid(end_open, tf_ms, length)
    cube = np.full((5, len(symbols), length), np.nan, dtype=np.float64)
    if symbols:
        counts = [len(candles[s]) for s in symbols]
        rows = np.concatenate([np.asarray(candles[s], dtype=np.float64).reshape(-1, 6) for s in symbols])
        which = np.repeat(np.arange(len(symbols)), counts)
        offset = rows[:, TS].astype(np.int64) - int(times[0])
        col = offset // tf_ms
        keep = (offset >= 0) & (offset % tf_ms == 0) & (col < length)
        cube[:, which[keep], col[keep]] = rows[keep, OPEN:].T
    cols = dict(zip(FIELDS, cube, strict=True))
    fill_gaps(cols)
    return MarketFrame(
        symbols,
        times,
        cols["open"],
        cols["high"],
        cols["low"],
        cols["close"],
        cols["volume"],
        timeframe_ms=tf_ms,
    )
