"""Market data through real ccxt async binance against the sandbox exchange."""

from __future__ import annotations

import aiohttp
import ccxt.async_support as ccxt
import pytest

from sandbox.exchange.synthetic import synthetic_ohlcv
from tests.fixtures.exchange import ExchangeServer, binance_client

FIVE_MIN = 300_000


async def test_load_markets_spot_with_real_filters(exchange_server: ExchangeServer) -> None:
    client = binance_client(exchange_server)
    try:
        markets = await client.load_markets()
        assert len(markets) == 50
        btc = markets["BTC/USDT"]
        assert btc["spot"] and btc["active"] and btc["type"] == "spot"
        filters = {f["filterType"]: f for f in btc["info"]["filters"]}
        assert float(filters["PRICE_FILTER"]["tickSize"]) == btc["precision"]["price"]
        assert float(filters["LOT_SIZE"]["stepSize"]) == btc["precision"]["amount"]
        assert btc["limits"]["cost"]["min"] == float(filters["NOTIONAL"]["minNotional"]) == 5.0
        assert btc["limits"]["amount"]["min"] == float(filters["LOT_SIZE"]["minQty"])
    finally:
        await client.close()
    stats = await exchange_server.stats()
    # the factory limits ccxt to spot: no futures or margin look-ups
    assert not any("/fapi/" in k or "/dapi/" in k or "/sapi/" in k for k in stats["requests"])


async def test_unconfigured_default_ccxt_client_loads_markets(exchange_server: ExchangeServer) -> None:
    """Plain ccxt.binance with default options (futures, margin, currencies) works against the sandbox."""
    await exchange_server.create_account("plain", "plain-secret", {"USDT": "100"})
    for keys in ({}, {"apiKey": "plain", "secret": "plain-secret"}):
        client = ccxt.binance(keys)
        client.urls["api"] = {
            name: exchange_server.url + "/" + url.split("/", 3)[3] for name, url in client.urls["api"].items()
        }
        try:
            markets = await client.load_markets()
            assert len(markets) == 50 and all(m["spot"] for m in markets.values())
            if keys:
                assert "BTC" in client.currencies and client.currencies["BTC"]["active"]
                assert (await client.fetch_balance())["USDT"]["free"] == 100.0
        finally:
            await client.close()
    requests = (await exchange_server.stats())["requests"]
    for path in (
        "GET /fapi/v1/exchangeInfo",
        "GET /dapi/v1/exchangeInfo",
        "GET /sapi/v1/capital/config/getall",
        "GET /sapi/v1/margin/allPairs",
        "GET /sapi/v1/margin/isolated/allPairs",
    ):
        assert requests.get(path, 0) >= 1, path


async def test_time_ticker_and_book_agree_with_the_running_candle(exchange_server: ExchangeServer) -> None:
    client = binance_client(exchange_server)
    try:
        now = await client.fetch_time()
        assert now == await exchange_server.now()
        candles = await client.fetch_ohlcv("ETH/USDT", "5m", limit=3)
        assert candles[-1][0] == now  # the running candle opened at the market clock
        ticker = await client.fetch_ticker("ETH/USDT")
        assert ticker["last"] == candles[-1][4]
        assert ticker["bid"] < ticker["last"] < ticker["ask"]
        assert ticker["high"] >= ticker["last"] >= ticker["low"] and ticker["baseVolume"] > 0
        book = await client.fetch_order_book("ETH/USDT", limit=10)
        assert len(book["bids"]) == len(book["asks"]) == 10
        assert book["bids"][0][0] == ticker["bid"] and book["asks"][0][0] == ticker["ask"]
        assert all(b[0] > c[0] for b, c in zip(book["bids"], book["bids"][1:], strict=False))
        tickers = await client.fetch_tickers()
        assert len(tickers) == 50 and tickers["ETH/USDT"]["last"] == ticker["last"]
        some = await client.fetch_tickers(["BTC/USDT", "SOL/USDT"])
        assert set(some) == {"BTC/USDT", "SOL/USDT"}
        bids_asks = await client.fetch_bids_asks(["BTC/USDT"])
        assert bids_asks["BTC/USDT"]["bid"] == tickers["BTC/USDT"]["bid"]
        last_prices = await client.fetch_last_prices(["BTC/USDT"])
        assert last_prices["BTC/USDT"]["price"] == tickers["BTC/USDT"]["last"]
        await exchange_server.advance("5m")
        moved = await client.fetch_ohlcv("ETH/USDT", "5m", limit=2)
        assert moved[-1][0] == now + FIVE_MIN and moved[0] == candles[-1]
        assert (await client.fetch_ticker("ETH/USDT"))["last"] == moved[-1][4]
    finally:
        await client.close()


