"""Metrics on hand-made equity curves, where each figure can be worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.backtest.metrics import equity_metrics

HOUR = 3_600_000


def test_drawdown_depth_and_time_under_water() -> None:
    # deposit 100, then hourly closes: a peak at 120, down to 90, back above the peak two hours later
    equity = np.array([110.0, 120.0, 100.0, 90.0, 121.0, 125.0])
    times = np.arange(len(equity)) * HOUR
    m = equity_metrics(equity, times, 100.0, HOUR)
    assert m["max_drawdown_pct"] == pytest.approx((90 / 120 - 1) * 100)
    assert m["max_drawdown_duration_hours"] == pytest.approx(2.0)
    assert m["total_return_pct"] == pytest.approx(25.0)
    years = 6 * HOUR / (365.25 * 24 * HOUR)
    assert m["cagr_pct"] == pytest.approx((1.25 ** (1 / years) - 1) * 100)
    rets = np.diff(np.concatenate(([100.0], equity))) / np.concatenate(([100.0], equity))[:-1]
    per_year = 365.25 * 24
    assert m["sharpe"] == pytest.approx(rets.mean() / rets.std(ddof=1) * math.sqrt(per_year))
    downside = math.sqrt(np.mean(np.minimum(rets, 0) ** 2))
    assert m["sortino"] == pytest.approx(rets.mean() / downside * math.sqrt(per_year))
    assert m["calmar"] == pytest.approx(m["cagr_pct"] / 100 / 0.25)


def test_flat_and_ruined_curves_give_no_nan() -> None:
    flat = equity_metrics(np.full(10, 100.0), np.arange(10) * HOUR, 100.0, HOUR)
    assert flat["sharpe"] is None and flat["sortino"] is None and flat["calmar"] is None
    assert flat["max_drawdown_pct"] == 0 and flat["max_drawdown_duration_hours"] == 0
    ruined = equity_metrics(np.array([50.0, 0.0]), np.arange(2) * HOUR, 100.0, HOUR)
    assert ruined["cagr_pct"] == -100 and ruined["max_drawdown_pct"] == -100
    huge = equity_metrics(np.array([1e6]), np.array([0]), 100.0, 60_000)  # one minute, 10,000x
    assert huge["cagr_pct"] is None
