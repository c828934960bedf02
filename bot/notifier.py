"""The outbox sender: delivers OutboxMessage rows to Telegram within its limits.

- Pacing: the shared Pacer (≤ ~25/s overall, ≤ 1/s per chat); a 429 pauses all sending for its
  retry_after and puts the message back without counting an attempt.
- Transient errors (network, 5xx) retry with exponential backoff; after `max_attempts` the row is
  `failed`. A 400 is permanent (`failed` at once). A 403 marks the row and the user's other pending
  rows `blocked` and the user inactive.
- Order: one chat's messages go out in id order; a chat whose earlier message waits for a retry is
  skipped until that message is through. Different chats are sent concurrently.
- Durability: a row becomes `sent` only after Telegram accepted it, in its own committed transaction,
  so a crash or restart never loses a message. The one window is a crash after Telegram accepted a
  message and before that commit: the message is sent again after the restart (at-least-once there;
  Telegram has no idempotency key to close it). `stop()` is graceful: in-flight sends finish and are
  committed before it returns, so a planned restart repeats nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from datetime import timedelta
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import FSInputFile
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.pacing import Pacer
from bot.retry import NO_RETRY
from core.services import outbox
from core.services.outbox import Outgoing

log = logging.getLogger(__name__)


class OutboxSender:
    def __init__(
        self,
        bot: Bot,
        sessionmaker: async_sessionmaker[AsyncSession],
        pacer: Pacer | None = None,
        *,
        batch_size: int = 200,
        idle_seconds: float = 1.0,
        max_attempts: int = 8,
        backoff_base: float = 2.0,
        backoff_max: float = 300.0,
        concurrency: int = 32,
    ) -> None:
        self.bot = bot
        self.sessionmaker = sessionmaker
        self.pacer = pacer or Pacer()
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._concurrency = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.sent = 0  # counters for logs and tests
        self.retried = 0

    def start(self) -> asyncio.Task[None]:
        if self._task is None or self._task.done():
            self._stopping = False
            self._task = asyncio.create_task(self.run(), name="outbox-sender")
        return self._task

    def wake(self) -> None:
        """Look for new rows now instead of at the next idle tick (core may call this after a commit)."""
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def run(self) -> None:
        NO_RETRY.set(True)  # this task's context only: 429s are recorded on the row, not slept on
        while not self._stopping:
            try:
                async with self.sessionmaker() as session:
                    due = await outbox.due_messages(session, self.batch_size)
            except Exception:
                log.exception("outbox: reading due messages failed")
                due = []
            if not due:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.idle_seconds)
                continue
            try:
                await self._send_batch(due)
            except Exception:  # a database hiccup must not end the sender; the rows are still pending
                log.exception("outbox: sending a batch failed")
                await asyncio.sleep(self.idle_seconds)

    async def _send_batch(self, due: list[Outgoing]) -> None:
        by_chat: OrderedDict[int, list[Outgoing]] = OrderedDict()
        for message in due:
            by_chat.setdefault(message.chat_id, []).append(message)
        await asyncio.gather(*(self._send_chat(messages) for messages in by_chat.values()))

    async def run_until_empty(self) -> None:
        """Deliver everything that is due now, then return (for scripts and tests; wrap in a timeout)."""
        token = NO_RETRY.set(True)
        try:
            await self._drain()
        finally:
            NO_RETRY.reset(token)

    async def _drain(self) -> None:
        while True:
            async with self.sessionmaker() as session:
                due = await outbox.due_messages(session, self.batch_size)
            if not due:
                return
            await self._send_batch(due)

    async def _send_chat(self, messages: list[Outgoing]) -> None:
        async with self._concurrency:
            for message in messages:
                if self._stopping:
                    return
                if not await self._deliver(message):
                    return  # later messages of this chat wait until this one is through

    async def _deliver(self, message: Outgoing) -> bool:
        """Send one row and record the outcome; returns whether the chat may continue."""
        await self.pacer.wait(message.chat_id)
        try:
            if message.photo_path and not await asyncio.to_thread(Path(message.photo_path).is_file):
                # the chart is gone (cleaned up, other host): the text still matters, send it alone
                log.warning(
                    "outbox message %s: photo %s is missing, sending text only",
                    message.id,
                    message.photo_path,
                )
                await self.bot.send_message(message.chat_id, message.text)
            elif message.photo_path:
                await self.bot.send_photo(
                    message.chat_id, FSInputFile(message.photo_path), caption=message.text[:1024]
                )
            else:
                await self.bot.send_message(message.chat_id, message.text)
        except TelegramRetryAfter as exc:
            self.pacer.pause(exc.retry_after)
            self.retried += 1
            await self._record(
                outbox.mark_retry, message.id, timedelta(seconds=exc.retry_after), "429", False
            )
            return False
        except TelegramForbiddenError:
            await self._record(outbox.mark_blocked, message.id, message.user_id)
            return False
        except (TelegramNetworkError, TelegramServerError, TimeoutError) as exc:
            self.retried += 1
            if message.attempts + 1 >= self.max_attempts:
                await self._record(outbox.mark_failed, message.id, f"gave up: {type(exc).__name__}")
                return True
            delay = min(self.backoff_max, self.backoff_base * 2**message.attempts)
            await self._record(
                outbox.mark_retry, message.id, timedelta(seconds=delay), type(exc).__name__, True
            )
            return False
        except TelegramBadRequest as exc:
            await self._record(outbox.mark_failed, message.id, exc.message)
            return True
        except TelegramAPIError as exc:
            await self._record(outbox.mark_failed, message.id, f"{type(exc).__name__}: {exc.message}")
            return True
        except Exception as exc:  # e.g. a photo file that no longer exists: retrying cannot help
            log.warning("outbox message %s cannot be sent: %s", message.id, type(exc).__name__)
            await self._record(outbox.mark_failed, message.id, f"{type(exc).__name__}: {exc}")
            return True
        await self._record(outbox.mark_sent, message.id)
        self.sent += 1
        return True

    async def _record(self, action: object, *args: object) -> None:
        # a new session per outcome: each status change is its own committed transaction
        async with self.sessionmaker() as session:
            await action(session, *args)  # type: ignore[operator]
            await session.commit()
