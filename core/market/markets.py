"""Exchange markets, loaded once per exchange and refreshed hourly, shared by every user's client.

Loading Binance's markets costs a heavy request and seconds of parsing; a user's client gets the
loaded tables by reference (`set_markets_from_exchange`), so users add no load and no parsing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ccxt.async_support as ccxt

from core.market.backoff import RequestBackoff

log = logging.getLogger(__name__)

Markets = dict[str, dict[str, Any]]
RELOAD_RETRY_SECONDS = 60.0


@dataclass
class _Loaded:
    source: ccxt.Exchange
    loaded_at: float


class MarketRegistry:
    """One source client per exchange, whose `load_markets` result every other client shares.

    `clients` maps an exchange id to the (public, keyless) client that loads its markets.
    """

    def __init__(
        self,
        clients: dict[str, ccxt.Exchange],
        *,
        ttl_seconds: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        backoff: RequestBackoff | None = None,
    ) -> None:
        self._clients = clients
        self._ttl = ttl_seconds
        self._clock = clock
        self._backoff = backoff or RequestBackoff()
        self._loaded: dict[str, _Loaded] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.loads = 0  # load_markets calls made, for metrics and tests

    async def get(self, exchange_id: str) -> Markets:
        """The markets of `exchange_id`, loading them if absent or older than the TTL."""
        markets: Markets = (await self._source(exchange_id)).markets
        return markets

    async def attach(self, client: ccxt.Exchange) -> ccxt.Exchange:
        """Give `client` the shared markets of its exchange (by reference); returns the client.

        A reload replaces the tables, so call this per cycle: it costs a few attribute assignments.
        """
        source = await self._source(client.id)
        if client is not source:
            client.set_markets_from_exchange(source)
        return client

    def invalidate(self, exchange_id: str) -> None:
        """Force a reload on the next `get` (e.g. after a symbol turned up missing)."""
        self._loaded.pop(exchange_id, None)

    async def _source(self, exchange_id: str) -> ccxt.Exchange:
        entry = self._loaded.get(exchange_id)
        if entry is not None and self._clock() - entry.loaded_at < self._ttl:
            return entry.source
        async with self._locks.setdefault(exchange_id, asyncio.Lock()):
            entry = self._loaded.get(exchange_id)
            if entry is not None and self._clock() - entry.loaded_at < self._ttl:
                return entry.source
            try:
                source = self._clients[exchange_id]
            except KeyError:
                raise ValueError(f"no market client configured for exchange {exchange_id!r}") from None
            try:
                await self._backoff.call(source, lambda: source.load_markets(reload=True))
            except ccxt.BaseError as exc:
                if entry is None:
                    raise
                # stale markets beat no markets: keep them, try again a minute later
                log.warning("%s: market reload failed, keeping the old markets: %s", exchange_id, exc)
                entry.loaded_at = self._clock() - self._ttl + RELOAD_RETRY_SECONDS
                return entry.source
            self.loads += 1
            log.info("%s: %d markets loaded", exchange_id, len(source.markets or {}))
            self._loaded[exchange_id] = _Loaded(source, self._clock())
            return source