async def test_klines_page_back_through_history(exchange_server: ExchangeServer) -> None:
    client = binance_client(exchange_server)
    try:
        now = await client.fetch_time()
        latest = await client.fetch_ohlcv("BTC/USDT", "5m", limit=1000)
        assert len(latest) == 1000 and latest[-1][0] == now
        since = latest[0][0] - 1000 * FIVE_MIN
        older = await client.fetch_ohlcv("BTC/USDT", "5m", since=since, limit=1000)
        assert [c[0] for c in older] == [since + i * FIVE_MIN for i in range(1000)]
        assert older[-1][4] == latest[0][1]  # continuous: each open is the previous close
        capped = await client.fetch_ohlcv("BTC/USDT", "5m", limit=5000)
        assert len(capped) == 1000
        until = await client.fetch_ohlcv("BTC/USDT", "5m", limit=10, params={"until": latest[500][0]})
        assert until[-1] == latest[500] and len(until) == 10
        first = await client.fetch_ohlcv("BTC/USDT", "5m", since=0, limit=3)
        assert first[0][0] == now - 2000 * FIVE_MIN
        for _, o, h, low, c, v in latest:
            assert low <= min(o, c) <= max(o, c) <= h and v > 0
        hourly = await client.fetch_ohlcv("BTC/USDT", "1h", limit=5)
        assert all(c[0] % 3_600_000 == 0 for c in hourly)
        last_hour = [c for c in latest if c[0] >= hourly[-1][0]]
        assert hourly[-1][2] == max(c[2] for c in last_hour) and hourly[-1][4] == last_hour[-1][4]
        with pytest.raises(ccxt.BadRequest):
            await client.fetch_ohlcv("BTC/USDT", "1m", limit=5)  # finer than the sandbox's base timeframe
    finally:
        await client.close()


async def test_klines_equal_offline_synthetic_data_for_the_same_seed(exchange_server: ExchangeServer) -> None:
    client = binance_client(exchange_server)
    try:
        now = await client.fetch_time()
        served = await client.fetch_ohlcv("SOL/USDT", "5m", limit=1000)
    finally:
        await client.close()
    offline = synthetic_ohlcv(n_symbols=50, n_candles=2000, timeframe="5m", seed=7, end_ms=now)["SOL/USDT"]
    closed = served[:-1]  # the running candle is not closed yet
    tail = offline.tail(len(closed))
    assert [int(x) for x in tail["date"].astype("datetime64[ms, UTC]").astype("int64")] == [
        c[0] for c in closed
    ]
    assert tail["close"].round(8).tolist() == [c[4] for c in closed]
    assert tail["volume"].round(4).tolist() == [round(c[5], 4) for c in closed]


async def test_delisted_symbol_leaves_exchange_info_and_klines_answer_bad_symbol(
    exchange_server: ExchangeServer,
) -> None:
    client = binance_client(exchange_server)
    try:
        await client.load_markets()
        await exchange_server.delist("DOGE/USDT")
        with pytest.raises(ccxt.BadSymbol):
            await client.fetch_ohlcv("DOGE/USDT", "5m", limit=5)
        with pytest.raises(ccxt.BadSymbol):
            await client.fetch_ticker("DOGE/USDT")
        reloaded = await client.load_markets(reload=True)
        assert "DOGE/USDT" not in reloaded and len(reloaded) == 49
    finally:
        await client.close()


async def test_used_weight_header_and_429_with_retry_after() -> None:
    from tests.fixtures.exchange import start_exchange_server

    server = await start_exchange_server(n_symbols=5, seed=1, weight_limit=50)
    client = binance_client(server)
    client.enableRateLimit = False
    try:
        await client.fetch_time()
        assert client.last_response_headers["X-MBX-USED-WEIGHT-1M"] == "1"
        with pytest.raises(ccxt.DDoSProtection) as caught:
            for _ in range(100):
                await client.fetch_ohlcv("BTC/USDT", "5m", limit=5)  # weight 2 each
        assert "-1003" in str(caught.value)
        headers = client.last_response_headers
        assert 1 <= int(headers["Retry-After"]) <= 60
        assert int(headers["X-MBX-USED-WEIGHT-1M"]) <= 50
        stats = await server.stats()
        assert stats["rate_limited"] >= 1 and stats["status_codes"]["429"] >= 1
    finally:
        await client.close()
        await server.close()


async def test_public_errors_on_the_wire(exchange_server: ExchangeServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(exchange_server.url + "/api/v3/klines?symbol=NOPEUSDT&interval=5m") as resp:
            assert resp.status == 400 and await resp.json() == {"code": -1121, "msg": "Invalid symbol."}
        async with http.get(exchange_server.url + "/api/v3/klines?symbol=BTCUSDT&interval=7m") as resp:
            assert (await resp.json())["code"] == -1120
        async with http.get(exchange_server.url + "/api/v3/depth") as resp:
            assert (await resp.json())["code"] == -1102
        async with http.get(exchange_server.url + "/api/v3/depth?symbol=BTCUSDT&limit=ten") as resp:
            assert resp.status == 400 and (await resp.json())["code"] == -1100


async def test_speed_moves_the_market_clock_in_real_time() -> None:
    import asyncio

    from tests.fixtures.exchange import start_exchange_server

    server = await start_exchange_server(n_symbols=3, seed=2, speed=600)  # 1 s = 10 min
    try:
        start = await server.now()
        await asyncio.sleep(1.0)
        moved = await server.now() - start
        assert 300_000 <= moved <= 900_000
        client = binance_client(server)
        try:
            candles = await client.fetch_ohlcv("BTC/USDT", "5m", limit=3)
            assert candles[-1][0] > start  # new synthetic candles were generated as time passed
        finally:
            await client.close()
    finally:
        await server.close()


async def test_clock_control_refuses_bad_requests(exchange_server: ExchangeServer) -> None:
    now = await exchange_server.now()
    assert (await exchange_server.set_clock(now + 600_000))["now"] == now + 600_000
    with pytest.raises(AssertionError, match="400"):
        await exchange_server.set_clock(now)  # backwards
    with pytest.raises(AssertionError, match="400"):
        await exchange_server.advance("soon")
