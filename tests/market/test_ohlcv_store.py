"""The incremental OHLCV store against the sandbox exchange through real ccxt."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import ccxt.async_support as ccxt
import numpy as np
import pytest

from core.market.timeframes import last_closed_open
from tests.fixtures.exchange import ExchangeServer
from tests.market.conftest import fast_backoff, make_store, requests_to

TF = 300_000


def truth(server: ExchangeServer, symbol: str) -> dict[int, tuple[float, ...]]:
    """The sandbox's own candles of `symbol` by open time: the oracle."""
    sym = server.sandbox.state.markets.find(symbol)
    assert sym is not None
    return {
        int(t): (float(o), float(h), float(lo), float(c), float(v))
        for t, o, h, lo, c, v in zip(sym.ts, sym.o, sym.h, sym.lo, sym.c, sym.v, strict=True)
    }


def assert_matches_exchange(server: ExchangeServer, symbol: str, rows: np.ndarray) -> None:
    real = truth(server, symbol)
    for row in rows:
        np.testing.assert_allclose(row[1:], real[int(row[0])], rtol=1e-9)


async def test_first_fetch_pages_back_over_1000_candles(
    exchange_server: ExchangeServer, clients: Callable[..., Any]
) -> None:
    store = make_store(clients(exchange_server))
    await store.client.load_markets()
    now = await exchange_server.now()
    rows = await store.candles("BTC/USDT", "5m", 1500, now)
    assert await requests_to(exchange_server) == 2  # 1000 + 500 candles
    assert rows.shape == (1500, 6)
    assert np.all(np.diff(rows[:, 0]) == TF)
    assert int(rows[-1, 0]) == last_closed_open(now, TF)
    assert_matches_exchange(exchange_server, "BTC/USDT", rows)


async def test_incremental_update_fetches_only_the_new_candle(
    exchange_server: ExchangeServer, clients: Callable[..., Any]
) -> None:
    store = make_store(clients(exchange_server))
    await store.client.load_markets()
    symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    now = await exchange_server.now()
    first = await store.candles_many(symbols, "5m", 300, now)
    assert not first.errors
    warm = await requests_to(exchange_server)
    assert warm == len(symbols)

    # same candle still running: nothing new is finished, nothing is asked
    await exchange_server.advance("2m")
    again = await store.candles_many(symbols, "5m", 300, await exchange_server.now())
    assert await requests_to(exchange_server) == warm
    for s in symbols:
        np.testing.assert_array_equal(again.candles[s], first.candles[s])

    await exchange_server.advance("5m")
    now = await exchange_server.now()
    later = await store.candles_many(symbols, "5m", 300, now)
    assert await requests_to(exchange_server) == warm + len(symbols)  # one request per symbol
    for s in symbols:
        rows = later.candles[s]
        assert rows.shape == (300, 6)
        assert int(rows[-1, 0]) == last_closed_open(now, TF) == int(first.candles[s][-1, 0]) + TF
        np.testing.assert_array_equal(rows[:-1], first.candles[s][1:])
        assert_matches_exchange(exchange_server, s, rows[-2:])
    # the incremental request asked for a handful of candles, not a full page
    assert store.requests == warm + len(symbols)


async def test_unfinished_candle_is_never_returned(
    exchange_server: ExchangeServer, clients: Callable[..., Any]
) -> None:
    client = clients(exchange_server)
    store = make_store(client)
    await client.load_markets()
    await exchange_server.advance("3m")
    now = await exchange_server.now()
    raw = await client.fetch_ohlcv("ETH/USDT", "5m", now - 10 * TF, 20)
    assert raw[-1][0] + TF > now  # the exchange does show the running candle
    rows = await store.candles("ETH/USDT", "5m", 50, now)
    assert int(rows[-1, 0]) + TF <= now
    assert int(rows[-1, 0]) == raw[-2][0]


async def test_concurrent_readers_share_one_fetch(
    exchange_server: ExchangeServer, clients: Callable[..., Any]
) -> None:
    store = make_store(clients(exchange_server))
    await store.client.load_markets()
    now = await exchange_server.now()
    symbols = ["BTC/USDT", "ETH/USDT", "BNB/USDT", "XRP/USDT"]
    results = await asyncio.gather(*(store.candles_many(symbols, "5m", 200, now) for _ in range(5)))
    assert await requests_to(exchange_server) == len(symbols)
    for r in results[1:]:
        for s in symbols:
            np.testing.assert_array_equal(r.candles[s], results[0].candles[s])


