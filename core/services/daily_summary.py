"""The daily summary each trading user gets after the UTC day ends: realised P&L, closed trades and
open positions. Idempotent per (user, day), so a rerun or a second process never sends it twice."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.models import Position, PositionStatus, User
from core.services.deposit import signed
from core.services.notifications import notify


async def queue_daily_summaries(sessionmaker: async_sessionmaker[AsyncSession], day: date, quote: str) -> int:
    """Queue the summary of `day` for every active user who trades, holds or closed a position that
    day. Returns how many were newly queued."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    end = start + timedelta(days=1)
    async with sessionmaker() as session, session.begin():
        # money is summed in Python: SQLite stores it as exact text, which SQL cannot add
        realized: dict[int, list[Decimal]] = defaultdict(list)
        closed = await session.execute(
            select(Position.user_id, Position.realized_pnl).where(
                Position.status == PositionStatus.closed,
                Position.closed_at >= start,
                Position.closed_at < end,
            )
        )
        for user_id, pnl in closed:
            realized[user_id].append(pnl)
        open_counts = dict(
            (
                await session.execute(
                    select(Position.user_id, func.count())
                    .where(Position.status == PositionStatus.open)
                    .group_by(Position.user_id)
                )
            ).all()
        )
        users = await session.scalars(
            select(User).where(
                User.is_active.is_(True),
                or_(
                    User.trading_enabled.is_(True),
                    User.exits_only.is_(True),
                    User.id.in_(set(realized) | set(open_counts)),
                ),
            )
        )
        queued = 0
        for user in users:
            pnls = realized.get(user.id, [])
            total = sum(pnls, Decimal(0))
            queued += await notify(
                session,
                user,
                "daily_summary",
                f"daily:{user.id}:{day.isoformat()}",
                pnl=signed(total),
                quote=quote,
                trades=len(pnls),
                open=open_counts.get(user.id, 0),
            )
        return queued
