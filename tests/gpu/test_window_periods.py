"""Windowed kernels across periods: block sums (BBANDS), doubling extremes (pivots), tiled ATR.

Their block and tile boundaries depend on the period, so they are checked against TA-Lib at odd,
power-of-two and boundary periods, on one long series that also runs cut into time chunks, and
with the price level changing by orders of magnitude inside the series.
"""

from __future__ import annotations

import numpy as np
import pytest
import talib

from gpu import indicators as ind
from gpu.kernels.windows import DOUBLING_MAX_PERIOD
from tests.gpu.talib_oracle import assert_agrees

PERIODS = [2, 3, 4, 5, 7, 8, 13, 16, 17, 20, 33, 100, DOUBLING_MAX_PERIOD, DOUBLING_MAX_PERIOD + 1, 300]


def _series(length: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    steps = rng.normal(0, 0.02, length)
    steps[length // 3] = np.log(1e4)  # a jump up four orders of magnitude, then back down
    steps[2 * length // 3] = np.log(1e-5)
    close = 100 * np.exp(np.cumsum(steps))
    high = close * (1 + rng.uniform(0, 0.01, length))
    low = close * (1 - rng.uniform(0, 0.01, length))
    low[length // 2 : length // 2 + 40] = low[length // 2]  # a flat run: ties and zero spread
    high[length // 2 : length // 2 + 40] = low[length // 2]
    close[length // 2 : length // 2 + 40] = low[length // 2]
    return high, low, close


def _check(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int, label: str) -> None:
    scale = np.array([np.abs(close).max()])
    support, resistance = ind.pivots(high, low, period)
    np.testing.assert_array_equal(support, talib.MIN(low, period), err_msg=f"{label} MIN")
    np.testing.assert_array_equal(resistance, talib.MAX(high, period), err_msg=f"{label} MAX")
    bands = ind.bbands(close, period)
    for k, (ours, theirs) in enumerate(zip(bands, talib.BBANDS(close, period), strict=True)):
        # each window's std is judged against the prices in that window (the level moves 1e4x)
        window_scale = talib.MAX(np.abs(close), period)
        tol_ok = np.abs(ours - theirs) <= 1e-8 * np.abs(theirs) + 1e-10 * window_scale
        assert np.array_equal(np.isnan(ours), np.isnan(theirs)), f"{label} bbands[{k}] NaN"
        assert np.all(tol_ok | np.isnan(theirs)), f"{label} bbands[{k}]"
    ours_atr = ind.atr(high, low, close, period)
    theirs_atr = talib.ATR(high, low, close, period)
    assert np.array_equal(np.isnan(ours_atr), np.isnan(theirs_atr)), f"{label} atr NaN"
    ok = np.abs(ours_atr - theirs_atr) <= 1e-8 * np.abs(theirs_atr) + 1e-10 * scale[0]
    assert np.all(ok | np.isnan(theirs_atr)), f"{label} atr"
    assert_agrees(ind.sma(close, period)[None], talib.SMA(close, period)[None], f"{label} sma")


@pytest.mark.parametrize("period", PERIODS)
def test_periods_agree_with_talib(period: int) -> None:
    high, low, close = _series(5_000, period)
    _check(high, low, close, period, f"period {period}")


@pytest.mark.parametrize("period", [3, 20, DOUBLING_MAX_PERIOD + 1])
def test_periods_cut_into_time_chunks(monkeypatch: pytest.MonkeyPatch, period: int) -> None:
    monkeypatch.setattr(ind, "MIN_CHUNK", 100)
    high, low, close = _series(3_001, 100 + period)
    _check(high, low, close, period, f"chunked period {period}")
