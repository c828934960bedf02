"""Where the OHLCV store keeps candles between cycles: process memory, or Redis shared by processes.

A record holds the finished candles of one (exchange, symbol, timeframe) plus two markers:
`covered_from`, the earliest open time the data is complete from (older candles were never asked
for), and `checked_to`, the newest finished open time the exchange was asked about. A reader whose
need is within those markers uses the record instead of asking the exchange again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import redis.asyncio as aioredis
from redis.exceptions import LockError, RedisError

from core.market.frame import F64

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class CandleRecord:
    data: F64  # [n, 6] rows ts, open, high, low, close, volume; ascending unique ts
    covered_from: int
    checked_to: int

    def fresh_for(self, start: int, end: int) -> bool:
        return self.covered_from <= start and self.checked_to >= end


class CandleCache(Protocol):
    async def load(self, key: str) -> CandleRecord | None: ...

    async def save(self, key: str, record: CandleRecord) -> None: ...

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Held while a key is fetched, so one fetcher per key does the exchange's work."""
        ...

    async def close(self) -> None: ...


class MemoryCandleCache:
    def __init__(self) -> None:
        self._records: dict[str, CandleRecord] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def load(self, key: str) -> CandleRecord | None:
        return self._records.get(key)

    async def save(self, key: str, record: CandleRecord) -> None:
        self._records[key] = record

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        return self._hold(self._locks.setdefault(key, asyncio.Lock()))

    @asynccontextmanager
    async def _hold(self, lock: asyncio.Lock) -> AsyncIterator[None]:
        async with lock:
            yield

    async def close(self) -> None:
        self._records.clear()


class RedisCandleCache:
    """One Redis hash per key: data (raw float64 bytes), covered_from, checked_to.

    The per-key lock is a Redis lock with a timeout, so a crashed fetcher cannot block others forever.
    Redis being down degrades to "no cache" (every process fetches for itself) rather than no data;
    the outage is logged once, and its end once.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "tradebot:ohlcv",
        ttl_seconds: int = 7 * 86_400,
        lock_timeout: float = 120.0,
    ) -> None:
        self._redis = aioredis.from_url(url)
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._lock_timeout = lock_timeout
        self._local_locks: dict[str, asyncio.Lock] = {}
        self._down = False

    async def load(self, key: str) -> CandleRecord | None:
        try:
            raw: dict[bytes, bytes] = await self._redis.hgetall(f"{self._prefix}:{key}")  # type: ignore[misc,assignment]
        except RedisError as exc:
            self._failed(exc)
            return None
        self._recovered()
        if not raw or b"data" not in raw:
            return None
        data = np.frombuffer(raw[b"data"], dtype=np.float64).reshape(-1, 6).copy()
        return CandleRecord(data, int(raw[b"covered_from"]), int(raw[b"checked_to"]))

    async def save(self, key: str, record: CandleRecord) -> None:
        name = f"{self._prefix}:{key}"
        fields: dict[str | bytes, bytes | int] = {
            "data": np.ascontiguousarray(record.data, dtype=np.float64).tobytes(),
            "covered_from": record.covered_from,
            "checked_to": record.checked_to,
        }
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(name, mapping=fields)  # type: ignore[arg-type]
                pipe.expire(name, self._ttl)
                await pipe.execute()
        except RedisError as exc:
            self._failed(exc)

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        return self._hold(key)

    @asynccontextmanager
    async def _hold(self, key: str) -> AsyncIterator[None]:
        # the local lock keeps this process's own tasks from queueing on Redis for the same key
        async with self._local_locks.setdefault(key, asyncio.Lock()):
            lock = self._redis.lock(
                f"{self._prefix}:lock:{key}", timeout=self._lock_timeout, blocking_timeout=self._lock_timeout
            )
            try:
                acquired = await lock.acquire()
            except RedisError as exc:  # fetch without the lock: at worst a duplicate fetch
                self._failed(exc)
                acquired = False
            try:
                yield
            finally:
                if acquired:
                    try:
                        await lock.release()
                    except LockError:
                        log.warning("candle lock %s expired while fetching", key)
                    except RedisError as exc:
                        self._failed(exc)

    def _failed(self, exc: RedisError) -> None:
        if not self._down:
            self._down = True
            log.error("Redis candle cache unavailable, fetching without it: %s", exc)

    def _recovered(self) -> None:
        if self._down:
            self._down = False
            log.warning("Redis candle cache is back")

    async def close(self) -> None:
        await self._redis.aclose()
