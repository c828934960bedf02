"""Telegram's flood control: ~30 messages/s per bot overall and ~1/s per chat with a short burst."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimits:
    """Token-bucket limits; a rate of None switches that limit off."""

    global_per_second: float | None = 30.0
    global_burst: int = 30
    chat_per_second: float | None = 1.0
    chat_burst: int = 3

    @classmethod
    def off(cls) -> RateLimits:
        return cls(global_per_second=None, chat_per_second=None)


class TokenBucket:
    def __init__(self, rate: float, capacity: int, now: float) -> None:
        self.rate = rate
        self.capacity = float(max(capacity, 1))
        self.tokens = self.capacity
        self.updated = now

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 if one is available now)."""
        self.refill(now)
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


class FloodControl:
    """Admits a message or says how many whole seconds to wait (Telegram's retry_after is an integer >= 1)."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._global: TokenBucket | None = None
        self._chats: dict[int, TokenBucket] = {}

    def admit(self, chat_id: int) -> int | None:
        """None if the message may go now (and it is counted), else retry_after in seconds."""
        now = self.clock()
        buckets = [b for b in (self._global_bucket(now), self._chat_bucket(chat_id, now)) if b is not None]
        wait = max((b.wait_time(now) for b in buckets), default=0.0)
        if wait > 0:
            return max(1, math.ceil(wait))
        for bucket in buckets:
            bucket.tokens -= 1.0
        return None

    def _global_bucket(self, now: float) -> TokenBucket | None:
        if self.limits.global_per_second is None:
            return None
        if self._global is None:
            self._global = TokenBucket(self.limits.global_per_second, self.limits.global_burst, now)
        return self._global

    def _chat_bucket(self, chat_id: int, now: float) -> TokenBucket | None:
        if self.limits.chat_per_second is None:
            return None
        bucket = self._chats.get(chat_id)
        if bucket is None:
            bucket = self._chats[chat_id] = TokenBucket(
                self.limits.chat_per_second, self.limits.chat_burst, now
            )
        return bucket
