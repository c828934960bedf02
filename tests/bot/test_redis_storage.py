"""With REDIS_URL set the FSM lives in the real Redis, and key onboarding still keeps plaintext out of it."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis
from aiogram.fsm.storage.redis import RedisStorage
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.vault import KeyVault
from tests.bot.conftest import running_bot
from tests.bot.test_keys import API_KEY, SECRET, start_onboarding
from tests.fixtures.exchange import ExchangeServer
from tests.fixtures.telegram import TelegramServerHandle

pytestmark = [pytest.mark.redis, pytest.mark.telegram_limits(off=True)]


async def test_fsm_in_redis_holds_only_sealed_values(
    telegram_server: TelegramServerHandle,
    exchange_server: ExchangeServer,
    sessionmaker: async_sessionmaker[AsyncSession],
    vault: KeyVault,
    redis_url: str,
) -> None:
    await exchange_server.create_account(API_KEY, SECRET, {"USDT": "10"})
    async with running_bot(telegram_server, exchange_server, sessionmaker, vault, redis_url=redis_url) as h:
        assert isinstance(h.dp.storage, RedisStorage)
        chat = h.chat(7001)
        await start_onboarding(chat)
        assert "Now send the API secret" in await chat.reply(API_KEY)
        client = aioredis.from_url(redis_url)
        try:
            keys = [k async for k in client.scan_iter("fsm:*")]
            values = [await client.get(k) for k in keys]
            ttls = [await client.ttl(k) for k in keys]
        finally:
            await client.aclose()
        dump = b"".join(v if isinstance(v, bytes) else v.encode() for v in values if v)
        assert b"KeysForm:secret" in dump and b"binance" in dump
        assert API_KEY.encode() not in dump
        assert keys and all(0 < ttl <= 3600 for ttl in ttls)  # abandoned input expires
        replies = await chat.send(SECRET, count=2)
        assert "Saved your Binance keys" in replies[-1]["text"]
