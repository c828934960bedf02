"""The signal-only fast loop against the general loop and the candle-by-candle reference.

Plans without stops, targets or trail (the parity configuration, time exits) run through
core.backtest.signal_exits; everything it produces must be what the general loop produces on the
same input, to the last Decimal digit and the last bit of the equity curve.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.backtest import BacktestConfig, BacktestResult, run_backtest, signal_exits
from core.backtest.records import Moves, equity_curve
from core.exits import ExitPlan
from core.risk import RiskSettings
from core.strategy import MarketFrame, Weights, create
from tests.backtest.candles import random_candles
from tests.backtest.test_engine import MARKET, reference

HOUR = 3_600_000
SIGNAL_ONLY = ExitPlan.none()
TIMED = ExitPlan(
    targets=(), trail_after_first_target=False, breakeven_after_first_target=False, trail_distance_r=None
)


def _frame(n_symbols: int, length: int, seed: int = 300) -> MarketFrame:
    return MarketFrame.from_candles(
        {f"S{i}/USDT": random_candles(length, seed + i) for i in range(n_symbols)}, timeframe_ms=300_000
    )


def _same(a: BacktestResult, b: BacktestResult) -> None:
    def rows(r: BacktestResult) -> list[tuple[object, ...]]:
        return [
            (
                t.symbol,
                t.entry_time,
                t.entry_price,
                t.amount,
                t.entry_fee,
                t.strength,
                tuple((e.time, e.price, e.amount, e.fee, e.reason) for e in t.exits),
            )
            for t in r.trades
        ]

    assert rows(a) == rows(b)
    assert a.final_cash == b.final_cash
    assert a.refused == b.refused and a.daily_limit_days == b.daily_limit_days
    assert np.array_equal(a.times, b.times)
    assert a.equity.tobytes() == b.equity.tobytes()  # bit for bit
    assert np.array_equal(a.exposure, b.exposure)


CONFIGS = {
    "all-in per symbol": BacktestConfig(
        deposit=D(10**9),
        exits=SIGNAL_ONLY,
        stop_atr_mult=None,
        risk=RiskSettings(
            deposit=D(10**9),
            max_open_positions=100,
            max_symbol_share_pct=D(100) / 6,
            daily_loss_limit_pct=D(0),
            fixed_fraction=D(1),
        ),
    ),
    "slots, shares and market rules": BacktestConfig(
        deposit=D(1000),
        fee=D("0.002"),
        slippage=D("0.001"),
        exits=SIGNAL_ONLY,
        stop_atr_mult=None,
        markets={f"S{i}/USDT": {**MARKET, "symbol": f"S{i}/USDT"} for i in range(6)},
        risk=RiskSettings(
            deposit=D(1000),
            max_open_positions=2,
            max_symbol_share_pct=D(40),
            daily_loss_limit_pct=D(0),
            fixed_fraction=D("0.6"),
        ),
    ),
    "daily loss limit": BacktestConfig(
        deposit=D(1000),
        fee=D("0.004"),
        exits=SIGNAL_ONLY,
        stop_atr_mult=None,
        risk=RiskSettings(
            deposit=D(1000),
            max_open_positions=4,
            max_symbol_share_pct=D(50),
            daily_loss_limit_pct=D("0.5"),
            fixed_fraction=D("0.5"),
        ),
    ),
    "time exit and signal": BacktestConfig(
        deposit=D(5000),
        exits=replace(TIMED, max_holding_ms=2 * HOUR),
        stop_atr_mult=None,
        risk=RiskSettings(deposit=D(5000), fixed_fraction=D("0.3"), max_symbol_share_pct=D(50)),
    ),
    "time exit only, window, open at the end": BacktestConfig(
        deposit=D(5000),
        exits=ExitPlan(
            targets=(),
            trail_after_first_target=False,
            breakeven_after_first_target=False,
            trail_distance_r=None,
            max_holding_ms=HOUR,
            exit_on_signal=False,
        ),
        stop_atr_mult=None,
        risk=RiskSettings(deposit=D(5000), fixed_fraction=D("0.2"), max_symbol_share_pct=D(30)),
        start_ms=1_704_200_000_000,
        end_ms=1_704_700_000_000,
        close_at_end=False,
    ),
}


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("strategy", ["sma_cross", "mean_reversion", "sma_cross+breakout"])
def test_fast_loop_equals_general_loop(name: str, strategy: str) -> None:
    cfg = CONFIGS[name]
    assert signal_exits.applies(cfg)
    names = strategy.split("+")
    if len(names) > 1:
        cfg = replace(cfg, weights=Weights({"breakout": 0.5}))
    fast = run_backtest(_frame(6, 2500), [create(n) for n in names], cfg)
    general = run_backtest(_frame(6, 2500), [create(n) for n in names], cfg, fast_path=False)
    assert len(general.trades) > 20
    _same(fast, general)


def test_plans_a_candle_can_move_take_the_general_loop() -> None:
    assert not signal_exits.applies(BacktestConfig())  # ATR stops, ladder, trail
    assert not signal_exits.applies(BacktestConfig(exits=SIGNAL_ONLY))  # a stop is still set
    trail = ExitPlan(targets=(), trail_activation_pct=D(1), trail_distance_pct=D(1), trail_distance_r=None)
    assert not signal_exits.applies(BacktestConfig(exits=trail, stop_atr_mult=None))
    assert signal_exits.applies(BacktestConfig(exits=SIGNAL_ONLY, stop_atr_mult=None))


@pytest.mark.parametrize("strategy", ["sma_cross", "mean_reversion"])
def test_fast_loop_equals_the_candle_by_candle_reference(strategy: str) -> None:
    frame = MarketFrame.from_candles({"X/USDT": random_candles(4000, 11)}, timeframe_ms=300_000)
    cfg = BacktestConfig(
        deposit=D(10000),
        fee=D("0.001"),
        slippage=D("0.0005"),
        exits=SIGNAL_ONLY,
        stop_atr_mult=None,
        markets={"X/USDT": MARKET},
        risk=RiskSettings(
            deposit=D(10000), max_symbol_share_pct=D(100), daily_loss_limit_pct=D(0), fixed_fraction=D(1)
        ),
        close_at_end=False,
    )
    result = run_backtest(frame, strategy, cfg)
    ours = [
        (t.entry_time, t.entry_price, t.amount, tuple((e.time, e.price, e.amount, e.reason) for e in t.exits))
        for t in result.trades
    ]
    expected = reference(frame, strategy, cfg)
    assert len(expected) > 10
    assert ours == expected


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    n_symbols=st.integers(1, 4),
    width=st.integers(2, 40),
    max_hold=st.one_of(st.none(), st.integers(1, 12)),
)
def test_exit_candles_match_a_plain_scan(
    data: st.DataObject, n_symbols: int, width: int, max_hold: int | None
) -> None:
    exits = np.array(
        data.draw(st.lists(st.booleans(), min_size=n_symbols * width, max_size=n_symbols * width))
    ).reshape(n_symbols, width)
    t1 = data.draw(st.integers(2, width))
    n = data.draw(st.integers(0, 10))
    cand_s = np.array(data.draw(st.lists(st.integers(0, n_symbols - 1), min_size=n, max_size=n)), np.int64)
    cand_k = np.array(data.draw(st.lists(st.integers(1, t1 - 1), min_size=n, max_size=n)), np.int64)
    frame = MarketFrame(
        ("A",) * n_symbols, np.arange(width) * 1000, *(np.ones((n_symbols, width)),) * 5, timeframe_ms=1000
    )
    plan = ExitPlan.none() if max_hold is None else replace(TIMED, max_holding_ms=max_hold * 1000)
    got = signal_exits.exit_candles(frame, exits, plan, cand_s, cand_k, t1)
    for s, k, x in zip(cand_s.tolist(), cand_k.tolist(), got.tolist(), strict=True):
        want = next((j for j in range(k + 1, t1) if exits[s, j]), t1)
        if max_hold is not None:
            want = min(want, k + max_hold, t1)
        assert x == want


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n_symbols=st.integers(1, 5), width=st.integers(1, 30))
def test_equity_curve_is_the_numpy_formula_bit_for_bit(
    data: st.DataObject, n_symbols: int, width: int
) -> None:
    prices = st.one_of(st.just(float("nan")), st.floats(0.01, 1e6))
    close = np.array(
        data.draw(st.lists(prices, min_size=n_symbols * width, max_size=n_symbols * width))
    ).reshape(n_symbols, width)
    n = data.draw(st.integers(0, 30))
    moves = Moves()
    for _ in range(n):
        moves.add(
            data.draw(st.integers(0, n_symbols - 1)),
            data.draw(st.integers(0, width - 1)),
            data.draw(st.floats(-1e3, 1e3)),
            D(repr(data.draw(st.floats(-1e6, 1e6)))),
        )
    equity, exposure = equity_curve(close, moves, 0, 1000.0)

    amount_delta = np.zeros((n_symbols, width))
    cash = np.zeros(width)
    if n:
        np.add.at(amount_delta, (np.array(moves.symbol), np.array(moves.candle)), np.array(moves.amount))
        np.add.at(cash, np.array(moves.candle), np.array([float(c) for c in moves.cash]))
    held = np.cumsum(amount_delta, axis=1)
    held[np.abs(held) < 1e-12] = 0.0
    value = (held * np.nan_to_num(close, nan=0.0)).sum(axis=0)
    assert equity.tobytes() == (1000.0 + np.cumsum(cash) + value).tobytes()
    assert np.array_equal(exposure, (held != 0).any(axis=0))
