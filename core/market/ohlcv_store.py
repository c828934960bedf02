"""Incremental OHLCV per (exchange, symbol, timeframe): page back once, then fetch only new candles.

Only finished candles are stored or returned. A record that already covers the asked window is
used as is, from this process's memory first, then from the shared cache (Redis), so a second
process, or a second consumer in the same cycle, makes no exchange request.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import ccxt.async_support as ccxt
import numpy as np

from core.market.backoff import RequestBackoff
from core.market.candle_cache import CandleCache, CandleRecord, MemoryCandleCache
from core.market.frame import F64, TS
from core.market.timeframes import last_closed_open, timeframe_ms

log = logging.getLogger(__name__)

PAGE_LIMIT = 1000  # Binance spot's maximum klines per request


def merge_candles(old: F64, new: F64) -> F64:
    """Union of two candle tables, ascending by time; on equal times the newer row wins."""
    if len(old) == 0:
        both = new
    elif len(new) == 0:
        return old
    else:
        both = np.concatenate([old, new])
    backwards = both[::-1]
    _, first = np.unique(backwards[:, TS], return_index=True)
    return np.ascontiguousarray(backwards[first])


@dataclass
class FetchResult:
    candles: dict[str, F64] = field(default_factory=dict)
    errors: dict[str, Exception] = field(default_factory=dict)


class OhlcvStore:
    """Candles of one exchange, fetched through one (public) ccxt client."""

    def __init__(
        self,
        exchange_id: str,
        client: ccxt.Exchange,
        *,
        cache: CandleCache | None = None,
        concurrency: int = 16,
        backoff: RequestBackoff | None = None,
        max_candles: int = 10_000,
    ) -> None:
        self.exchange_id = exchange_id
        self.client = client
        self.cache: CandleCache = cache or MemoryCandleCache()
        self.backoff = backoff or RequestBackoff()
        self.max_candles = max_candles
        self._slots = asyncio.Semaphore(concurrency)
        self._local: dict[str, CandleRecord] = {}
        self.requests = 0  # OHLCV requests sent by this store

    def key(self, symbol: str, timeframe: str) -> str:
        return f"{self.exchange_id}:{symbol}:{timeframe}"

    async def candles(self, symbol: str, timeframe: str, history: int, now_ms: int) -> F64:
        """The last `history` finished candles at `now_ms` (fewer for a younger symbol), rows [n, 6]."""
        if not 1 <= history <= self.max_candles:
            raise ValueError(f"history must be within 1..{self.max_candles}")
        tf = timeframe_ms(timeframe)
        end = last_closed_open(now_ms, tf)
        start = end - (history - 1) * tf
        key = self.key(symbol, timeframe)
        record = self._local.get(key)
        if record is None or not record.fresh_for(start, end):
            record = await self._refresh(key, symbol, timeframe, start, end)
        data = record.data
        return data[(data[:, TS] >= start) & (data[:, TS] <= end)]

    async def candles_many(
        self, symbols: Iterable[str], timeframe: str, history: int, now_ms: int
    ) -> FetchResult:
        """All symbols concurrently; one symbol's failure is reported, never raised."""
        names = list(dict.fromkeys(symbols))
        outcomes = await asyncio.gather(
            *(self.candles(s, timeframe, history, now_ms) for s in names), return_exceptions=True
        )
        result = FetchResult()
        for symbol, outcome in zip(names, outcomes, strict=True):
            if isinstance(outcome, Exception):
                result.errors[symbol] = outcome
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                result.candles[symbol] = outcome
        return result

    async def _refresh(self, key: str, symbol: str, timeframe: str, start: int, end: int) -> CandleRecord:
        shared = await self.cache.load(key)
        if shared is None or not shared.fresh_for(start, end):
            async with self.cache.lock(key):
                # another task or process may have fetched while we waited for the lock
                shared = await self.cache.load(key)
                if shared is None or not shared.fresh_for(start, end):
                    shared = await self._fetch(symbol, timeframe, shared, start, end)
                    await self.cache.save(key, shared)
        self._local[key] = shared
        return shared

    async def _fetch(
        self, symbol: str, timeframe: str, known: CandleRecord | None, start: int, end: int
    ) -> CandleRecord:
        tf = timeframe_ms(timeframe)
        old: F64 = np.empty((0, 6))
        since, covered_from = start, start
        if known is not None and known.covered_from <= start:
            resume = int(known.data[-1, TS]) + tf if len(known.data) else known.checked_to + tf
            if resume >= start:  # incremental: only what came after the stored candles
                old, since, covered_from = known.data, resume, known.covered_from
            # else: down longer than the window: the old candles cannot join up, page from the start
        elif known is not None:  # a longer history than ever asked: page back from the start
            old = known.data
        rows = await self._page(symbol, timeframe, tf, since, end)
        data = merge_candles(old, rows)
        # keep finished candles only, and no more than max_candles of them
        floor = max(covered_from, end - (self.max_candles - 1) * tf)
        data = np.ascontiguousarray(data[(data[:, TS] >= floor) & (data[:, TS] <= end)])
        # The exchange has answered for `end` when it sent that candle or a later (running) one;
        # otherwise it lags behind its clock: record how far we got so the next reader asks again.
        reached = len(rows) > 0 and int(rows[-1, TS]) >= end
        checked_to = end if reached else (int(data[-1, TS]) if len(data) else since - tf)
        return CandleRecord(data, floor, checked_to)

    async def _page(self, symbol: str, timeframe: str, tf: int, since: int, end: int) -> F64:
        """Fetch forward from `since` until the newest finished candle `end` is reached."""
        pages: list[F64] = []
        cursor = since
        for _ in range(math.ceil(self.max_candles / PAGE_LIMIT) + 2):
            if cursor > end:
                break
            # a small limit for an incremental update: Binance weighs klines requests by limit
            limit = min(PAGE_LIMIT, (end - cursor) // tf + 2)
            page = await self._request(symbol, timeframe, cursor, limit)
            if len(page) == 0:
                break
            pages.append(page)
            last = int(page[-1, TS])
            if last >= end or len(page) < limit or last < cursor:
                break
            cursor = last + tf
        return np.concatenate(pages) if pages else np.empty((0, 6))

    async def _request(self, symbol: str, timeframe: str, since: int, limit: int) -> F64:
        async def one() -> list[list[float]]:
            async with self._slots:
                self.requests += 1
                rows: list[list[float]] = await self.client.fetch_ohlcv(symbol, timeframe, since, limit)
                return rows

        rows = await self.backoff.call(self.client, one)
        if not rows:
            return np.empty((0, 6))
        # ccxt leaves a missing field as None; NaN keeps the table float64
        table = [[math.nan if v is None else v for v in r[:6]] for r in rows]
        return np.asarray(table, dtype=np.float64).reshape(-1, 6)
