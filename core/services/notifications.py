"""Localised notification texts that core writes to the outbox (entry fills, exits, errors, summaries).

The trading engine calls `notify(session, user, kind, dedupe_key, **params)` in the event's transaction.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import User
from core.services.l10n import N_, translator
from core.services.outbox import enqueue

TEMPLATES: dict[str, str] = {
    "entry": N_("Bought {amount} {symbol} at {price}. Stop {stop}."),
    "partial": N_("Took profit on part of {symbol}: sold {amount} at {price}, P&L {pnl} {quote}."),
    "exit": N_("Closed {symbol} at {price} ({reason}). P&L {pnl} {quote}."),
    "order_error": N_("An order for {symbol} failed: {reason}."),
    "insufficient_funds": N_("Not enough funds for an order on {symbol}."),
    "market_rules": N_("An order on {symbol} broke the market's rules (minimum size or price step)."),
    "invalid_keys": N_(
        "Your {exchange} keys stopped working, so trading is paused. Add new ones with /keys."
    ),
    "daily_loss": N_("The daily loss limit was hit: no new entries until tomorrow (UTC)."),
    "cycle_error": N_("Trading for you was skipped this cycle: {reason}."),
    "reconciled": N_("After a restart your orders were checked with {exchange}: {details}."),
    "daily_summary": N_(
        "Daily summary: realised P&L {pnl} {quote}, {trades} closed trades, {open} open positions."
    ),
}


def render(kind: str, language: str, **params: object) -> str:
    template = TEMPLATES.get(kind)
    if template is None:
        raise KeyError(f"unknown notification kind {kind!r}")
    return translator(language)(template).format(**params)


async def notify(session: AsyncSession, user: User, kind: str, dedupe_key: str, **params: object) -> bool:
    return await enqueue(
        session,
        user_id=user.id,
        chat_id=user.telegram_id,
        kind=kind,
        text=render(kind, user.language, **params),
        dedupe_key=dedupe_key,
    )
