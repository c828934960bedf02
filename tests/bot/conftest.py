"""The real Dispatcher polling the sandbox Telegram server, with real ccxt against the sandbox exchange.

`harness` gives a running bot; `Chat` plays one Telegram user and waits on the sandbox's long poll
(never sleeps) for the bot's replies.
"""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import build_deps, build_dispatcher, close_deps
from bot.deps import BotDeps
from bot.retry import prepare_bot
from core.config import Settings, load_settings
from core.db.models import User
from core.exchange.ccxt_factory import make_client
from core.vault import KeyVault
from tests.fixtures.exchange import ExchangeServer
from tests.fixtures.telegram import TelegramServerHandle, make_bot, polling

ADMIN_ID = 900_001
TIMEOUT = 10.0


def make_settings(exchange_url: str | None, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "admin_ids": [ADMIN_ID],
        "exchange_api_url": exchange_url,
        "redis_url": None,
        "default_mode": "paper",
        "quote_currency": "USDT",
    }
    values.update(extra)
    return load_settings(**values)


@dataclass
class Chat:
    """One Telegram user talking to the bot through the sandbox."""

    tg: TelegramServerHandle
    user_id: int
    language: str = "en"
    last_id: int = 0

    async def send(self, text: str, count: int = 1, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        """Send text and return the bot's replies after it, waiting until `count` have arrived."""
        mid = await self.tg.send_text(self.user_id, text, self.language)
        return await self._collect(mid, count, timeout)

    async def _collect(self, after: int, count: int, timeout: float) -> list[dict[str, Any]]:
        replies = await self.tg.wait_messages(self.user_id, after_id=after, timeout=timeout, count=count)
        if len(replies) < count:
            raise AssertionError(
                f"expected {count} replies after {after}, got {[r['text'] for r in replies]}"
            )
        self.last_id = max([after, *(r["message_id"] for r in replies)])
        return replies

    async def reply(self, text: str, timeout: float = TIMEOUT) -> str:
        replies = await self.send(text, 1, timeout)
        return str(replies[-1]["text"] or "")

    async def press(
        self,
        message: dict[str, Any],
        label: str | None = None,
        *,
        data: str | None = None,
        count: int = 1,
        forge: bool = False,
        timeout: float = TIMEOUT,
    ) -> list[dict[str, Any]]:
        """Press the button whose text contains `label` (or send `data` as is, with forge=True)."""
        if data is None:
            data = button_data(message, label or "")
        after = await self.newest()
        await self.tg.press(self.user_id, message["message_id"], data, forge=forge)
        return await self._collect(after, count, timeout)

    async def newest(self) -> int:
        messages = (await self.tg.chat(self.user_id))["messages"]
        return max([self.last_id, *(m["message_id"] for m in messages)])

    async def all_messages(self) -> list[dict[str, Any]]:
        return await self.tg.messages(self.user_id)


def button_data(message: dict[str, Any], label: str) -> str:
    for row in message.get("buttons") or []:
        for button in row:
            if label in button["text"]:
                return str(button["callback_data"])
    labels = [b["text"] for row in message.get("buttons") or [] for b in row]
    raise AssertionError(f"no button with {label!r} in {labels}")


@dataclass
class Harness:
    tg: TelegramServerHandle
    exchange: ExchangeServer
    bot: Bot
    dp: Dispatcher
    deps: BotDeps
    sessionmaker: async_sessionmaker[AsyncSession]
    vault: KeyVault

    def chat(self, user_id: int, language: str = "en") -> Chat:
        return Chat(self.tg, user_id, language)

    async def user(self, telegram_id: int) -> User | None:
        async with self.sessionmaker() as session:
            return await session.scalar(select(User).where(User.telegram_id == telegram_id))


def sandbox_factory() -> Any:
    # ccxt's own throttle off: the sandbox enforces Binance's weights itself, and tests stay fast
    return functools.partial(make_client, rate_limit=False)


@pytest.fixture
def vault() -> KeyVault:
    return KeyVault([os.urandom(32)])


@asynccontextmanager
async def running_bot(
    tg: TelegramServerHandle,
    exchange: ExchangeServer,
    sessionmaker: async_sessionmaker[AsyncSession],
    vault: KeyVault,
    *,
    storage: BaseStorage | None = None,
    throttle: dict[str, Any] | None = None,
    **settings_extra: Any,
) -> AsyncIterator[Harness]:
    """The bot as run_bot.py wires it (storage from settings unless given), polling the sandbox."""
    settings = make_settings(exchange.url, telegram_api_url=tg.url, **settings_extra)
    deps = build_deps(settings, sessionmaker, vault, client_factory=sandbox_factory())
    throttle = throttle or {"throttle_rate": 50.0, "throttle_burst": 50}
    dp = build_dispatcher(settings, sessionmaker, vault, deps=deps, storage=storage, **throttle)
    bot = make_bot(tg)
    prepare_bot(bot)
    try:
        async with polling(dp, bot, polling_timeout=1):
            yield Harness(tg, exchange, bot, dp, deps, sessionmaker, vault)
    finally:
        await dp.storage.close()
        await close_deps(deps)
        await bot.session.close()


@pytest.fixture
async def harness(
    telegram_server: TelegramServerHandle,
    exchange_server: ExchangeServer,
    sessionmaker: async_sessionmaker[AsyncSession],
    vault: KeyVault,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Harness]:
    marker = request.node.get_closest_marker("throttle")
    throttle = dict(marker.kwargs) if marker else None
    async with running_bot(
        telegram_server, exchange_server, sessionmaker, vault, storage=MemoryStorage(), throttle=throttle
    ) as h:
        yield h


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "throttle(throttle_rate, throttle_burst): the bot's per-user throttle")
