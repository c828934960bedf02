"""bot.app.serve as run_bot.py calls it: commands set, polling answers, the outbox delivered, clean stop."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import serve
from core.services.notifications import notify
from core.services.users import get_user
from core.vault import KeyVault
from tests.bot.conftest import make_settings
from tests.fixtures.exchange import ExchangeServer
from tests.fixtures.telegram import TelegramServerHandle

pytestmark = pytest.mark.telegram_limits(off=True)


async def test_serve_end_to_end(
    telegram_server: TelegramServerHandle,
    exchange_server: ExchangeServer,
    sessionmaker: async_sessionmaker[AsyncSession],
    vault: KeyVault,
) -> None:
    settings = make_settings(
        exchange_server.url, telegram_api_url=telegram_server.url, telegram_bot_token=telegram_server.token
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, sessionmaker, vault, handle_signals=False, stop=stop))
    try:
        first = await telegram_server.send_text(9001, "/start", "ru")
        replies = await telegram_server.wait_messages(9001, after_id=first, timeout=10)
        assert "Добро пожаловать" in replies[0]["text"]
        assert {c["language_code"] for c in await telegram_server.commands()} >= {"en", "ru"}
        async with sessionmaker() as session:
            user = await get_user(session, 9001)
            assert user is not None
            await notify(session, user, "daily_loss", "daily-loss:9001:2026-11-25")
            await session.commit()
        note = await telegram_server.wait_messages(9001, after_id=replies[-1]["message_id"], timeout=10)
        assert note[0]["text"] == "Достигнут дневной лимит убытка: новых входов не будет до завтра (UTC)."
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
