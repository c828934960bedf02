"""What a fill does to a position, as plain column values (no I/O): shared by paper and live.

An entry fill opens a position with its stop and target ladder (core.exits.open_position); an exit
fill shrinks or closes one and realises P&L = (price - entry) * amount - fee, the rule the manual
closer (core.services.positions) uses too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from core.db.models import Mode, PositionStatus
from core.engine.planner import Policy
from core.engine.snapshot import PositionRow
from core.exits import PositionState, open_position
from core.risk import ZERO, MarketRules, atr_stop


@dataclass(frozen=True, slots=True)
class Execution:
    """A (possibly partial) execution of one order, as the exchange or the paper fill model reports it."""

    filled: Decimal
    average: Decimal
    cost: Decimal
    fee: Decimal
    fee_currency: str | None
    trades: tuple[tuple[str, Decimal, Decimal, Decimal, int], ...] = ()  # (trade id, price, amount, fee, ms)


def entry_position(
    *,
    user_id: int,
    mode: Mode,
    exchange: str,
    symbol: str,
    execution: Execution,
    stop: Decimal | None,
    rules: MarketRules | None,
    policy: Policy,
    signal_id: str | None,
    strategy: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Column values of the position an entry fill opens."""
    base = symbol.split("/")[0]
    amount = execution.filled
    if execution.fee_currency == base:  # the exchange took its fee from what was bought
        amount -= execution.fee
    price = execution.average
    tick = rules.price_tick if rules else None
    if stop is None or stop >= price:  # recovered orders, or a fill above the planned stop's room
        stop = atr_stop(price, None, policy.stop_atr_mult, policy.stop_fallback_pct, tick)
    state = open_position(symbol, amount, price, stop, int(now.timestamp() * 1000), policy.exits, tick)
    values = state.to_db()
    values.update(
        user_id=user_id,
        mode=mode,
        exchange=exchange,
        status=PositionStatus.open,
        realized_pnl=ZERO,
        fees=execution.fee if execution.fee_currency != base else execution.fee * price,
        strategy=strategy,
        signal_id=signal_id,
    )
    return values


@dataclass(frozen=True, slots=True)
class ExitEffect:
    values: dict[str, Any]  # Position column updates (with "id")
    pnl: Decimal
    closed: bool
    left: Decimal


def exit_effect(
    pos: PositionRow,
    new_state: PositionState | None,
    execution: Execution,
    reason: str,
    now: datetime,
) -> ExitEffect:
    """The position after an exit fill of `execution.filled` at `execution.average`."""
    sold = execution.filled
    fee_quote = (
        execution.fee
        if execution.fee_currency != pos.symbol.split("/")[0]
        else execution.fee * execution.average
    )
    pnl = (execution.average - pos.entry_price) * sold - fee_quote
    left = pos.amount - sold
    values: dict[str, Any] = {
        "id": pos.id,
        "amount": left if left > 0 and new_state is not None else ZERO,
        "realized_pnl": pos.realized_pnl + pnl,
        "fees": pos.fees + fee_quote,
    }
    # the plan closed it: dust the exchange could not sell stays off the books
    closed = left <= 0 or new_state is None
    if new_state is not None and left > 0:
        values.update(
            stop_price=new_state.stop_price,
            targets=[
                {"price": str(t.price), "fraction": str(t.fraction), "done": t.done}
                for t in new_state.targets
            ],
            trail_active=new_state.trail_active,
            high_water=new_state.high_water,
        )
    if closed:
        values.update(
            status=PositionStatus.closed,
            exit_reason=reason[:32],
            exit_price=execution.average,
            closed_at=now,
        )
    return ExitEffect(values, pnl, closed, left)


def state_values(pos_id: int, state: PositionState) -> dict[str, Any]:
    """Updates for a position whose stop/trail moved without an order."""
    return {
        "id": pos_id,
        "stop_price": state.stop_price,
        "targets": [
            {"price": str(t.price), "fraction": str(t.fraction), "done": t.done} for t in state.targets
        ],
        "trail_active": state.trail_active,
        "high_water": state.high_water,
    }


def ms_to_dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
