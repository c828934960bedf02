"""The market clock: moved by hand (POST /sandbox/clock) or by a real-time multiplier (`speed`).

Request signatures (`timestamp`, `recvWindow`) are checked against the wall clock, because ccxt signs with
the machine's own time; everything about the market (candles, order times) uses this clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable


def wall_ms() -> int:
    return int(time.time() * 1000)


class MarketClock:
    def __init__(self, start_ms: int, speed: float = 0.0, on_change: Callable[[int], None] | None = None):
        self.now_ms = start_ms
        self.speed = speed
        self._on_change = on_change
        self._task: asyncio.Task[None] | None = None

    def set(self, ms: int) -> None:
        if ms < self.now_ms:
            raise ValueError("the market clock only moves forward")
        self.now_ms = ms
        if self._on_change is not None:
            self._on_change(ms)

    def advance(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("advance must not be negative")
        self.set(self.now_ms + ms)

    def start(self) -> None:
        if self.speed > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        last = time.monotonic()
        carry = 0.0
        while True:
            await asyncio.sleep(0.2)
            now = time.monotonic()
            carry += (now - last) * 1000 * self.speed
            last = now
            whole = int(carry)
            if whole:
                carry -= whole
                self.advance(whole)
