"""Strategies over the batched frame: registry, shared indicator cache, no look-ahead, the book."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import talib

from core.strategy import (
    BlacklistRule,
    MarketFrame,
    Strategy,
    StrategySignals,
    Weights,
    active_blacklist,
    available,
    book_at,
    combine,
    create,
    register,
    signal_id,
)
from tests.backtest.candles import random_candles

BUILT_IN = ["breakout", "mean_reversion", "sma_cross", "trend"]


def make_frame(n_symbols: int = 6, length: int = 1500, ragged: bool = True) -> MarketFrame:
    candles = {}
    for i in range(n_symbols):
        df = random_candles(length, 40 + i, vol=0.006)
        if ragged and i % 2:
            df = df.iloc[i * 37 :].reset_index(drop=True)  # a younger listing: left-padded with NaN
        candles[f"S{i}/USDT"] = df
    return MarketFrame.from_candles(candles, timeframe_ms=300_000)


def truncated(frame: MarketFrame, end: int) -> MarketFrame:
    return MarketFrame(
        frame.symbols,
        frame.times[:end],
        frame.open[:, :end],
        frame.high[:, :end],
        frame.low[:, :end],
        frame.close[:, :end],
        frame.volume[:, :end],
        frame.timeframe_ms,
    )


def test_the_built_ins_are_registered_by_name() -> None:
    assert set(BUILT_IN) <= set(available())
    assert create("sma_cross", fast=5, slow=20).key == "sma_cross(fast=5,slow=20)"
    with pytest.raises(ValueError, match="unknown strategy 'nope'; available: .*sma_cross"):
        create("nope")
    with pytest.raises(ValueError, match="fast < slow"):
        create("sma_cross", fast=30, slow=10)


@pytest.mark.parametrize("name", BUILT_IN)
def test_signals_are_shaped_bounded_and_fire(name: str) -> None:
    frame = make_frame()
    sig = create(name).signals(frame)
    assert sig.entry.shape == sig.exit.shape == sig.strength.shape == (frame.n_symbols, frame.n_times)
    assert sig.entry.any() and sig.exit.any()
    assert ((sig.strength >= 0) & (sig.strength <= 1)).all()
    assert (sig.strength[sig.entry] > 0).all() and (sig.strength[~sig.entry] == 0).all()
    assert not (sig.entry & sig.exit).any()


@pytest.mark.parametrize("name", BUILT_IN)
def test_a_signal_on_a_candle_uses_nothing_after_it(name: str) -> None:
    frame = make_frame(length=600)
    full = create(name).signals(frame)
    for end in (200, 351, 599):
        part = create(name).signals(truncated(frame, end))
        t = end - 1
        np.testing.assert_array_equal(part.entry[:, t], full.entry[:, t])
        np.testing.assert_array_equal(part.exit[:, t], full.exit[:, t])
        np.testing.assert_allclose(part.strength[:, t], full.strength[:, t], rtol=1e-9)


def test_sma_cross_matches_a_per_symbol_talib_loop() -> None:
    frame = make_frame()
    sig = create("sma_cross", fast=7, slow=25).signals(frame)
    for s in range(frame.n_symbols):
        close = frame.close[s]
        start = int(np.argmax(np.isfinite(close)))
        fast = np.full_like(close, np.nan)
        slow = np.full_like(close, np.nan)
        fast[start:] = talib.SMA(close[start:], 7)
        slow[start:] = talib.SMA(close[start:], 25)
        expected_entry = [False] + [
            bool(fast[t - 1] <= slow[t - 1] and fast[t] > slow[t]) for t in range(1, len(close))
        ]
        expected_exit = [False] + [
            bool(slow[t - 1] <= fast[t - 1] and slow[t] > fast[t]) for t in range(1, len(close))
        ]
        assert sig.entry[s].tolist() == expected_entry
        assert sig.exit[s].tolist() == expected_exit


def test_two_strategies_share_one_indicator_computation() -> None:
    frame = make_frame()
    a = frame.indicator("sma", period=30)
    combine(frame, [create("sma_cross", fast=10, slow=30), create("sma_cross", fast=5, slow=30)])
    assert frame.indicator("sma", period=30) is a
    assert sum(1 for key in frame._cache if key[0] == "sma") == 3  # 30, 10, 5
    with pytest.raises(ValueError, match="cannot take source"):
        frame.indicator("atr", source="volume")


class _ModelLike(Strategy):
    """A stand-in for the model strategy: probabilities handed over through the frame."""

    name = "test_probabilities"

    def signals(self, frame: MarketFrame) -> StrategySignals:
        proba = frame.extras["up_proba"]
        return StrategySignals.build(proba > 0.6, proba < 0.3, proba)

    def reason(self, frame: MarketFrame, symbol_index: int, t: int, entry: bool) -> str:
        return f"model p(up) {frame.extras['up_proba'][symbol_index, t]:.2f}"


def test_the_registry_is_open_to_a_model_strategy_fed_through_the_frame() -> None:
    register(_ModelLike)
    frame = make_frame(3, 100, ragged=False)
    proba = np.full((3, 100), 0.5)
    proba[1, -1] = 0.9
    frame.extras["up_proba"] = proba
    book = book_at(frame, combine(frame, [create("test_probabilities")]))
    assert [(s.symbol, s.action, round(s.strength, 2), s.reasons) for s in book.signals] == [
        ("S1/USDT", "enter", 0.9, ("model p(up) 0.90",))
    ]


def test_weights_and_thresholds_decide_the_combined_intent() -> None:
    frame = make_frame(3, 100, ragged=False)
    entry = np.zeros((3, 100), bool)
    entry[0, 50] = True
    exit_ = np.zeros((3, 100), bool)
    exit_[0, 50] = True
    exit_[1, 60] = True

    class Buy(_ModelLike):
        name = "test_buy"

        def signals(self, frame: MarketFrame) -> StrategySignals:
            return StrategySignals.build(entry, np.zeros_like(entry), 0.8)

    class Sell(_ModelLike):
        name = "test_sell"

        def signals(self, frame: MarketFrame) -> StrategySignals:
            return StrategySignals.build(np.zeros_like(exit_), exit_, 0.0)

    both = [Buy(), Sell()]
    even = combine(frame, both).signals  # entry score 0.4 vs exit score 0.5: exit wins
    assert not even.entry[0, 50] and even.exit[0, 50] and even.exit[1, 60]
    heavy = combine(frame, both, Weights({"test_buy": 3})).signals  # 0.6 vs 0.25: entry wins
    assert heavy.entry[0, 50] and heavy.strength[0, 50] == pytest.approx(0.6) and not heavy.exit[0, 50]
    strict = combine(frame, both, Weights({"test_buy": 3}, entry_threshold=0.7)).signals
    assert not strict.entry[0, 50]
    muted = combine(frame, both, Weights({"test_sell": 0})).signals
    assert muted.entry[0, 50] and not muted.exit.any()


def test_book_reasons_ids_and_blacklist() -> None:
    frame = make_frame(6, 1500, ragged=False)
    combined = combine(frame, [create("sma_cross")])
    t = int(np.flatnonzero(combined.signals.entry.any(axis=0))[-1])
    book = book_at(frame, combined, t)
    entries = book.entries()
    assert entries and all(s.reasons == ("SMA10 crossed above SMA30",) for s in entries)
    sym = entries[0].symbol
    sid = entries[0].signal_id
    assert sid == signal_id(combined.strategy_key, sym, int(frame.times[t]))
    assert book_at(frame, combine(frame, [create("sma_cross")]), t).entries()[0].signal_id == sid  # stable
    assert book_at(frame, combine(frame, [create("sma_cross", fast=9)]), t).entries()[0].signal_id != sid
    assert len({s.signal_id for s in book.signals}) == len(book.signals)

    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    rules = [
        BlacklistRule(sym, "delisting", now + timedelta(hours=1)),
        BlacklistRule("OTHER/USDT", None, now),
    ]
    assert set(active_blacklist(rules, now)) == {sym}  # an entry expiring exactly now no longer applies
    banned = book_at(frame, combined, t, rules, now)
    assert sym not in {s.symbol for s in banned.entries()} and banned.blacklisted == (sym,)
    later = book_at(frame, combined, t, rules, now + timedelta(hours=1))
    assert sym in {s.symbol for s in later.entries()}
    with pytest.raises(ValueError, match="aware"):
        active_blacklist(rules, datetime(2026, 5, 1))


def test_a_blacklisted_symbol_keeps_its_exit_signals() -> None:
    frame = make_frame(6, 1500, ragged=False)
    combined = combine(frame, [create("sma_cross")])
    t = int(np.flatnonzero(combined.signals.exit.any(axis=0))[-1])
    sym = book_at(frame, combined, t).exits()[0].symbol
    book = book_at(frame, combined, t, [BlacklistRule(sym)], datetime.now(UTC))
    assert sym in {s.symbol for s in book.exits()}
    assert book.for_symbol(sym)[0].reasons == ("SMA10 crossed below SMA30",)


def test_strategy_sets_sharing_a_strategy_compute_it_once_per_frame() -> None:
    frame = make_frame(3, 400, ragged=False)
    calls: list[str] = []

    class Counting(_ModelLike):
        name = "test_counting"

        def signals(self, frame: MarketFrame) -> StrategySignals:
            calls.append(self.key)
            return create("sma_cross").signals(frame)

    a = combine(frame, [Counting(), create("trend")])
    b = combine(frame, [Counting(), create("breakout")])
    assert calls == ["test_counting()"]
    assert (a.per_strategy[0][1].entry == b.per_strategy[0][1].entry).all()


def test_a_touch_then_cross_is_a_cross() -> None:
    # backtesting.py's crossover() needs a strict "below" on the previous candle and misses this one
    # (the one place where the parity test's peer and we differ: exact ties, e.g. tick-rounded prices)
    from core.strategy.base import crossed_above

    a = np.array([[1.0, 2.0, 3.0, 2.0, 1.0]])
    b = np.full((1, 5), 2.0)
    assert crossed_above(a, b).tolist() == [[False, False, True, False, False]]
    assert crossed_above(b, a).tolist() == [[False, False, False, False, True]]
