"""Outer middlewares on every update, in this order:

deps -> throttling -> DB session -> user row -> i18n -> error replies.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import TelegramObject, Update
from aiogram.types import User as TgUser
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiolimiter import AsyncLimiter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.commands import is_command
from bot.deps import BotDeps
from bot.reply import Reply
from bot.texts import error_text
from core.services.errors import UserError
from core.services.l10n import language_from_code
from core.services.users import get_user

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class DepsMiddleware(BaseMiddleware):
    def __init__(self, deps: BotDeps) -> None:
        self.deps = deps

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        data["deps"] = self.deps
        return await handler(event, data)


class ThrottlingMiddleware(BaseMiddleware):
    """Per-user leaky bucket: `burst` updates at once, then `rate` a second. The first update over the
    limit gets one localised notice; the rest are dropped until the bucket drains."""

    def __init__(self, i18n: I18n, rate: float = 2.0, burst: int = 8, max_users: int = 50_000) -> None:
        self.i18n = i18n
        self.rate, self.burst, self.max_users = rate, burst, max_users
        self._buckets: dict[int, tuple[AsyncLimiter, float]] = {}
        self._warned: set[int] = set()

    def _bucket(self, user_id: int) -> AsyncLimiter:
        now = time.monotonic()
        entry = self._buckets.get(user_id)
        if entry is None:
            if len(self._buckets) >= self.max_users:
                horizon = self.burst / self.rate
                for uid in [u for u, (_, seen) in self._buckets.items() if now - seen > horizon]:
                    del self._buckets[uid]
                    self._warned.discard(uid)
            entry = (AsyncLimiter(self.burst, self.burst / self.rate), now)
        self._buckets[user_id] = (entry[0], now)
        return entry[0]

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        if tg_user is None:
            return await handler(event, data)
        bucket = self._bucket(tg_user.id)
        if bucket.has_capacity():
            await bucket.acquire()
            self._warned.discard(tg_user.id)
            return await handler(event, data)
        if tg_user.id not in self._warned:
            self._warned.add(tg_user.id)
            with self.i18n.context(), self.i18n.use_locale(language_from_code(tg_user.language_code)):
                await notify_event(event, data, _("Too many requests. Please wait a few seconds."))
        elif isinstance(event, Update) and event.callback_query is not None:
            await _answer_callback(event)
        return None


class DbSessionMiddleware(BaseMiddleware):
    """One session per update, committed when the handler returns, rolled back when it raises."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.sessionmaker() as session:
            data["session"] = session
            try:
                result = await handler(event, data)
            except BaseException:
                await session.rollback()
                raise
            await session.commit()
            return result


class UserMiddleware(BaseMiddleware):
    """Loads the sender's User row as `user`. Only /start registers; anything else from a stranger is
    answered with a pointer to /start. Any command also ends an unfinished multi-step input."""

    def __init__(self, i18n: I18n) -> None:
        self.i18n = i18n

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        if tg_user is None or tg_user.is_bot:
            return None
        chat = data.get("event_chat")
        if chat is not None and chat.type != "private":
            return None  # private chats only: keys and balances never show up in a group
        session: AsyncSession = data["session"]
        user = await get_user(session, tg_user.id)
        data["user"] = user
        data["reply"] = Reply(data["bot"], chat.id if chat is not None else tg_user.id)
        text = event.message.text if isinstance(event, Update) and event.message else None
        command = is_command(text)
        if command and not (text or "").startswith("/cancel"):
            state: FSMContext | None = data.get("state")
            if state is not None:
                await state.clear()
        if user is None:
            if command and (text or "").split()[0].split("@")[0] == "/start":
                return await handler(event, data)
            return await self._ask_to_start(event, data, tg_user)
        if not user.is_active:
            user.is_active = True  # they are talking to us again, so they unblocked the bot
        return await handler(event, data)

    async def _ask_to_start(self, event: TelegramObject, data: dict[str, Any], tg_user: TgUser) -> None:
        with self.i18n.context(), self.i18n.use_locale(language_from_code(tg_user.language_code)):
            await notify_event(event, data, _("Welcome! Send /start to begin."))


class ErrorReplyMiddleware(BaseMiddleware):
    """A service's UserError becomes a localised reply and the transaction is rolled back, so a refused
    input changes nothing. Unexpected errors are logged and answered with a generic apology."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except UserError as err:
            await data["session"].rollback()
            await notify_event(event, data, error_text(err))
        except Exception:
            log.exception("handler failed for update %s", getattr(event, "update_id", "?"))
            await data["session"].rollback()
            await notify_event(event, data, _("Something went wrong. Please try again later."))
        return None


async def _answer_callback(event: Update, text: str | None = None) -> None:
    cb = event.callback_query
    if cb is None:
        return
    try:
        await cb.answer(text=text[:200] if text else None)
    except Exception:  # already answered, or too old: nothing more to do
        log.debug("callback answer failed", exc_info=True)


async def notify_event(event: TelegramObject, data: dict[str, Any], text: str) -> None:
    """Answer whatever the update was: stop a button's spinner and put the text in the chat."""
    if isinstance(event, Update):
        await _answer_callback(event, text)
    chat = data.get("event_chat")
    bot: Bot | None = data.get("bot")
    if chat is None or bot is None:
        return
    try:
        await bot.send_message(chat.id, text)
    except Exception:
        log.warning("could not reply in chat %s", chat.id, exc_info=True)
