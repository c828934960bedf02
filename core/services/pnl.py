"""Realised and unrealised P&L over a period, and the equity curve for the chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import EquitySnapshot, Position, PositionStatus
from core.db.types import utcnow
from core.services.parsing import Period
from core.services.positions import position_views
from core.services.prices import PriceSource


def period_start(period: Period, now: datetime | None = None) -> datetime | None:
    now = now or utcnow()
    if period == Period.day:
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == Period.week:
        return now - timedelta(days=7)
    if period == Period.month:
        return now - timedelta(days=30)
    return None


@dataclass(frozen=True)
class PnlSummary:
    period: Period
    realized: Decimal
    unrealized: Decimal
    closed_trades: int
    unpriced: int  # open positions without a current price (left out of `unrealized`)
    equity: list[tuple[datetime, Decimal]]


async def realized_since(session: AsyncSession, user_id: int, since: datetime | None) -> tuple[Decimal, int]:
    query = select(Position.realized_pnl).where(
        Position.user_id == user_id, Position.status == PositionStatus.closed
    )
    if since is not None:
        query = query.where(Position.closed_at >= since)
    values = list(await session.scalars(query))
    return sum(values, Decimal(0)), len(values)


async def equity_curve(
    session: AsyncSession,
    user_id: int,
    since: datetime | None,
    *,
    base: Decimal = Decimal(0),
    unrealized: Decimal = Decimal(0),
    limit: int = 2000,
) -> list[tuple[datetime, Decimal]]:
    """Stored equity snapshots when there are any; otherwise the curve the closed trades draw:
    `base` plus the running realised P&L at each exit, and today's unrealised P&L at the end."""
    query = select(EquitySnapshot.ts, EquitySnapshot.equity).where(EquitySnapshot.user_id == user_id)
    if since is not None:
        query = query.where(EquitySnapshot.ts >= since)
    rows = (await session.execute(query.order_by(EquitySnapshot.ts.desc()).limit(limit))).all()
    if len(rows) >= 2:
        return [(ts, eq) for ts, eq in reversed(rows)]
    closes = (
        await session.execute(
            select(Position.closed_at, Position.realized_pnl)
            .where(Position.user_id == user_id, Position.status == PositionStatus.closed)
            .order_by(Position.closed_at)
        )
    ).all()
    running, points = base, []
    for closed_at, pnl in closes:
        running += pnl
        if closed_at is not None and (since is None or closed_at >= since):
            points.append((closed_at, running))
    if points:
        points.append((max(utcnow(), points[-1][0]), running + unrealized))
    return points[-limit:]


async def pnl_summary(
    session: AsyncSession, user_id: int, period: Period, prices: PriceSource, base: Decimal = Decimal(0)
) -> PnlSummary:
    since = period_start(period)
    realized, trades = await realized_since(session, user_id, since)
    unrealized, unpriced = Decimal(0), 0
    for view in await position_views(session, user_id, prices):
        if view.unrealized is None:
            unpriced += 1
        else:
            unrealized += view.unrealized
    curve = await equity_curve(session, user_id, since, base=base, unrealized=unrealized)
    return PnlSummary(period, realized, unrealized, trades, unpriced, curve)


async def snapshot_count(session: AsyncSession, user_id: int) -> int:
    return int(
        await session.scalar(select(func.count(EquitySnapshot.id)).where(EquitySnapshot.user_id == user_id))
        or 0
    )
