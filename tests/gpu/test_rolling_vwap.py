"""rolling_vwap has no TA-Lib counterpart: it is checked against a direct sum over every window."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gpu import indicators as ind
from tests.gpu.talib_oracle import assert_agrees, start_of


def naive_vwap(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, period: int
) -> np.ndarray:
    out = np.full(close.shape, np.nan)
    for r in range(close.shape[0]):
        s = start_of([high[r], low[r], close[r], volume[r]])
        for t in range(s + period - 1, close.shape[1]):
            w = slice(t - period + 1, t + 1)
            vol = volume[r, w]
            if np.all(vol == 0):
                continue
            typical = (high[r, w] + low[r, w] + close[r, w]) / 3.0
            out[r, t] = np.sum(typical * vol) / np.sum(vol)
    return out


def _ohlcv(seed: int, symbols: int, length: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (symbols, length)), axis=1))
    high = close * (1 + rng.uniform(0, 0.01, close.shape))
    low = close * (1 - rng.uniform(0, 0.01, close.shape))
    # volumes over ten orders of magnitude, and idle stretches
    volume = rng.lognormal(2.0, 4.0, close.shape)
    volume[rng.uniform(size=close.shape) < 0.2] = 0.0
    return high, low, close, volume


def test_ragged_batch_matches_direct_sums() -> None:
    high, low, close, volume = _ohlcv(1, 20, 300)
    volume[3, 100:140] = 0.0  # a window with no trades at all
    pads = np.random.default_rng(2).integers(0, 300, 20)
    pads[:4] = [0, 300, 7, 0]
    for arr in (high, low, close, volume):
        for r, p in enumerate(pads):
            arr[r, :p] = np.nan
    for period in (1, 5, 14):
        ours = ind.rolling_vwap(high, low, close, volume, period)
        assert_agrees(ours, naive_vwap(high, low, close, volume, period), f"vwap {period}")
    assert np.isnan(ind.rolling_vwap(high, low, close, volume)[3, 139]).item()


def test_long_series_keeps_its_precision() -> None:
    """Running window sums must not drift: a huge volume leaving the window leaves no residue."""
    high, low, close, volume = _ohlcv(3, 1, 200_000)
    volume[0, ::5000] = 1e12
    ours = ind.rolling_vwap(high[0], low[0], close[0], volume[0], 14)
    # direct windowed sums, vectorised for speed
    typical = (high[0] + low[0] + close[0]) / 3.0
    windows = np.lib.stride_tricks.sliding_window_view
    pv = np.sum(windows(typical * volume[0], 14), axis=1)
    vol = np.sum(windows(volume[0], 14), axis=1)
    expected = np.full(200_000, np.nan)
    traded = np.sum(windows(volume[0] != 0, 14), axis=1) > 0
    expected[13:] = np.where(traded, pv / np.where(vol == 0, 1.0, vol), np.nan)
    assert_agrees(ours[None, :], expected[None, :], "long vwap")


@settings(max_examples=80, deadline=None)
@given(
    data=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 3), st.integers(1, 60)),
        elements=st.floats(1e-4, 1e5, allow_nan=False),
    ),
    volume_seed=st.integers(0, 2**32 - 1),
    period=st.integers(1, 20),
    pad=st.integers(0, 30),
)
def test_generated_series_match_direct_sums(
    data: np.ndarray, volume_seed: int, period: int, pad: int
) -> None:
    rng = np.random.default_rng(volume_seed)
    close = data.copy()
    high = close * (1 + rng.uniform(0, 0.1, close.shape))
    low = close * (1 - rng.uniform(0, 0.1, close.shape))
    volume = np.where(rng.uniform(size=close.shape) < 0.3, 0.0, rng.lognormal(0, 5, close.shape))
    for arr in (high, low, close, volume):
        arr[0, : min(pad, arr.shape[1])] = np.nan
    ours = ind.rolling_vwap(high, low, close, volume, period)
    assert_agrees(ours, naive_vwap(high, low, close, volume, period), "generated vwap")
