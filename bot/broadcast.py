"""Admin broadcast: one message to every active user, paced by the shared Pacer, with a report."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError, TelegramRetryAfter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.pacing import Pacer
from core.services.broadcast import DeliveryReport, broadcast_recipients, mark_inactive

log = logging.getLogger(__name__)
MAX_RETRY_AFTER = 3  # 429s for one recipient before counting it failed


async def broadcast(
    bot: Bot, sessionmaker: async_sessionmaker[AsyncSession], pacer: Pacer, text: str
) -> DeliveryReport:
    async with sessionmaker() as session:
        recipients = await broadcast_recipients(session)
    report = DeliveryReport()
    for user_id, chat_id in recipients:
        for _attempt in range(MAX_RETRY_AFTER + 1):
            await pacer.wait(chat_id)
            try:
                await bot.send_message(chat_id, text)
            except TelegramRetryAfter as exc:
                pacer.pause(exc.retry_after)
                await asyncio.sleep(0)  # the next wait() honours the pause
                continue
            except TelegramForbiddenError:
                report.blocked += 1
                async with sessionmaker() as session:
                    await mark_inactive(session, user_id)
                    await session.commit()
            except TelegramAPIError as exc:
                log.info("broadcast to chat %s failed: %s", chat_id, type(exc).__name__)
                report.failed += 1
            else:
                report.sent += 1
            break
        else:
            report.failed += 1
    return report
