"""Helpers for market-data tests: ccxt clients on the sandbox exchange and request counting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from core.market.backoff import RequestBackoff
from core.market.candle_cache import CandleCache
from core.market.ohlcv_store import OhlcvStore
from tests.fixtures.exchange import ExchangeServer, binance_client

KLINES = "GET /api/v3/klines"


async def requests_to(server: ExchangeServer, endpoint: str = KLINES) -> int:
    stats = await server.stats()
    return int(stats["requests"].get(endpoint, 0))


@pytest.fixture
async def clients() -> AsyncIterator[Callable[..., Any]]:
    """A factory of ccxt clients on a sandbox, all closed at the end of the test."""
    made: list[Any] = []

    def make(server: ExchangeServer, **kwargs: Any) -> Any:
        client = binance_client(server, **kwargs)
        made.append(client)
        return client

    yield make
    # ccxt's close() waits timeout_on_exit (0.25 s): close them together
    await asyncio.gather(*(client.close() for client in made))


def fast_backoff(attempts: int = 5) -> RequestBackoff:
    return RequestBackoff(attempts=attempts, base_delay=0.05, max_delay=5.0)


def make_store(client: Any, cache: CandleCache | None = None, **kwargs: Any) -> OhlcvStore:
    return OhlcvStore("binance", client, cache=cache, backoff=kwargs.pop("backoff", fast_backoff()), **kwargs)
