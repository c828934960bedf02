"""Seeded random-walk candles for the backtest tests (a stand-in for any OHLCV history)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def random_candles(
    n: int, seed: int, start: str = "2024-01-01", freq_min: int = 5, vol: float = 0.004
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
    open_ = np.empty(n)
    open_[0] = close[0]
    open_[1:] = close[:-1] * np.exp(rng.normal(0.0, vol / 4, n - 1))  # small gaps at the open
    wick = np.abs(rng.normal(0.0, vol / 2, (2, n)))
    high = np.maximum(open_, close) * (1 + wick[0])
    low = np.minimum(open_, close) * (1 - wick[1])
    dates = pd.date_range(start, periods=n, freq=f"{freq_min}min", tz="UTC")
    return pd.DataFrame(
        {
            "date": dates,
            "open": np.round(open_, 4),
            "high": np.round(high, 4),
            "low": np.round(low, 4),
            "close": np.round(close, 4),
            "volume": np.round(rng.uniform(1, 100, n), 3),
        }
    )
