"""The notification outbox: core writes rows in the event's transaction; the bot's sender delivers them.

Writing: `enqueue` inside the caller's transaction; a `dedupe_key` makes writing the same event twice
a no-op (INSERT ... ON CONFLICT DO NOTHING), so a retried cycle never notifies twice.

Delivering: `due_messages` picks pending rows whose time has come, in id order, skipping a chat while
an earlier message of that chat is waiting for a retry (so one chat's messages never overtake each
other). Each status change is its own committed transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.db.models import OutboxMessage, OutboxStatus, User
from core.db.types import utcnow
from core.services.sql import insert_ignore

MAX_TEXT = 4096


async def enqueue(
    session: AsyncSession,
    *,
    user_id: int,
    chat_id: int,
    kind: str,
    text: str,
    dedupe_key: str | None = None,
    photo_path: str | None = None,
) -> bool:
    """Queue one notification in the caller's transaction; returns False when the key was already used."""
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 1] + "…"
    values = {
        "user_id": user_id,
        "chat_id": chat_id,
        "kind": kind[:32],
        "text": text,
        "photo_path": photo_path,
        "dedupe_key": dedupe_key,
        "status": OutboxStatus.pending,
        "attempts": 0,
        "next_attempt_at": utcnow(),
        "created_at": utcnow(),
    }
    if dedupe_key is None:
        session.add(OutboxMessage(**values))
        await session.flush()
        return True
    return await insert_ignore(session, OutboxMessage, values, ["dedupe_key"])


@dataclass(frozen=True)
class Outgoing:
    id: int
    user_id: int
    chat_id: int
    text: str
    photo_path: str | None
    attempts: int


async def due_messages(
    session: AsyncSession, limit: int = 200, now: datetime | None = None
) -> list[Outgoing]:
    now = now or utcnow()
    earlier = aliased(OutboxMessage)
    blocked_by_earlier = exists().where(
        and_(
            earlier.chat_id == OutboxMessage.chat_id,
            earlier.status == OutboxStatus.pending,
            earlier.id < OutboxMessage.id,
            earlier.next_attempt_at > now,
        )
    )
    rows = await session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.pending,
            OutboxMessage.next_attempt_at <= now,
            ~blocked_by_earlier,
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return [Outgoing(m.id, m.user_id, m.chat_id, m.text, m.photo_path, m.attempts) for m in rows]


async def next_due_at(session: AsyncSession) -> datetime | None:
    return await session.scalar(
        select(OutboxMessage.next_attempt_at)
        .where(OutboxMessage.status == OutboxStatus.pending)
        .order_by(OutboxMessage.next_attempt_at)
        .limit(1)
    )


async def mark_sent(session: AsyncSession, message_id: int) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.pending)
        .values(status=OutboxStatus.sent, sent_at=utcnow(), attempts=OutboxMessage.attempts + 1)
    )


async def mark_retry(
    session: AsyncSession, message_id: int, delay: timedelta, error: str, count_attempt: bool
) -> None:
    """Try again after `delay`; a 429 does not count as a failed attempt, a transient error does."""
    values: dict[str, object] = {"next_attempt_at": utcnow() + delay, "last_error": error[:255]}
    if count_attempt:
        values["attempts"] = OutboxMessage.attempts + 1
    await session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))


async def mark_failed(session: AsyncSession, message_id: int, error: str) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(status=OutboxStatus.failed, last_error=error[:255], attempts=OutboxMessage.attempts + 1)
    )


async def mark_blocked(session: AsyncSession, message_id: int, user_id: int) -> None:
    """The user blocked the bot: this message and every other pending one of theirs stop, and the user
    is inactive until they write again."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.user_id == user_id, OutboxMessage.status == OutboxStatus.pending)
        .values(status=OutboxStatus.blocked, last_error="blocked by the user")
    )
    await session.execute(update(User).where(User.id == user_id).values(is_active=False))
