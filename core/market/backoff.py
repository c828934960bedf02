"""Bounded retries for exchange calls: back off on 429/DDoS (honouring Retry-After), then give up.

One `RequestBackoff` per exchange client: when any call is told to slow down, every call through the
same object waits for the pause, so concurrent fetches do not keep hammering a limited endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import ccxt.async_support as ccxt
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

log = logging.getLogger(__name__)
T = TypeVar("T")

RATE_LIMITED = (ccxt.RateLimitExceeded, ccxt.DDoSProtection)
TRANSIENT = (*RATE_LIMITED, ccxt.RequestTimeout, ccxt.ExchangeNotAvailable)


def retry_after_seconds(headers: Mapping[str, Any] | None) -> float | None:
    """The Retry-After header (seconds form) of a response, if any."""
    if not headers:
        return None
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                return None
    return None


class RequestBackoff:
    def __init__(
        self,
        *,
        attempts: int = 5,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be >= 1")
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._clock = clock
        self._resume_at = 0.0
        self.retries = 0  # total retried calls, for metrics and tests

    async def call(self, client: ccxt.Exchange, fn: Callable[[], Awaitable[T]]) -> T:
        """Run `fn` (one exchange request) with bounded retries on rate-limit and transient errors."""

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            hint = (
                retry_after_seconds(client.last_response_headers) if isinstance(exc, RATE_LIMITED) else None
            )
            if hint is None:
                hint = self.base_delay * 2 ** (state.attempt_number - 1) * (1 + random.random() / 4)
            delay = min(hint, self.max_delay)
            if isinstance(exc, RATE_LIMITED):
                self._resume_at = max(self._resume_at, self._clock() + delay)
            self.retries += 1
            log.info("%s: %s, retry %d in %.2fs", client.id, type(exc).__name__, state.attempt_number, delay)
            return delay

        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(TRANSIENT),
            stop=stop_after_attempt(self.attempts),
            wait=wait,
            reraise=True,
        ):
            with attempt:
                await self._paused()
                return await fn()
        raise AssertionError("unreachable: tenacity reraises the last error")

    async def _paused(self) -> None:
        """Wait out a pause another call was told to take."""
        left = self._resume_at - self._clock()
        if left > 0:
            await asyncio.sleep(left)
