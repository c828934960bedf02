from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.models import Mode, OutboxMessage, Position, PositionStatus, User
from core.services.daily_summary import queue_daily_summaries

DAY = date(2026, 11, 24)


def _position(user_id: int, pnl: str, closed_at: datetime | None) -> Position:
    return Position(
        user_id=user_id,
        mode=Mode.paper,
        exchange="binance",
        symbol="BTC/USDT",
        status=PositionStatus.closed if closed_at else PositionStatus.open,
        amount=Decimal(0) if closed_at else Decimal("0.1"),
        initial_amount=Decimal("0.1"),
        entry_price=Decimal(100),
        realized_pnl=Decimal(pnl),
        closed_at=closed_at,
    )


async def test_summary_per_trading_user_once(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    noon = datetime(2026, 11, 24, 12, tzinfo=UTC)
    async with sessionmaker() as s, s.begin():
        trader = User(telegram_id=1, trading_enabled=True, language="en")
        holder = User(telegram_id=2, trading_enabled=False, language="ru")
        idle = User(telegram_id=3, trading_enabled=False)
        blocked = User(telegram_id=4, trading_enabled=True, is_active=False)
        s.add_all([trader, holder, idle, blocked])
        await s.flush()
        s.add_all(
            [
                _position(trader.id, "12.345", noon),
                _position(trader.id, "-2.005", noon + timedelta(hours=11, minutes=59)),
                _position(trader.id, "100", noon + timedelta(days=1)),  # the next day: not counted
                _position(trader.id, "0", None),
                _position(holder.id, "0", None),
                _position(holder.id, "0", None),
            ]
        )
    assert await queue_daily_summaries(sessionmaker, DAY, "USDT") == 2
    assert await queue_daily_summaries(sessionmaker, DAY, "USDT") == 0  # rerun: nothing twice
    async with sessionmaker() as s:
        rows = {m.chat_id: m for m in await s.scalars(select(OutboxMessage))}
    assert set(rows) == {1, 2}
    assert rows[1].text == "Daily summary: realised P&L +10.34 USDT, 2 closed trades, 1 open positions."
    assert rows[1].dedupe_key == f"daily:{rows[1].user_id}:2026-11-24"
    assert "+0.00" in rows[2].text and "2" in rows[2].text and rows[2].text != rows[1].text  # Russian
