"""Who an admin broadcast goes to, and recording who blocked the bot."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import User


async def broadcast_recipients(session: AsyncSession) -> list[tuple[int, int]]:
    """(user id, telegram id) of every active user, oldest first."""
    rows = await session.execute(
        select(User.id, User.telegram_id).where(User.is_active.is_(True)).order_by(User.id)
    )
    return [(uid, tid) for uid, tid in rows.all()]


async def mark_inactive(session: AsyncSession, user_id: int) -> None:
    await session.execute(update(User).where(User.id == user_id).values(is_active=False))


@dataclass
class DeliveryReport:
    sent: int = 0
    blocked: int = 0
    failed: int = 0
