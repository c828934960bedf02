"""The exit state machine: stop first, ladder with partials, trailing, time and signal exits."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.models import Mode, Position, User
from core.exits import (
    Candle,
    ExitAction,
    ExitPlan,
    PositionState,
    Target,
    on_candle,
    on_price,
    open_position,
    watch_levels,
)
from core.risk import MarketRules

RULES = MarketRules(
    "X/USDT", amount_step=D("0.001"), price_tick=D("0.01"), min_amount=D("0.001"), min_cost=D(5)
)
NO_RULES = MarketRules("X/USDT")
PLAN = ExitPlan()  # 50% at 1R, then breakeven and a 1R trail on the rest


def bar(t: int, o: str, h: str, lo: str, c: str) -> Candle:
    return Candle(t, D(o), D(h), D(lo), D(c))


def pos(
    amount: str = "1", entry: str = "100", stop: str | None = "90", plan: ExitPlan = PLAN
) -> PositionState:
    return open_position("X/USDT", D(amount), D(entry), D(stop) if stop else None, 0, plan, D("0.01"))


def test_ladder_is_priced_in_r() -> None:
    p = pos()
    assert [(t.price, t.fraction) for t in p.targets] == [(D(110), D("0.5"))]
    assert p.risk_per_unit == D(10)


def test_stop_first_when_stop_and_target_touch_the_same_candle() -> None:
    state, actions = on_candle(pos(), bar(1, "100", "111", "89", "105"), PLAN, RULES)
    assert state is None
    assert [(a.reason, a.amount, a.price) for a in actions] == [("stop", D(1), D(90))]


def test_gap_through_the_stop_fills_at_the_open() -> None:
    state, actions = on_candle(pos(), bar(1, "85", "88", "80", "86"), PLAN, RULES)
    assert state is None and actions[0].price == D(85) and actions[0].at_open


def test_partial_at_1r_then_breakeven_and_trailing_from_the_next_candle() -> None:
    state, actions = on_candle(pos(), bar(1, "101", "112", "99", "111"), PLAN, RULES)
    assert [(a.reason, a.amount, a.price, a.closes) for a in actions] == [
        ("take_profit_1", D("0.5"), D(110), False)
    ]
    assert state is not None
    assert state.amount == D("0.5") and state.trail_active and state.targets[0].done
    # trail: high-water 112 minus 1R (10) = 102, above breakeven 100
    assert state.high_water == D(112) and state.stop_price == D(102)
    # a new high lifts the trail; the lifted stop is not applied inside the same candle
    state2, actions2 = on_candle(state, bar(2, "111", "120", "103", "118"), PLAN, RULES)
    assert actions2 == [] and state2 is not None and state2.stop_price == D(110)
    state3, actions3 = on_candle(state2, bar(3, "117", "118", "109", "110"), PLAN, RULES)
    assert state3 is None
    assert [(a.reason, a.amount, a.price) for a in actions3] == [("trailing_stop", D("0.5"), D(110))]


def test_remainder_too_small_to_sell_alone_is_merged_into_the_partial() -> None:
    # 0.09 coins at 100: half is 0.045 (4.5 USDT, under the 5 USDT minimum) -> raised to 0.05, and the
    # remaining 0.04 (4 USDT) could never be sold alone -> everything goes at the target
    state, actions = on_candle(pos("0.09"), bar(1, "100", "111", "99", "110"), PLAN, RULES)
    assert state is None
    assert [(a.reason, a.amount, a.closes) for a in actions] == [("take_profit_1", D("0.09"), True)]


def test_partial_amounts_honour_the_step() -> None:
    state, actions = on_candle(pos("1.235"), bar(1, "100", "111", "99", "110"), PLAN, RULES)
    assert actions[0].amount == D("0.617")  # 0.6175 rounded down to the 0.001 step
    assert state is not None and state.amount == D("0.618")


def test_time_exit_and_signal_exit_sell_everything_at_the_open() -> None:
    timed = ExitPlan(max_holding_ms=3_600_000)
    p = open_position("X/USDT", D(1), D(100), D(90), 0, timed)
    state, actions = on_candle(p, bar(3_599_999, "101", "102", "100", "101"), timed, RULES)
    assert actions == [] and state is p
    state, actions = on_candle(p, bar(3_600_000, "101", "102", "100", "101"), timed, RULES)
    assert state is None and [(a.reason, a.price, a.at_open) for a in actions] == [("time", D(101), True)]
    state, actions = on_candle(pos(), bar(5, "104", "130", "80", "100"), PLAN, RULES, exit_signal=True)
    assert state is None and [(a.reason, a.price) for a in actions] == [("signal", D(104))]


def test_trailing_activation_by_percent_without_a_ladder() -> None:
    plan = ExitPlan(targets=(), trail_activation_pct=D(5), trail_distance_pct=D(2), trail_distance_r=None)
    p = open_position("X/USDT", D(1), D(100), D(95), 0, plan)
    state, _ = on_candle(p, bar(1, "100", "104", "99", "103"), plan, RULES)
    assert state is p  # below the activation level: nothing changes
    state, _ = on_candle(p, bar(2, "103", "110", "100", "109"), plan, RULES)
    assert state is not None and state.trail_active and state.stop_price == D("107.80")


def test_the_live_monitor_uses_the_same_machine_on_a_price() -> None:
    state, actions = on_price(pos(), D("89.5"), 10, PLAN, RULES)
    assert state is None and [(a.reason, a.price) for a in actions] == [("stop", D("89.5"))]
    state, actions = on_price(pos(), D("110.5"), 10, PLAN, RULES)
    assert state is not None and actions[0].reason == "take_profit_1" and actions[0].price == D("110.5")


def test_watch_levels_bound_every_state_change() -> None:
    p = pos()
    assert watch_levels(p, PLAN) == (90.0, 110.0)
    inside = bar(1, "100", "109.99", "90.01", "105")
    assert on_candle(p, inside, PLAN, RULES) == (p, [])


prices = st.decimals(D("50"), D("150"), places=2)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(prices, prices, prices, prices), min_size=1, max_size=40),
    st.decimals(D("0.001"), D("5"), places=3),
)
def test_never_sells_more_than_held_and_all_sales_are_on_the_step(
    path: list[tuple[D, D, D, D]], amount: D
) -> None:
    state: PositionState | None = pos(str(amount))
    sold = D(0)
    for i, (a, b, c, d) in enumerate(path):
        if state is None:
            break
        hi, lo = max(a, b, c, d), min(a, b, c, d)
        held = state.amount
        state, actions = on_candle(state, Candle(i + 1, b if lo < b < hi else lo, hi, lo, c), PLAN, RULES)
        out = sum((x.amount for x in actions), D(0))
        assert out <= held
        for x in actions:
            assert x.amount > 0 and x.amount % RULES.amount_step == 0  # type: ignore[operator]
        sold += out
        if state is not None:
            assert state.amount == held - out and state.amount > 0
            if state.stop_price is not None and state.initial_stop is not None:
                assert state.stop_price >= state.initial_stop  # a stop only ever moves up
    assert sold <= amount
    if state is None:
        assert sold == amount


async def test_state_round_trips_through_the_position_table(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    state, _ = on_candle(pos("1.5"), bar(1_700_000_000_000, "101", "112", "99", "111"), PLAN, RULES)
    assert state is not None
    async with sessionmaker() as session:
        user = User(telegram_id=1)
        session.add(user)
        await session.flush()
        session.add(Position(user_id=user.id, mode=Mode.paper, exchange="binance", **state.to_db()))
        await session.commit()
    async with sessionmaker() as session:
        row = (await session.execute(select(Position))).scalar_one()
    assert PositionState.from_db(row) == state


def test_records_built_by_the_slot_init_behave_like_plain_frozen_dataclasses() -> None:
    by_keyword = PositionState(
        symbol="X/USDT",
        amount=D(1),
        initial_amount=D(1),
        entry_price=D(100),
        stop_price=None,
        initial_stop=None,
        targets=(Target(D(110), D("0.5")),),
        trail_active=False,
        high_water=D(100),
        opened_at=0,
    )
    positional = PositionState("X/USDT", D(1), D(1), D(100), None, None, by_keyword.targets, False, D(100), 0)
    assert positional == by_keyword and positional.side == "long" and hash(positional) == hash(by_keyword)
    assert replace(by_keyword, amount=D("0.5")).amount == D("0.5")
    assert Target(D(1), D(1)).done is False and Target(D(1), D(1), True).done is True
    assert ExitAction("stop", D(1), D(90), False, True).closes
    with pytest.raises(FrozenInstanceError):
        by_keyword.amount = D(2)  # type: ignore[misc]
    with pytest.raises(TypeError):
        Candle(0, D(1))  # type: ignore[call-arg]
