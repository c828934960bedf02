"""Last prices for valuing balances and positions, and for paper closes."""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal
from typing import Any, Protocol

from core.services.exchanges import ClientFactory

log = logging.getLogger(__name__)


class PriceSource(Protocol):
    async def last_price(self, symbol: str) -> Decimal | None:
        """The latest traded price of a unified symbol (BTC/USDT), or None when unknown."""
        ...


class CcxtPriceSource:
    """Public tickers from one exchange through one shared ccxt client, cached for a few seconds.

    The trading engine has fresher prices from its market-data cache; it can inject its own source.
    """

    def __init__(
        self, factory: ClientFactory, exchange: str = "binance", api_url: str | None = None, ttl: float = 5.0
    ) -> None:
        self._factory = factory
        self._exchange = exchange
        self._api_url = api_url
        self._ttl = ttl
        self._client: Any = None
        self._cache: dict[str, tuple[float, Decimal]] = {}
        self._lock = asyncio.Lock()

    async def _get_client(self) -> Any:
        async with self._lock:
            if self._client is None:
                self._client = self._factory(self._exchange, api_url=self._api_url)
            return self._client

    async def last_price(self, symbol: str) -> Decimal | None:
        hit = self._cache.get(symbol)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        try:
            client = await self._get_client()
            ticker = await client.fetch_ticker(symbol)
        except Exception as exc:  # a missing market or a network error only means "no price"
            log.info("no price for %s: %s", symbol, type(exc).__name__)
            return None
        last = ticker.get("last") or ticker.get("close")
        if last is None:
            return None
        price = Decimal(str(last))
        self._cache[symbol] = (now, price)
        return price

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
