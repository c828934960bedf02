"""One user's decisions for one cycle (or one watch tick): a pure function of the snapshot and market.

Exits first (the exit state machine of core.exits on the shared price), then entries from the signal
book sized by core.risk. Nothing here touches the database or the exchange, so paper, live and the
bench plan the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from core.engine.ids import client_order_id, exit_signal_id
from core.engine.snapshot import OrderRow, PositionRow, UserRow
from core.exits import ExitPlan, PositionState, on_price
from core.risk import (
    ZERO,
    AccountState,
    MarketRules,
    RiskSettings,
    atr_stop,
    should_notify_daily_limit,
    size_entry,
)
from core.strategy.book import Signal, SignalBook


@dataclass(frozen=True)
class Policy:
    """How entries get their stop and how positions exit (the backtester's defaults)."""

    exits: ExitPlan = field(default_factory=ExitPlan)
    stop_atr_mult: Decimal = Decimal(2)
    stop_fallback_pct: Decimal = Decimal(2)
    fee_rate: Decimal = Decimal("0.001")


@dataclass(frozen=True)
class MarketView:
    """What one cycle (or tick) knows about the market, shared by every user."""

    now: datetime
    bucket_ms: int  # the candle the decision belongs to (exit ids)
    prices: Mapping[str, Decimal]
    rules: Mapping[str, MarketRules]
    atr: Mapping[str, float] = field(default_factory=dict)
    exit_symbols: frozenset[str] = frozenset()  # symbols with an exit signal this cycle


@dataclass(slots=True)
class Intent:
    user_id: int
    kind: str  # entry | exit
    symbol: str
    side: str  # buy | sell
    amount: Decimal
    ref_price: Decimal
    signal_id: str
    leg: str
    client_order_id: str
    position: PositionRow | None = None
    new_state: PositionState | None = None  # exits: the position after this action
    stop: Decimal | None = None  # entries
    reasons: tuple[str, ...] = ()
    closes: bool = False


@dataclass(slots=True)
class Plan:
    intents: list[Intent] = field(default_factory=list)
    state_updates: list[tuple[PositionRow, PositionState]] = field(default_factory=list)  # no order
    daily_limit_notice: bool = False
    skipped: dict[str, str] = field(default_factory=dict)  # symbol -> why no entry (or exit)
    # positions whose exit the market would refuse (dust): told once per position, see unsendable_key
    unsendable_exits: list[PositionRow] = field(default_factory=list)


def risk_settings(user: UserRow) -> RiskSettings:
    return RiskSettings(
        deposit=user.deposit or ZERO,
        risk_per_trade_pct=user.risk_per_trade_pct,
        max_open_positions=user.max_open_positions,
        max_symbol_share_pct=user.max_symbol_share_pct,
        daily_loss_limit_pct=user.daily_loss_limit_pct,
    )


def plan_exits(
    user: UserRow,
    positions: Sequence[PositionRow],
    in_flight: Sequence[OrderRow],
    market: MarketView,
    policy: Policy,
    plan: Plan,
) -> None:
    busy = {o.position_id for o in in_flight if o.position_id is not None}
    now_ms = int(market.now.timestamp() * 1000)
    for pos in positions:
        price = market.prices.get(pos.symbol)
        rules = market.rules.get(pos.symbol)
        if pos.id in busy or price is None or rules is None or pos.amount <= 0:
            continue
        state = PositionState.from_db(pos)
        new, actions = on_price(
            state, price, now_ms, policy.exits, rules, exit_signal=pos.symbol in market.exit_symbols
        )
        # on the step and within the market's minimums, or no order: an exit the exchange must refuse
        # (dust under the minimum value) would be re-sent, refused and told every tick
        amounts = [rules.floor_amount(a.amount) for a in actions]
        problem = next((p for a in amounts if (p := rules.violation(a, price)) is not None), None)
        if problem is not None:
            plan.skipped[pos.symbol] = f"exit not sent: {problem}"
            plan.unsendable_exits.append(pos)
            continue
        left = state.amount
        for action, amount in zip(actions, amounts, strict=True):
            sid = exit_signal_id(pos.id, market.bucket_ms, left)
            plan.intents.append(
                Intent(
                    user_id=user.id,
                    kind="exit",
                    symbol=pos.symbol,
                    side="sell",
                    amount=amount,
                    ref_price=price,
                    signal_id=sid,
                    leg=action.reason,
                    client_order_id=client_order_id(user.id, sid, action.reason),
                    position=pos,
                    new_state=new,
                    closes=action.closes,
                )
            )
            left -= action.amount
        if not actions and new is not None and new is not state:
            plan.state_updates.append((pos, new))


def unsendable_key(position_id: int) -> str:
    """The dedupe key of "this position's exit breaks the market's rules", shared with the live
    executor's refusals so the user hears it once per position, whichever found it first."""
    return f"rejected:pos{position_id}:market_rules"


def plan_entries(
    user: UserRow,
    book: SignalBook,
    positions: Sequence[PositionRow],
    in_flight: Sequence[OrderRow],
    free: Decimal,
    realized_today: Decimal,
    market: MarketView,
    policy: Policy,
    plan: Plan,
) -> None:
    if not user.may_enter:
        return
    entries: list[Signal] = book.entries()
    if not entries:
        return
    settings = risk_settings(user)
    held = {p.symbol for p in positions} | {o.symbol for o in in_flight if o.leg == "entry"}
    exposure: dict[str, Decimal] = {}
    for p in positions:
        exposure[p.symbol] = exposure.get(p.symbol, ZERO) + p.amount * p.entry_price
    total = sum(exposure.values(), ZERO)
    n_open = len(held)
    for sig in sorted(entries, key=lambda s: (-s.strength, s.symbol)):
        if sig.symbol in held:
            continue
        price = market.prices.get(sig.symbol)
        rules = market.rules.get(sig.symbol)
        if price is None or rules is None:
            plan.skipped[sig.symbol] = "no price or market rules"
            continue
        stop = atr_stop(
            price,
            market.atr.get(sig.symbol),
            policy.stop_atr_mult,
            policy.stop_fallback_pct,
            rules.price_tick,
        )
        account = AccountState(
            free=free,
            open_positions=n_open,
            symbol_exposure=exposure,
            total_exposure=total,
            realized_pnl_today=realized_today,
        )
        decision = size_entry(settings, account, rules, price, stop, policy.fee_rate)
        if decision.daily_limit_hit:
            plan.daily_limit_notice = should_notify_daily_limit(user.daily_loss_notified_on, market.now)
            return
        if decision.amount is None:
            plan.skipped[sig.symbol] = decision.reason or "refused"
            if n_open >= settings.max_open_positions:
                return
            continue
        amount = decision.amount
        plan.intents.append(
            Intent(
                user_id=user.id,
                kind="entry",
                symbol=sig.symbol,
                side="buy",
                amount=amount,
                ref_price=price,
                signal_id=sig.signal_id,
                leg="entry",
                client_order_id=client_order_id(user.id, sig.signal_id, "entry"),
                stop=stop,
                reasons=sig.reasons,
            )
        )
        cost = amount * price
        free -= cost * (1 + policy.fee_rate)
        exposure[sig.symbol] = exposure.get(sig.symbol, ZERO) + cost
        total += cost
        n_open += 1
        held.add(sig.symbol)


def plan_user(
    user: UserRow,
    book: SignalBook | None,
    positions: Sequence[PositionRow],
    in_flight: Sequence[OrderRow],
    free: Decimal | None,
    realized_today: Decimal,
    market: MarketView,
    policy: Policy,
) -> Plan:
    """Exits for every open position, then (when trading is on and `free` is known) new entries."""
    plan = Plan()
    plan_exits(user, positions, in_flight, market, policy, plan)
    if book is not None and free is not None:
        # a position closing this cycle still counts: its symbol is re-entered on a later signal only
        plan_entries(user, book, positions, in_flight, free, realized_today, market, policy, plan)
    return plan
