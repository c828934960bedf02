"""Properties of the pure planner and the paper desk: limits hold, balances never go negative."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from core.db.models import Mode
from core.engine.ids import LEGAL, client_order_id
from core.engine.paper import PaperDesk
from core.engine.planner import MarketView, Policy, plan_user
from core.engine.snapshot import BalanceRow, UserRow
from core.fills import FillModel
from core.risk import MarketRules
from core.strategy.book import Signal, SignalBook

NOW = datetime(2026, 1, 2, 3, 5, tzinfo=UTC)
SYMBOLS = [f"S{i}/USDT" for i in range(6)]

money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)
prices = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("70000"), places=4)


@given(user_id=st.integers(1, 10**9), signal=st.text(max_size=80), leg=st.text(max_size=20))
def test_client_order_id_is_always_binance_legal(user_id: int, signal: str, leg: str) -> None:
    cid = client_order_id(user_id, signal, leg)
    assert LEGAL.match(cid) and len(cid) <= 36


@settings(max_examples=150, deadline=None)
@given(
    deposit=money,
    free=money,
    risk=st.decimals(min_value=Decimal("0.1"), max_value=Decimal("10"), places=1),
    share=st.decimals(min_value=Decimal("1"), max_value=Decimal("100"), places=0),
    max_open=st.integers(0, 6),
    px=st.lists(prices, min_size=len(SYMBOLS), max_size=len(SYMBOLS)),
    atr=st.lists(st.floats(0, 500), min_size=len(SYMBOLS), max_size=len(SYMBOLS)),
)
def test_entries_respect_limits_and_paper_never_overdraws(
    deposit, free, risk, share, max_open, px, atr
) -> None:
    user = UserRow(
        1, 11, "en", Mode.paper, True, False, deposit, risk, max_open, share, Decimal(5), ("x",), None
    )
    rules = {
        s: MarketRules(s, amount_step=Decimal("0.001"), price_tick=Decimal("0.0001"), min_cost=Decimal(5))
        for s in SYMBOLS
    }
    view = MarketView(
        NOW, 0, dict(zip(SYMBOLS, px, strict=True)), rules, dict(zip(SYMBOLS, atr, strict=True))
    )
    book = SignalBook(0, tuple(Signal(s, "enter", "long", 1.0, (), 0, f"sig{s}") for s in SYMBOLS))
    plan = plan_user(user, book, [], [], free, Decimal(0), view, Policy())

    assert len(plan.intents) <= max_open
    spent = Decimal(0)
    for intent in plan.intents:
        cost = intent.amount * intent.ref_price
        assert rules[intent.symbol].violation(intent.amount, intent.ref_price) is None
        assert cost <= deposit * share / 100
        spent += cost * Decimal("1.001")
    assert spent <= free + Decimal("0.00000001") * len(plan.intents)

    balances = {"USDT": BalanceRow(1, free, Decimal(0))}
    writes = PaperDesk(FillModel(), Policy(), "binance", "USDT").writes_for(user, plan, balances, view, NOW)
    for update in writes.balance_updates:
        assert update["free"] >= 0
    for insert in writes.balance_inserts:
        assert insert["free"] > 0
