"""The outbox sender over the sandbox's real Telegram limits: 429s honoured, blocked users marked,
and every message delivered exactly once across a stop and restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.notifier import OutboxSender
from bot.pacing import Pacer
from core.db.models import OutboxMessage, OutboxStatus, User
from core.services.outbox import enqueue
from core.services.users import register
from tests.bot.conftest import make_settings
from tests.fixtures.telegram import TelegramServerHandle, make_bot

CHATS = (6001, 6002, 6003)


@pytest.fixture
async def tg_bot(telegram_server: TelegramServerHandle) -> AsyncIterator[Bot]:
    bot = make_bot(telegram_server)
    yield bot
    await bot.session.close()


async def seed(
    tg: TelegramServerHandle, sessionmaker: async_sessionmaker[AsyncSession], per_chat: int
) -> None:
    settings = make_settings(None)
    for chat in CHATS:  # Telegram only lets a bot write to users who wrote to it first
        await tg.send_text(chat, "/start")
    async with sessionmaker() as session:
        users = [(await register(session, settings, chat, None, "en"))[0] for chat in CHATS]
        for i in range(per_chat):
            for user in users:
                await enqueue(
                    session,
                    user_id=user.id,
                    chat_id=user.telegram_id,
                    kind="test",
                    text=f"note {user.telegram_id}-{i}",
                    dedupe_key=f"{user.telegram_id}-{i}",
                )
        await session.commit()


async def count(sessionmaker: async_sessionmaker[AsyncSession], status: OutboxStatus) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).where(OutboxMessage.status == status)) or 0)


async def wait_for(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.05)


async def delivered(tg: TelegramServerHandle, chat: int) -> list[str]:
    return [m["text"] for m in await tg.messages(chat)]


async def test_stop_mid_way_and_restart_delivers_each_message_exactly_once(
    telegram_server: TelegramServerHandle, tg_bot: Bot, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    per_chat = 5
    await seed(telegram_server, sessionmaker, per_chat)
    first = OutboxSender(tg_bot, sessionmaker, Pacer(per_second=25, per_chat_interval=1.0), idle_seconds=0.1)
    first.start()
    await telegram_server.wait_messages(CHATS[0], timeout=10, count=2)  # the sandbox's long poll
    await first.stop()
    sent_before = await count(sessionmaker, OutboxStatus.sent)
    assert 2 <= sent_before < per_chat * len(CHATS)  # really stopped part-way

    second = OutboxSender(tg_bot, sessionmaker, Pacer(per_second=25, per_chat_interval=1.0), idle_seconds=0.1)
    second.start()
    for chat in CHATS:
        await telegram_server.wait_messages(chat, timeout=20, count=per_chat)
    await wait_for(lambda: _all_sent(sessionmaker, per_chat * len(CHATS)))  # the last commit lands
    await second.stop()
    for chat in CHATS:
        assert await delivered(telegram_server, chat) == [f"note {chat}-{i}" for i in range(per_chat)]
    assert (await telegram_server.stats())["too_many_requests"] == 0  # the pacer kept within the limits


async def _all_sent(sessionmaker: async_sessionmaker[AsyncSession], n: int) -> bool:
    return await count(sessionmaker, OutboxStatus.sent) == n


async def test_429_retry_after_is_honoured_without_loss_or_duplicates(
    telegram_server: TelegramServerHandle, tg_bot: Bot, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    per_chat = 6
    await seed(telegram_server, sessionmaker, per_chat)
    # a careless pacer (no per-chat spacing) makes the sandbox answer 429 with retry_after
    sender = OutboxSender(tg_bot, sessionmaker, Pacer(per_second=1000, per_chat_interval=0), idle_seconds=0.1)
    sender.start()
    for chat in CHATS:
        await telegram_server.wait_messages(chat, timeout=30, count=per_chat)
    await wait_for(lambda: _all_sent(sessionmaker, per_chat * len(CHATS)))
    await sender.stop()
    stats = await telegram_server.stats()
    assert stats["too_many_requests"] > 0 and sender.retried > 0
    for chat in CHATS:
        assert await delivered(telegram_server, chat) == [f"note {chat}-{i}" for i in range(per_chat)]
    async with sessionmaker() as session:
        attempts = set(await session.scalars(select(OutboxMessage.attempts)))
    assert attempts == {1}  # a 429 is not a failed attempt


@pytest.mark.telegram_limits(off=True)
async def test_blocked_user_is_marked_inactive_and_others_still_get_theirs(
    telegram_server: TelegramServerHandle, tg_bot: Bot, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await seed(telegram_server, sessionmaker, 2)
    await telegram_server.block(CHATS[0])
    sender = OutboxSender(tg_bot, sessionmaker, Pacer(per_second=100, per_chat_interval=0))
    async with asyncio.timeout(20):
        await sender.run_until_empty()
    assert await count(sessionmaker, OutboxStatus.blocked) == 2
    assert await count(sessionmaker, OutboxStatus.sent) == 4
    async with sessionmaker() as session:
        active = dict((await session.execute(select(User.telegram_id, User.is_active))).all())
    assert active == {CHATS[0]: False, CHATS[1]: True, CHATS[2]: True}
    assert await delivered(telegram_server, CHATS[1]) == [f"note {CHATS[1]}-0", f"note {CHATS[1]}-1"]


async def test_transient_errors_back_off_then_give_up(
    sessionmaker: async_sessionmaker[AsyncSession], unused_tcp_port: int
) -> None:
    """Nothing listens on the port: every send is a real connection error (TelegramNetworkError)."""
    settings = make_settings(None)
    async with sessionmaker() as session:
        user, _ = await register(session, settings, 6100, None, "en")
        await enqueue(session, user_id=user.id, chat_id=6100, kind="test", text="x")
        await session.commit()
    dead = Bot(
        "123:dead",
        session=AiohttpSession(api=TelegramAPIServer.from_base(f"http://127.0.0.1:{unused_tcp_port}")),
    )
    sender = OutboxSender(
        dead, sessionmaker, Pacer(per_second=100, per_chat_interval=0), max_attempts=3, backoff_base=0.05
    )
    try:
        async with asyncio.timeout(20):
            while await count(sessionmaker, OutboxStatus.failed) == 0:
                await sender.run_until_empty()
                await asyncio.sleep(0.05)
    finally:
        await dead.session.close()
    async with sessionmaker() as session:
        row = await session.scalar(select(OutboxMessage))
    assert row is not None and row.attempts == 3 and row.last_error == "gave up: TelegramNetworkError"
    assert sender.retried == 3


@pytest.mark.telegram_limits(off=True)
async def test_photos_are_sent_and_a_missing_photo_still_delivers_the_text(
    telegram_server: TelegramServerHandle,
    tg_bot: Bot,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from bot.charts import equity_png

    png = tmp_path / "equity.png"
    now = datetime.now(UTC)
    png.write_bytes(equity_png([(now - timedelta(hours=1), Decimal(1)), (now, Decimal(2))], "t", "USDT"))
    await telegram_server.send_text(CHATS[0], "/start")
    async with sessionmaker() as session:
        user, _ = await register(session, make_settings(None), CHATS[0], None, "en")
        await enqueue(
            session,
            user_id=user.id,
            chat_id=CHATS[0],
            kind="summary",
            text="gone",
            photo_path=str(tmp_path / "missing.png"),
        )
        await enqueue(
            session,
            user_id=user.id,
            chat_id=CHATS[0],
            kind="summary",
            text="daily chart",
            photo_path=str(png),
        )
        await session.commit()
    sender = OutboxSender(tg_bot, sessionmaker, Pacer(per_second=100, per_chat_interval=0))
    async with asyncio.timeout(20):
        await sender.run_until_empty()
    shown = await telegram_server.messages(CHATS[0])
    assert [m["text"] for m in shown] == ["gone", "daily chart"]
    assert shown[0]["photo"] is None and shown[1]["photo"] is not None
    assert await telegram_server.file_bytes(shown[1]["photo"]["file_id"]) == png.read_bytes()
    assert await count(sessionmaker, OutboxStatus.sent) == 2
