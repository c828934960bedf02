"""Admin-side services: the signal blacklist and system statistics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import AuditLog, BlacklistEntry, CycleRun, ModelVersion, Order, OrderStatus
from core.db.types import utcnow
from core.services.errors import UserError
from core.services.l10n import N_


async def active_blacklist(session: AsyncSession) -> list[BlacklistEntry]:
    now = utcnow()
    rows = await session.scalars(
        select(BlacklistEntry)
        .where(or_(BlacklistEntry.expires_at.is_(None), BlacklistEntry.expires_at > now))
        .order_by(BlacklistEntry.symbol)
    )
    return list(rows)


async def blacklist_add(
    session: AsyncSession, symbol: str, reason: str | None, ttl: timedelta | None, actor: int
) -> BlacklistEntry:
    """Add or refresh an entry (re-adding a symbol replaces its reason and expiry)."""
    entry = await session.scalar(select(BlacklistEntry).where(BlacklistEntry.symbol == symbol))
    if entry is None:
        entry = BlacklistEntry(symbol=symbol)
        session.add(entry)
    entry.reason = reason
    entry.expires_at = utcnow() + ttl if ttl is not None else None
    entry.created_by = actor
    session.add(AuditLog(actor=actor, action="blacklist_add", details={"symbol": symbol, "reason": reason}))
    await session.flush()
    return entry


async def blacklist_remove(session: AsyncSession, symbol: str, actor: int) -> None:
    result = await session.execute(delete(BlacklistEntry).where(BlacklistEntry.symbol == symbol))
    if not getattr(result, "rowcount", 0):
        raise UserError(N_("{symbol} is not on the blacklist."), symbol=symbol)
    session.add(AuditLog(actor=actor, action="blacklist_remove", details={"symbol": symbol}))


@dataclass(frozen=True)
class SystemStats:
    last_cycle: CycleRun | None
    cycles_today: int
    avg_cycle_seconds: float | None
    orders_today: int
    rejected_today: int
    cycle_errors_today: int
    model_version: str | None
    stage_seconds: dict[str, Any]


async def system_stats(session: AsyncSession) -> SystemStats:
    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    last = await session.scalar(select(CycleRun).order_by(CycleRun.started_at.desc()).limit(1))
    today = list(await session.scalars(select(CycleRun).where(CycleRun.started_at >= midnight)))
    durations = [(c.finished_at - c.started_at).total_seconds() for c in today if c.finished_at is not None]
    orders = int(await session.scalar(select(func.count(Order.id)).where(Order.created_at >= midnight)) or 0)
    rejected = int(
        await session.scalar(
            select(func.count(Order.id)).where(
                Order.created_at >= midnight, Order.status == OrderStatus.rejected
            )
        )
        or 0
    )
    model = await session.scalar(select(ModelVersion.version).where(ModelVersion.active.is_(True)).limit(1))
    return SystemStats(
        last_cycle=last,
        cycles_today=len(today),
        avg_cycle_seconds=sum(durations) / len(durations) if durations else None,
        orders_today=orders,
        rejected_today=rejected,
        cycle_errors_today=sum(c.errors for c in today),
        model_version=model,
        stage_seconds=dict(last.stage_seconds) if last is not None else {},
    )
