"""Position sizing: limits, market rules and refusals, with hypothesis over the whole input space."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from core.risk import (
    DECIMAL_PLACES,
    AccountState,
    MarketRules,
    RiskSettings,
    atr_stop,
    daily_loss_reached,
    should_notify_daily_limit,
    size_entry,
)

BINANCE_BTC = {
    "symbol": "BTC/USDT",
    "precision": {"amount": 0.00001, "price": 0.01},  # ccxt 4 binance: TICK_SIZE mode, step sizes
    "limits": {"amount": {"min": 0.00001, "max": 9000.0}, "cost": {"min": 5.0, "max": None}},
}


def money(lo: str, hi: str, places: int = 8) -> st.SearchStrategy[Decimal]:
    return st.decimals(Decimal(lo), Decimal(hi), places=places, allow_nan=False, allow_infinity=False)


steps = st.sampled_from(
    [None, Decimal("1"), Decimal("0.1"), Decimal("0.001"), Decimal("0.00001"), Decimal("5")]
)
optional_min = st.one_of(st.none(), money("0.00001", "10", 5))
optional_cost = st.one_of(st.none(), money("0.01", "50", 2))


@st.composite
def cases(
    draw: st.DrawFn,
) -> tuple[RiskSettings, AccountState, MarketRules, Decimal, Decimal | None, Decimal]:
    deposit = draw(money("0", "1000000", 2))
    settings_ = RiskSettings(
        deposit=deposit,
        risk_per_trade_pct=draw(money("0.01", "100", 2)),
        max_open_positions=draw(st.integers(1, 10)),
        max_symbol_share_pct=draw(money("0", "100", 2)),
        daily_loss_limit_pct=draw(money("0", "50", 2)),
        fixed_fraction=draw(st.one_of(st.none(), money("0.01", "1", 2))),
    )
    exposure = draw(money("0", "1000000", 2))
    account = AccountState(
        free=draw(money("0", "1000000", 2)),
        open_positions=draw(st.integers(0, 12)),
        symbol_exposure={"BTC/USDT": draw(money("0", "500000", 2))},
        total_exposure=exposure,
        realized_pnl_today=draw(money("-100000", "1000", 2)),
    )
    rules = MarketRules(
        symbol="BTC/USDT",
        amount_step=draw(steps),
        price_tick=Decimal("0.01"),
        min_amount=draw(optional_min),
        max_amount=draw(st.one_of(st.none(), money("1", "100000", 0))),
        min_cost=draw(optional_cost),
    )
    price = draw(money("0.0001", "100000", 4))
    stop = draw(st.one_of(st.none(), money("0", "100000", 4)))
    fee = draw(st.sampled_from([Decimal(0), Decimal("0.001"), Decimal("0.0075")]))
    return settings_, account, rules, price, stop, fee


@settings(max_examples=600, deadline=None)
@given(cases())
def test_no_size_breaks_a_limit_or_a_market_rule(
    case: tuple[RiskSettings, AccountState, MarketRules, Decimal, Decimal | None, Decimal],
) -> None:
    cfg, account, rules, price, stop, fee = case
    decision = size_entry(cfg, account, rules, price, stop, fee)
    if decision.amount is None:
        assert decision.reason
        return
    amount = decision.amount
    cost = amount * price
    assert amount > 0
    # the user's limits
    assert account.open_positions < cfg.max_open_positions
    assert not daily_loss_reached(cfg, account.realized_pnl_today)
    assert cost <= cfg.symbol_cap - account.symbol_exposure["BTC/USDT"]
    assert cost <= cfg.deposit - account.total_exposure
    fee_paid = (cost * fee).quantize(Decimal("1e-8"), rounding="ROUND_CEILING")
    assert cost + fee_paid <= account.free
    if cfg.fixed_fraction is None:
        assert stop is not None and stop < price
        assert (price - stop) * amount <= cfg.risk_amount
    else:
        assert cost * (1 + fee) <= account.free * cfg.fixed_fraction
    # the market's rules
    assert rules.violation(amount, price) is None
    if rules.amount_step is not None:
        assert amount % rules.amount_step == 0
    if rules.min_amount is not None:
        assert amount >= rules.min_amount
    if rules.max_amount is not None:
        assert amount <= rules.max_amount
    if rules.min_cost is not None:
        assert cost >= rules.min_cost


@settings(max_examples=300, deadline=None)
@given(money("10", "100000", 2), money("1", "5", 2), money("100", "60000", 2), money("0.5", "0.99", 2))
def test_risk_sizing_rounds_down_to_the_step(
    deposit: Decimal, risk: Decimal, price: Decimal, stop_frac: Decimal
) -> None:
    rules = MarketRules.from_ccxt(BINANCE_BTC)
    cfg = RiskSettings(deposit=deposit, risk_per_trade_pct=risk, max_symbol_share_pct=Decimal(100))
    account = AccountState(free=deposit)
    stop = (price * stop_frac).quantize(Decimal("0.01"))
    decision = size_entry(cfg, account, rules, price, stop, Decimal("0.001"))
    if decision.amount is None:
        return
    raw = cfg.risk_amount / (price - stop)
    # rounded down: less than one step below the uncapped size (when the risk amount bound it)
    if decision.limited_by == "risk per trade":
        assert raw - Decimal("0.00001") < decision.amount <= raw


def test_ccxt_market_dict_in_tick_size_and_decimal_places_modes() -> None:
    rules = MarketRules.from_ccxt(BINANCE_BTC)
    assert rules.amount_step == Decimal("0.00001")
    assert rules.price_tick == Decimal("0.01")
    assert rules.min_amount == Decimal("0.00001")
    assert rules.min_cost == Decimal("5.0")
    assert rules.max_amount == Decimal("9000.0")
    places = MarketRules.from_ccxt(
        {"symbol": "X/USDT", "precision": {"amount": 3, "price": 2}}, DECIMAL_PLACES
    )
    assert places.amount_step == Decimal("0.001")
    assert places.floor_amount(Decimal("1.23456")) == Decimal("1.234")


def test_refused_orders_name_their_reason() -> None:
    rules = MarketRules.from_ccxt(BINANCE_BTC)
    cfg = RiskSettings(deposit=Decimal(100), risk_per_trade_pct=Decimal(1), max_symbol_share_pct=Decimal(100))
    # 1 USDT of risk with a 10 USDT stop distance on a 60k coin: 0.1 coin, but only 100 USDT to spend
    # -> 0.00166 BTC = 99.9 USDT; fine. With a 3 USDT deposit the order value falls under min notional.
    small = RiskSettings(deposit=Decimal(3), max_symbol_share_pct=Decimal(100))
    d = size_entry(small, AccountState(free=Decimal(3)), rules, Decimal(60000), Decimal(59000))
    assert d.amount is None and "below the market minimum 5" in (d.reason or "")
    full = size_entry(
        cfg, AccountState(free=Decimal(100), open_positions=5), rules, Decimal(60000), Decimal(59000)
    )
    assert full.amount is None and "open positions" in (full.reason or "")
    nostop = size_entry(cfg, AccountState(free=Decimal(100)), rules, Decimal(60000), None)
    assert nostop.amount is None and "stop" in (nostop.reason or "")
    zero = size_entry(
        RiskSettings(deposit=Decimal(0)), AccountState(free=Decimal(100)), rules, Decimal(1), Decimal("0.5")
    )
    assert zero.amount is None and zero.reason == "no deposit set"


def test_daily_loss_limit_blocks_entries_and_is_reported_once_per_utc_day() -> None:
    from datetime import UTC, date, datetime

    rules = MarketRules.from_ccxt(BINANCE_BTC)
    cfg = RiskSettings(deposit=Decimal(1000), daily_loss_limit_pct=Decimal(5))
    ok = size_entry(
        cfg,
        AccountState(free=Decimal(1000), realized_pnl_today=Decimal("-49.99")),
        rules,
        Decimal(100),
        Decimal(95),
    )
    assert ok.amount is not None and not ok.daily_limit_hit
    hit = size_entry(
        cfg,
        AccountState(free=Decimal(1000), realized_pnl_today=Decimal(-50)),
        rules,
        Decimal(100),
        Decimal(95),
    )
    assert hit.amount is None and hit.daily_limit_hit
    now = datetime(2026, 1, 2, 23, 59, tzinfo=UTC)
    assert should_notify_daily_limit(None, now)
    assert not should_notify_daily_limit(date(2026, 1, 2), now)
    assert should_notify_daily_limit(date(2026, 1, 2), datetime(2026, 1, 3, 0, 0, tzinfo=UTC))


def test_atr_stop_falls_back_while_the_atr_warms_up() -> None:
    assert atr_stop(Decimal(100), 2.5, Decimal(2), Decimal(3)) == Decimal("95.0")
    assert atr_stop(Decimal(100), float("nan"), Decimal(2), Decimal(3)) == Decimal(97)
    assert atr_stop(Decimal(100), None, Decimal(2), None) is None
    assert atr_stop(Decimal("100.00"), 1.234, Decimal(2), None, tick=Decimal("0.1")) == Decimal("97.5")
