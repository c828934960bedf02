"""Wiring for run_bot.py: dependencies, the Dispatcher, bot commands and polling.

deps = build_deps(settings, sessionmaker, vault)               # optional: prices=, closer=, retrain=
dp = build_dispatcher(settings, sessionmaker, vault, deps=deps)
bot = make_bot(settings)
await set_commands(bot)
sender = OutboxSender(bot, sessionmaker, deps.pacer); sender.start()
await run_polling(bot, dp)                                      # returns when polling stops
await sender.stop(); await close_deps(deps)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.commands import ADMIN_COMMANDS, USER_COMMANDS
from bot.deps import BotDeps, RetrainStarter
from bot.i18n import UserLocaleMiddleware, make_i18n
from bot.middlewares import (
    DbSessionMiddleware,
    DepsMiddleware,
    ErrorReplyMiddleware,
    ThrottlingMiddleware,
    UserMiddleware,
)
from bot.pacing import Pacer
from bot.retry import prepare_bot
from bot.routers import feature_routers
from core.config import Settings
from core.services.exchanges import ClientFactory, default_client_factory
from core.services.l10n import LANGUAGES
from core.services.positions import PaperPositionCloser, PositionCloser
from core.services.prices import CcxtPriceSource, PriceSource
from core.services.user_settings import available_strategies
from core.vault import KeyVault

log = logging.getLogger(__name__)
FSM_TTL = 3600


def build_deps(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    vault: KeyVault,
    *,
    client_factory: ClientFactory | None = None,
    prices: PriceSource | None = None,
    closer: PositionCloser | None = None,
    retrain: RetrainStarter | None = None,
    pacer: Pacer | None = None,
) -> BotDeps:
    """Defaults: ccxt clients from core.exchange, public Binance tickers (EXCHANGE_API_URL when set) for
    prices, the paper closer. The engine passes its own price source and closer once it exists."""
    factory = client_factory or default_client_factory()
    prices = prices or CcxtPriceSource(factory, "binance", settings.exchange_api_url)
    return BotDeps(
        settings=settings,
        sessionmaker=sessionmaker,
        vault=vault,
        client_factory=factory,
        prices=prices,
        closer=closer or PaperPositionCloser(prices, quote=settings.quote_currency),
        strategies=available_strategies(),
        pacer=pacer or Pacer(),
        retrain=retrain,
        admin_ids=frozenset(settings.admin_ids),
    )


async def close_deps(deps: BotDeps) -> None:
    close = getattr(deps.prices, "close", None)
    if close is not None:
        await close()


def make_storage(settings: Settings) -> BaseStorage:
    if settings.redis_url:
        from aiogram.fsm.storage.redis import RedisStorage

        # unfinished multi-step input (even sealed key material) expires after an hour
        return RedisStorage.from_url(settings.redis_url, state_ttl=FSM_TTL, data_ttl=FSM_TTL)
    return MemoryStorage()


def make_isolation(storage: BaseStorage) -> BaseEventIsolation:
    from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage

    if isinstance(storage, RedisStorage):
        return RedisEventIsolation(redis=storage.redis)
    return SimpleEventIsolation()


def build_dispatcher(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    vault: KeyVault,
    *,
    deps: BotDeps | None = None,
    storage: BaseStorage | None = None,
    i18n: I18n | None = None,
    throttle_rate: float = 2.0,
    throttle_burst: int = 8,
) -> Dispatcher:
    deps = deps or build_deps(settings, sessionmaker, vault)
    i18n = i18n or make_i18n()
    storage = storage or make_storage(settings)
    # one update at a time per user: a double-pressed "close" cannot run twice concurrently
    dp = Dispatcher(storage=storage, events_isolation=make_isolation(storage))
    # outer middlewares on every update, in order (aiogram's own errors/user-context/FSM run first)
    dp.update.outer_middleware(DepsMiddleware(deps))
    dp.update.outer_middleware(ThrottlingMiddleware(i18n, rate=throttle_rate, burst=throttle_burst))
    dp.update.outer_middleware(DbSessionMiddleware(sessionmaker))
    dp.update.outer_middleware(UserMiddleware(i18n))
    dp.update.outer_middleware(UserLocaleMiddleware(i18n))
    dp.update.outer_middleware(ErrorReplyMiddleware())
    dp.include_routers(*feature_routers(deps.admin_ids))
    return dp


def make_bot(settings: Settings) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(settings.require_token(), session=session)


async def set_commands(bot: Bot, i18n: I18n | None = None, admin_ids: Iterable[int] = ()) -> None:
    """setMyCommands for every language (the default list in English); admins' own chats also list the
    admin commands (skipped for an admin who has not talked to the bot yet)."""
    i18n = i18n or make_i18n()

    def listing(commands: tuple[tuple[str, str], ...], locale: str) -> list[BotCommand]:
        return [BotCommand(command=n, description=i18n.gettext(d, locale=locale)[:256]) for n, d in commands]

    for language in (None, *LANGUAGES):
        commands = listing(USER_COMMANDS, language or "en")
        await bot.set_my_commands(commands, scope=BotCommandScopeAllPrivateChats(), language_code=language)
    # per language here too: Telegram prefers a chat-scoped list over the all-private-chats one, so an
    # admin list without a Russian variant would show a Russian-speaking admin English descriptions
    for admin in admin_ids:
        try:
            for language in (None, *LANGUAGES):
                await bot.set_my_commands(
                    listing(USER_COMMANDS + ADMIN_COMMANDS, language or "en"),
                    scope=BotCommandScopeChat(chat_id=admin),
                    language_code=language,
                )
        except TelegramBadRequest:
            log.info("admin %s has no chat with the bot yet: no admin command list", admin)


async def run_polling(bot: Bot, dispatcher: Dispatcher, *, handle_signals: bool = False) -> None:
    """Long-poll until dispatcher.stop_polling() (or a signal when handle_signals)."""
    prepare_bot(bot)
    await bot.delete_webhook(drop_pending_updates=False)
    await dispatcher.start_polling(
        bot,
        handle_signals=handle_signals,
        close_bot_session=False,
        allowed_updates=["message", "callback_query"],
    )


async def serve(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    vault: KeyVault,
    *,
    bot: Bot | None = None,
    prices: PriceSource | None = None,
    closer: PositionCloser | None = None,
    retrain: RetrainStarter | None = None,
    handle_signals: bool = True,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the whole Telegram side until polling stops (a signal, or `stop` being set): bot commands,
    the outbox sender and the dispatcher."""
    from bot.notifier import OutboxSender

    deps = build_deps(settings, sessionmaker, vault, prices=prices, closer=closer, retrain=retrain)
    dp = build_dispatcher(settings, sessionmaker, vault, deps=deps)
    own_bot = bot is None
    bot = bot or make_bot(settings)
    sender = OutboxSender(bot, sessionmaker, deps.pacer)
    watcher = asyncio.create_task(_stop_when_set(stop, dp)) if stop is not None else None
    try:
        await set_commands(bot, admin_ids=settings.admin_ids)
        sender.start()
        await run_polling(bot, dp, handle_signals=handle_signals)
    finally:
        if watcher is not None:
            watcher.cancel()
        await sender.stop()
        await close_deps(deps)
        if own_bot:
            await bot.session.close()


async def _stop_when_set(stop: asyncio.Event, dp: Dispatcher) -> None:
    await stop.wait()
    await dp.stop_polling()
