"""Rows the engine would write (positions, equity), made directly for the bot's read paths."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.models import EquitySnapshot, Mode, Position, PositionStatus, User
from core.db.types import utcnow


async def add_position(
    sessionmaker: async_sessionmaker[AsyncSession],
    user: User,
    symbol: str = "BTC/USDT",
    amount: str = "0.01",
    entry: str = "50000",
    mode: Mode = Mode.paper,
) -> int:
    async with sessionmaker() as session:
        position = Position(
            user_id=user.id,
            mode=mode,
            exchange="binance",
            symbol=symbol,
            amount=Decimal(amount),
            initial_amount=Decimal(amount),
            entry_price=Decimal(entry),
            stop_price=Decimal(entry) * Decimal("0.95"),
            targets=[{"price": str(Decimal(entry) * Decimal("1.05")), "fraction": "0.5", "done": False}],
            strategy="sma_cross",
        )
        session.add(position)
        await session.commit()
        return position.id


async def add_history(sessionmaker: async_sessionmaker[AsyncSession], user: User, points: int = 24) -> None:
    """An equity curve over the last day and one closed trade with +12.5 realised."""
    now = utcnow()
    async with sessionmaker() as session:
        for i in range(points):
            session.add(
                EquitySnapshot(
                    user_id=user.id,
                    ts=now - timedelta(hours=points - i),
                    equity=Decimal(10000) + Decimal(i) * Decimal("1.5"),
                )
            )
        session.add(
            Position(
                user_id=user.id,
                mode=Mode.paper,
                exchange="binance",
                symbol="ETH/USDT",
                amount=Decimal(0),
                initial_amount=Decimal(1),
                entry_price=Decimal(3000),
                status=PositionStatus.closed,
                realized_pnl=Decimal("12.5"),
                closed_at=now - timedelta(hours=1),
                opened_at=now - timedelta(hours=5),
            )
        )
        await session.commit()
