"""Interactive replies honour Telegram's 429: wait retry_after and send again (a few times).

Installed on the Bot's session by `prepare_bot`. The outbox sender opts out (it records the 429 on
the row and paces every chat instead of holding one request open).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

if TYPE_CHECKING:
    from aiogram import Bot

log = logging.getLogger(__name__)
NO_RETRY: contextvars.ContextVar[bool] = contextvars.ContextVar("tradebot_no_retry_after", default=False)


class RetryAfterMiddleware(BaseRequestMiddleware):
    def __init__(self, max_retries: int = 3, max_wait: float = 30.0) -> None:
        self.max_retries = max_retries
        self.max_wait = max_wait

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        attempt = 0
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                attempt += 1
                if NO_RETRY.get() or attempt > self.max_retries or exc.retry_after > self.max_wait:
                    raise
                log.info("429 on %s: waiting %ss", type(method).__name__, exc.retry_after)
                await asyncio.sleep(exc.retry_after)


def prepare_bot(bot: Any) -> None:
    """Install the 429 retry on this bot's session (once)."""
    if not any(isinstance(m, RetryAfterMiddleware) for m in bot.session.middleware):
        bot.session.middleware(RetryAfterMiddleware())
