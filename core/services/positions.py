"""Open positions for /positions, and closing one by hand.

Closing is behind `PositionCloser`: the trading engine implements it for live accounts; the paper
closer here fills with the shared FillModel at the last known price.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol
from uuid import uuid4

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Fill, Mode, Order, OrderStatus, PaperBalance, Position, PositionStatus, User
from core.db.types import utcnow
from core.fills import FillModel
from core.services.errors import UserError
from core.services.l10n import N_
from core.services.prices import PriceSource


@dataclass(frozen=True)
class PositionView:
    position: Position
    price: Decimal | None

    @property
    def unrealized(self) -> Decimal | None:
        if self.price is None:
            return None
        return unrealized_pnl(self.position, self.price)


def unrealized_pnl(position: Position, price: Decimal) -> Decimal:
    sign = 1 if position.side == "long" else -1
    return (price - position.entry_price) * position.amount * sign


async def open_positions(session: AsyncSession, user_id: int) -> list[Position]:
    rows = await session.scalars(
        select(Position)
        .where(Position.user_id == user_id, Position.status == PositionStatus.open)
        .order_by(Position.opened_at, Position.id)
    )
    return list(rows)


async def position_views(session: AsyncSession, user_id: int, prices: PriceSource) -> list[PositionView]:
    return [
        PositionView(p, await prices.last_price(p.symbol)) for p in await open_positions(session, user_id)
    ]


async def owned_open_position(session: AsyncSession, user_id: int, position_id: int) -> Position:
    """The position only if it is this user's and still open; otherwise one neutral refusal."""
    position = await session.scalar(
        select(Position).where(
            Position.id == position_id, Position.user_id == user_id, Position.status == PositionStatus.open
        )
    )
    if position is None:
        raise UserError(N_("This position was not found or is already closed."))
    return position


@dataclass(frozen=True)
class CloseResult:
    symbol: str
    price: Decimal
    amount: Decimal
    pnl: Decimal


class PositionCloser(Protocol):
    async def close(self, session: AsyncSession, user: User, position: Position) -> CloseResult:
        """Close the whole open position at market, in the caller's transaction. Raise UserError to refuse."""
        ...


class PaperPositionCloser:
    """Paper accounts: a market sell through FillModel at the last price; live positions are refused
    until the engine injects its closer."""

    def __init__(self, prices: PriceSource, fill_model: FillModel | None = None, quote: str = "USDT") -> None:
        self._prices = prices
        self._fills = fill_model or FillModel()
        self._quote = quote

    async def close(self, session: AsyncSession, user: User, position: Position) -> CloseResult:
        if position.mode != Mode.paper:
            raise UserError(N_("Closing live positions by hand is not available yet."))
        if position.side != "long":
            raise UserError(N_("Only long positions can be closed here."))
        price = await self._prices.last_price(position.symbol)
        if price is None:
            raise UserError(
                N_("No price for {symbol} right now. Please try again later."), symbol=position.symbol
            )
        fill = self._fills.market("sell", position.amount, price)
        proceeds = fill.cost - fill.fee
        pnl = (fill.price - position.entry_price) * fill.amount - fill.fee
        order = Order(
            user_id=user.id,
            position_id=position.id,
            mode=Mode.paper,
            exchange=position.exchange,
            client_order_id=str(uuid4()),
            symbol=position.symbol,
            side="sell",
            leg="manual",
            signal_id=position.signal_id,
            amount=fill.amount,
            status=OrderStatus.closed,
            filled=fill.amount,
            average=fill.price,
            cost=fill.cost,
            fee=fill.fee,
            fee_currency=self._quote,
        )
        session.add(order)
        await session.flush()
        session.add(
            Fill(
                user_id=user.id,
                order_id=order.id,
                trade_id=f"paper-{order.id}",
                symbol=position.symbol,
                side="sell",
                price=fill.price,
                amount=fill.amount,
                fee=fill.fee,
                fee_currency=self._quote,
            )
        )
        base = position.symbol.split("/")[0]
        await _credit(session, user.id, self._quote, proceeds)
        await _credit(session, user.id, base, -fill.amount)
        position.realized_pnl = position.realized_pnl + pnl
        position.fees = position.fees + fill.fee
        position.amount = Decimal(0)
        position.status = PositionStatus.closed
        position.exit_reason = "manual"
        position.exit_price = fill.price
        position.closed_at = utcnow()
        return CloseResult(position.symbol, fill.price, fill.amount, pnl)


async def _credit(session: AsyncSession, user_id: int, currency: str, delta: Decimal) -> None:
    row = await session.scalar(
        select(PaperBalance).where(PaperBalance.user_id == user_id, PaperBalance.currency == currency)
    )
    if row is None:
        if delta <= 0:
            return  # the paper account never held it; nothing to take back
        row = PaperBalance(user_id=user_id, currency=currency, free=Decimal(0), used=Decimal(0))
        session.add(row)
    row.free = max(Decimal(0), row.free + delta)