async def test_longer_history_later_pages_back_again(
    exchange_server: ExchangeServer, clients: Callable[..., Any]
) -> None:
    store = make_store(clients(exchange_server))
    await store.client.load_markets()
    now = await exchange_server.now()
    short = await store.candles("BTC/USDT", "5m", 100, now)
    longer = await store.candles("BTC/USDT", "5m", 1200, now)
    assert longer.shape == (1200, 6)
    np.testing.assert_array_equal(longer[-100:], short)
    shorter_again = await store.candles("BTC/USDT", "5m", 100, now)
    np.testing.assert_array_equal(shorter_again, short)
    assert await requests_to(exchange_server) == 1 + 2


async def test_429_is_retried_after_retry_after(
    exchange_server: ExchangeServer, clients: Callable[..., Any]
) -> None:
    store = make_store(clients(exchange_server))
    await store.client.load_markets()
    await exchange_server.fault("/api/v3/klines", "http_429", count=2, retry_after=1)
    started = time.monotonic()
    rows = await store.candles("BTC/USDT", "5m", 100, await exchange_server.now())
    elapsed = time.monotonic() - started
    assert rows.shape == (100, 6)
    stats = await exchange_server.stats()
    assert stats["status_codes"]["429"] == 2
    assert stats["requests"]["GET /api/v3/klines"] == 3
    assert store.backoff.retries == 2
    assert elapsed >= 2.0  # Retry-After: 1, honoured twice (not the 0.05 s exponential base)


async def test_429_retries_are_bounded(exchange_server: ExchangeServer, clients: Callable[..., Any]) -> None:
    store = make_store(clients(exchange_server), backoff=fast_backoff(attempts=3))
    await store.client.load_markets()
    await exchange_server.fault("/api/v3/klines", "http_429", count=10, retry_after=0)
    with pytest.raises((ccxt.RateLimitExceeded, ccxt.DDoSProtection)):  # binance maps 429 to DDoS
        await store.candles("BTC/USDT", "5m", 100, await exchange_server.now())
    assert await requests_to(exchange_server) == 3


async def test_a_lagging_exchange_is_asked_again_not_trusted(
    exchange_server: ExchangeServer, clients: Callable[..., Any]
) -> None:
    store = make_store(clients(exchange_server))
    await store.client.load_markets()
    ahead = await exchange_server.now() + 2 * TF  # our clock is two candles ahead of the exchange's
    rows = await store.candles("BTC/USDT", "5m", 100, ahead)
    assert int(rows[-1, 0]) < last_closed_open(ahead, TF)  # the exchange has not got that candle yet
    assert await requests_to(exchange_server) == 1
    await store.candles("BTC/USDT", "5m", 100, ahead)
    assert await requests_to(exchange_server) == 2  # not marked fresh: asked again
    await exchange_server.advance("10m")
    caught_up = await store.candles("BTC/USDT", "5m", 100, ahead)
    assert int(caught_up[-1, 0]) == last_closed_open(ahead, TF)
    assert np.all(np.diff(caught_up[:, 0]) == TF)
    assert_matches_exchange(exchange_server, "BTC/USDT", caught_up)


async def test_down_longer_than_the_window_pages_the_window_again(
    exchange_server: ExchangeServer, clients: Callable[..., Any]
) -> None:
    store = make_store(clients(exchange_server))
    await store.client.load_markets()
    await store.candles("ETH/USDT", "5m", 100, await exchange_server.now())
    await exchange_server.advance("12h")  # 144 candles: more than the 100 kept
    now = await exchange_server.now()
    rows = await store.candles("ETH/USDT", "5m", 100, now)
    assert rows.shape == (100, 6)
    assert np.all(np.diff(rows[:, 0]) == TF)
    assert int(rows[-1, 0]) == last_closed_open(now, TF)
    assert_matches_exchange(exchange_server, "ETH/USDT", rows)
    assert await requests_to(exchange_server) == 2
