"""The seeded synthetic market: deterministic, realistic enough to trade and train on."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sandbox.exchange.synthetic import synthetic_ohlcv

END = 1_767_225_600_000  # 2026-01-01 00:00 UTC


def test_same_seed_same_market_and_other_seed_differs() -> None:
    a = synthetic_ohlcv(n_symbols=50, n_candles=600, seed=3, end_ms=END)
    b = synthetic_ohlcv(n_symbols=50, n_candles=600, seed=3, end_ms=END)
    c = synthetic_ohlcv(n_symbols=50, n_candles=600, seed=4, end_ms=END)
    assert list(a) == list(b) and len(a) == 50 and "BTC/USDT" in a
    for symbol in a:
        pd.testing.assert_frame_equal(a[symbol], b[symbol])
    assert not np.allclose(a["ETH/USDT"]["close"], c["ETH/USDT"]["close"])


def test_prices_depend_on_the_seed_not_on_the_window() -> None:
    short = synthetic_ohlcv(n_symbols=5, n_candles=100, seed=9, end_ms=END)["BTC/USDT"]
    long = synthetic_ohlcv(n_symbols=5, n_candles=3000, seed=9, end_ms=END)["BTC/USDT"]
    assert short["close"].tolist() == long["close"].head(100).tolist()


def test_frame_shape_dates_and_candle_consistency() -> None:
    data = synthetic_ohlcv(n_symbols=60, n_candles=2000, timeframe="1h", seed=1, end_ms=END)
    assert len(data) == 60
    frame = data["SOL/USDT"]
    assert list(frame.columns) == ["date", "open", "high", "low", "close", "volume"]
    assert str(frame["date"].dt.tz) == "UTC" and len(frame) == 2000
    assert frame["date"].iloc[-1] == pd.Timestamp(END - 3_600_000, unit="ms", tz="UTC")
    assert (frame["date"].diff().dropna() == pd.Timedelta(hours=1)).all()
    for df in data.values():
        assert (df["low"] <= df[["open", "close"]].min(axis=1)).all()
        assert (df["high"] >= df[["open", "close"]].max(axis=1)).all()
        assert (df["volume"] > 0).all() and (df["low"] > 0).all()
        assert (df["open"].iloc[1:].to_numpy() == df["close"].iloc[:-1].to_numpy()).all()


def test_volatility_clusters_and_symbols_move_together() -> None:
    data = synthetic_ohlcv(n_symbols=20, n_candles=4000, seed=5, end_ms=END)
    returns = np.array([np.diff(np.log(df["close"].to_numpy())) for df in data.values()])
    squared = returns[:, 1:] ** 2
    # GARCH: large moves follow large moves (positive autocorrelation of squared returns)
    lag1 = [np.corrcoef(s[:-1], s[1:])[0, 1] for s in squared]
    assert np.median(lag1) > 0.05
    # fat tails: kurtosis well above the normal's 3
    z = (returns - returns.mean(axis=1, keepdims=True)) / returns.std(axis=1, keepdims=True)
    assert np.median((z**4).mean(axis=1)) > 4
    # a common factor: average pairwise correlation clearly positive
    corr = np.corrcoef(returns)
    assert corr[np.triu_indices(20, 1)].mean() > 0.2
    # volume rises with the size of the move
    df = data["ETH/USDT"]
    move = np.abs(np.log(df["close"] / df["open"]))
    assert np.corrcoef(move, np.log(df["volume"]))[0, 1] > 0.1
