"""Telegram's sending limits: about 30 messages a second overall and one a second per chat.

One Pacer is shared by the notifier and admin broadcasts, so together they stay within the limits.
A 429's retry_after pauses all sending, since the bot-wide flood limit is the one that bites.
"""

from __future__ import annotations

import asyncio
import time

from aiolimiter import AsyncLimiter


class Pacer:
    def __init__(
        self, per_second: float = 25.0, per_chat_interval: float = 1.0, max_chats: int = 10_000
    ) -> None:
        # capacity 1 (no burst): never more than `per_second` in any one-second window
        self._global = AsyncLimiter(1, 1.0 / per_second)
        self._per_chat_interval = per_chat_interval
        self._chats: dict[int, tuple[AsyncLimiter, float]] = {}
        self._max_chats = max_chats
        self._resume_at = 0.0

    def pause(self, seconds: float) -> None:
        self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    async def wait(self, chat_id: int) -> None:
        delay = self._resume_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if self._per_chat_interval > 0:
            await self._chat_limiter(chat_id).acquire()
        await self._global.acquire()

    def _chat_limiter(self, chat_id: int) -> AsyncLimiter:
        now = time.monotonic()
        entry = self._chats.get(chat_id)
        if entry is None:
            if len(self._chats) >= self._max_chats:
                self._forget_idle(now)
            entry = (AsyncLimiter(1, self._per_chat_interval), now)
        self._chats[chat_id] = (entry[0], now)
        return entry[0]

    def _forget_idle(self, now: float) -> None:
        idle = [cid for cid, (_, seen) in self._chats.items() if now - seen > 10 * self._per_chat_interval]
        for cid in idle:
            del self._chats[cid]
