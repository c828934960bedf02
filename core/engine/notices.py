"""Outbox rows for what the engine tells a user: fills, exits, errors, repairs.

Texts come from core.services.notifications (localised) where a template exists; the engine's own
kinds (timeouts, reconciliation repairs) fall back to plain English until the catalog has them.
Every row carries a dedupe key, so a retried cycle never notifies twice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.services.notifications import render
from core.services.outbox import enqueue


def fmt(value: Decimal | None) -> str:
    if value is None:
        return "-"
    text = format(value.normalize(), "f")
    return text


def outbox_values(
    user_id: int, chat_id: int, language: str, kind: str, dedupe_key: str, **params: Any
) -> dict[str, Any]:
    """One outbox row's values for a bulk insert (see core.engine.paper)."""
    return {
        "user_id": user_id,
        "chat_id": chat_id,
        "kind": kind,
        "text": render(kind, language, **params)[:4096],
        "dedupe_key": dedupe_key[:128],
    }


async def notify(
    session: AsyncSession,
    *,
    user_id: int,
    chat_id: int,
    language: str,
    kind: str,
    dedupe_key: str,
    **params: Any,
) -> bool:
    """Queue one message in the caller's transaction (a no-op when the key was used before)."""
    return await enqueue(
        session,
        user_id=user_id,
        chat_id=chat_id,
        kind=kind,
        text=render(kind, language, **params),
        dedupe_key=dedupe_key[:128],
    )
