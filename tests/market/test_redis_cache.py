"""Several processes share one fetch through Redis (the real server): the second one asks nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.market.candle_cache import CandleRecord, RedisCandleCache
from core.market.ohlcv_store import OhlcvStore
from tests.fixtures.exchange import ExchangeServer
from tests.market.conftest import make_store, requests_to

pytestmark = pytest.mark.redis

SYMBOLS = ["BTC/USDT", "ETH/USDT", "BNB/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT"]


@pytest.fixture
async def caches(redis_url: str) -> AsyncIterator[Callable[[], RedisCandleCache]]:
    made: list[RedisCandleCache] = []

    def make() -> RedisCandleCache:
        made.append(RedisCandleCache(redis_url))
        return made[-1]

    yield make
    for cache in made:
        await cache.close()


async def process(server: ExchangeServer, clients: Callable[..., Any], cache: RedisCandleCache) -> OhlcvStore:
    """What one worker process holds: its own ccxt client, its own Redis connection."""
    store = make_store(clients(server), cache)
    await store.client.load_markets()
    return store


async def test_record_round_trips_through_redis(caches: Callable[[], RedisCandleCache]) -> None:
    cache = caches()
    data = np.arange(60, dtype=np.float64).reshape(10, 6)
    await cache.save("binance:BTC/USDT:5m", CandleRecord(data, 100, 900))
    back = await caches().load("binance:BTC/USDT:5m")
    assert back is not None
    np.testing.assert_array_equal(back.data, data)
    assert (back.covered_from, back.checked_to) == (100, 900)
    assert await cache.load("binance:ETH/USDT:5m") is None


async def test_second_process_reads_the_cache_instead_of_fetching(
    exchange_server: ExchangeServer, clients: Callable[..., Any], caches: Callable[[], RedisCandleCache]
) -> None:
    first = await process(exchange_server, clients, caches())
    second = await process(exchange_server, clients, caches())
    now = await exchange_server.now()
    a = await first.candles_many(SYMBOLS, "5m", 1200, now)
    assert await requests_to(exchange_server) == 2 * len(SYMBOLS)  # paged back: 2 pages each
    b = await second.candles_many(SYMBOLS, "5m", 1200, now)
    assert await requests_to(exchange_server) == 2 * len(SYMBOLS)  # the second process asked nothing
    assert second.requests == 0
    for s in SYMBOLS:
        np.testing.assert_array_equal(a.candles[s], b.candles[s])

    # next candle: whoever comes first fetches the increment, the other reads it
    await exchange_server.advance("5m")
    now = await exchange_server.now()
    b2 = await second.candles_many(SYMBOLS, "5m", 1200, now)
    a2 = await first.candles_many(SYMBOLS, "5m", 1200, now)
    assert await requests_to(exchange_server) == 3 * len(SYMBOLS)
    assert second.requests == len(SYMBOLS) and first.requests == 2 * len(SYMBOLS)
    for s in SYMBOLS:
        np.testing.assert_array_equal(a2.candles[s], b2.candles[s])
        assert int(a2.candles[s][-1, 0]) == int(a.candles[s][-1, 0]) + 300_000


async def test_processes_racing_for_the_same_candles_fetch_once(
    exchange_server: ExchangeServer, clients: Callable[..., Any], caches: Callable[[], RedisCandleCache]
) -> None:
    workers = [await process(exchange_server, clients, caches()) for _ in range(4)]
    now = await exchange_server.now()
    results = await asyncio.gather(*(w.candles_many(SYMBOLS, "5m", 300, now) for w in workers))
    assert await requests_to(exchange_server) == len(SYMBOLS)  # the Redis lock let one of them fetch
    assert sum(w.requests for w in workers) == len(SYMBOLS)
    for r in results:
        assert not r.errors
        for s in SYMBOLS:
            np.testing.assert_array_equal(r.candles[s], results[0].candles[s])


WORKER = """
import asyncio, json, sys
from core.exchange.ccxt_factory import make_client
from core.market.candle_cache import RedisCandleCache
from core.market.ohlcv_store import OhlcvStore

async def main(url, redis_url, now, symbols):
    client = make_client("binance", api_url=url, rate_limit=False)
    store = OhlcvStore("binance", client, cache=RedisCandleCache(redis_url))
    try:
        await client.load_markets()
        got = await store.candles_many(symbols, "5m", 1200, now)
        last = {s: float(c[-1, 4]) for s, c in got.candles.items()}
        print(json.dumps({"requests": store.requests, "last": last}))
    finally:
        await store.cache.close()
        await client.close()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]))
"""


async def test_a_separate_os_process_reads_what_this_one_fetched(
    exchange_server: ExchangeServer,
    clients: Callable[..., Any],
    caches: Callable[[], RedisCandleCache],
    redis_url: str,
) -> None:
    import json
    import sys

    here = await process(exchange_server, clients, caches())
    now = await exchange_server.now()
    mine = await here.candles_many(SYMBOLS, "5m", 1200, now)
    fetched = await requests_to(exchange_server)
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WORKER,
        exchange_server.url,
        redis_url,
        str(now),
        *SYMBOLS,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    out, err = await asyncio.wait_for(worker.communicate(), 120)
    assert worker.returncode == 0, err.decode()[-2000:]
    report = json.loads(out.decode().strip().splitlines()[-1])
    assert report["requests"] == 0
    assert await requests_to(exchange_server) == fetched
    assert report["last"] == {s: float(mine.candles[s][-1, 4]) for s in SYMBOLS}


async def test_redis_down_means_no_cache_not_no_data(
    exchange_server: ExchangeServer, clients: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    dead = RedisCandleCache("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        store = await process(exchange_server, clients, dead)
        now = await exchange_server.now()
        got = await store.candles_many(SYMBOLS[:2], "5m", 100, now)
        assert not got.errors
        assert all(rows.shape == (100, 6) for rows in got.candles.values())
        assert len([r for r in caplog.records if "Redis candle cache unavailable" in r.getMessage()]) == 1
    finally:
        await dead.close()
