"""The market stage end to end over the sandbox: universe, delisting, markets sharing, request budget."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from core.market.markets import MarketRegistry
from core.market.problematic import ProblematicSymbols
from core.market.stage import MarketStage
from core.market.timeframes import last_closed_open
from core.market.universe import UniverseRules
from tests.fixtures.exchange import ExchangeServer, running_exchange
from tests.market.conftest import make_store, requests_to

TF = 300_000
EXCHANGE_INFO = "GET /api/v3/exchangeInfo"


def stage_on(client: Any, **kwargs: Any) -> MarketStage:
    return MarketStage({"binance": make_store(client)}, **kwargs)


async def test_stage_builds_the_frame_and_drops_a_delisted_symbol(
    exchange_server: ExchangeServer, clients: Callable[..., Any]
) -> None:
    stage = stage_on(clients(exchange_server))
    symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "DOGE/USDT", "LINK/USDT"]
    first = await stage.run("binance", symbols, "5m", 200)
    assert first.frame.symbols == tuple(symbols)
    assert first.frame.close.shape == (5, 200)
    assert int(first.frame.times[-1]) == last_closed_open(first.now_ms, TF)
    assert not np.isnan(first.frame.close).any()

    await exchange_server.delist("DOGE/USDT")
    await exchange_server.advance("5m")
    before = await requests_to(exchange_server)
    second = await stage.run("binance", symbols, "5m", 200)
    # the exchange no longer quotes it: out of this cycle; the others moved on by one candle
    assert second.frame.symbols == ("BTC/USDT", "ETH/USDT", "SOL/USDT", "LINK/USDT")
    assert second.universe.rejected["DOGE/USDT"] == "no ticker"
    assert int(second.frame.times[-1]) == int(first.frame.times[-1]) + TF
    np.testing.assert_array_equal(second.frame.close[0, :-1], first.frame.close[0, 1:])
    assert await requests_to(exchange_server) - before == 4


async def test_symbol_delisted_between_tickers_and_candles_goes_to_the_problem_cache(
    exchange_server: ExchangeServer, clients: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    state = exchange_server.sandbox.state

    def clock_that_delists_doge() -> int:
        # the stage reads the clock after the tickers and before the candles: delist right there
        doge = state.markets.find("DOGE/USDT")
        if doge is not None and doge.listed and state.clock.now_ms > start:
            doge.listed = False
            state.listing_changed()
        return int(state.clock.now_ms)

    start = await exchange_server.now()
    stage = stage_on(clients(exchange_server), clock=clock_that_delists_doge)
    symbols = ["BTC/USDT", "ETH/USDT", "DOGE/USDT"]
    assert (await stage.run("binance", symbols, "5m", 100)).frame.symbols == tuple(symbols)

    await exchange_server.advance("5m")
    caplog.set_level(logging.WARNING, logger="core.market")
    before = await requests_to(exchange_server)
    second = await stage.run("binance", symbols, "5m", 100)
    assert second.frame.symbols == ("BTC/USDT", "ETH/USDT")
    assert await requests_to(exchange_server) - before == 3  # DOGE asked once, answered -1121
    assert "BadSymbol" in (stage.problematic.reason("binance", "DOGE/USDT") or "")
    assert second.universe.rejected["DOGE/USDT"] == "problematic: market error"

    await exchange_server.advance("5m")
    before = await requests_to(exchange_server)
    third = await stage.run("binance", symbols, "5m", 100)
    assert third.frame.symbols == ("BTC/USDT", "ETH/USDT")
    assert third.universe.rejected["DOGE/USDT"].startswith("problematic: BadSymbol")
    assert await requests_to(exchange_server) - before == 2  # not asked again while skipped
    assert len([r for r in caplog.records if "DOGE/USDT" in r.getMessage()]) == 1


async def test_problematic_symbol_comes_back_after_the_ttl(
    exchange_server: ExchangeServer, clients: Callable[..., Any]
) -> None:
    clock = {"now": 0.0}
    problems = ProblematicSymbols(ttl_seconds=900, clock=lambda: clock["now"])
    stage = stage_on(clients(exchange_server), problematic=problems)
    symbols = ["BTC/USDT", "ETH/USDT"]
    stage.mark_problematic("binance", "ETH/USDT", "order failed: -1013 Filter failure")
    skipped = await stage.run("binance", symbols, "5m", 50)
    assert skipped.frame.symbols == ("BTC/USDT",)
    clock["now"] += 900
    back = await stage.run("binance", symbols, "5m", 50)
    assert back.frame.symbols == ("BTC/USDT", "ETH/USDT")


async def test_transient_failure_is_not_a_market_error(
    exchange_server: ExchangeServer, clients: Callable[..., Any]
) -> None:
    from tests.market.conftest import fast_backoff

    stage = MarketStage({"binance": make_store(clients(exchange_server), backoff=fast_backoff(attempts=2))})
    await exchange_server.fault("/api/v3/klines", "http_500", count=2)
    result = await stage.run("binance", ["BTC/USDT"], "5m", 50)
    assert result.frame.symbols == ()
    assert "BTC/USDT" in result.errors
    assert not stage.problematic.is_problematic("binance", "BTC/USDT")
    recovered = await stage.run("binance", ["BTC/USDT"], "5m", 50)
    assert recovered.frame.symbols == ("BTC/USDT",)


async def test_mass_market_errors_blame_the_exchange_not_the_symbols(
    exchange_server: ExchangeServer, clients: Callable[..., Any]
) -> None:
    state = exchange_server.sandbox.state
    symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT", "DOT/USDT", "LTC/USDT"]

    def clock_that_breaks_the_exchange() -> int:
        # every symbol answers -1121 between the tickers and the candles
        for name in symbols:
            sym = state.markets.find(name)
            assert sym is not None
            sym.listed = False
        return int(state.clock.now_ms)

    stage = stage_on(clients(exchange_server), clock=clock_that_breaks_the_exchange)
    result = await stage.run("binance", symbols, "5m", 50)
    assert result.frame.symbols == ()
    assert set(result.errors) == set(symbols)
    assert stage.problematic.active("binance") == {}


async def test_previous_tickers_stand_in_when_the_exchange_fails_them(
    exchange_server: ExchangeServer, clients: Callable[..., Any]
) -> None:
    from tests.market.conftest import fast_backoff

    stage = MarketStage({"binance": make_store(clients(exchange_server), backoff=fast_backoff(attempts=2))})
    first = await stage.run("binance", ["BTC/USDT", "ETH/USDT"], "5m", 50)
    await exchange_server.fault("/api/v3/ticker/24hr", "http_500", count=2)
    await exchange_server.advance("5m")
    second = await stage.run("binance", ["BTC/USDT", "ETH/USDT"], "5m", 50)
    assert second.frame.symbols == first.frame.symbols
    assert int(second.frame.times[-1]) == int(first.frame.times[-1]) + TF


async def test_symbols_without_the_newest_candle_are_left_out(
    exchange_server: ExchangeServer, clients: Callable[..., Any]
) -> None:
    state = exchange_server.sandbox.state
    # our clock two candles ahead of the exchange's: the newest candle we count as finished is not out
    stage = stage_on(clients(exchange_server), clock=lambda: int(state.clock.now_ms) + 2 * TF)
    result = await stage.run("binance", ["BTC/USDT", "ETH/USDT"], "5m", 50)
    assert result.frame.symbols == ()
    assert result.universe.rejected["BTC/USDT"].startswith("stale: newest candle opens at")


async def test_universe_volume_price_and_blacklist_over_the_sandbox(
    exchange_server: ExchangeServer, clients: Callable[..., Any]
) -> None:
    probe = clients(exchange_server)
    tickers = await probe.fetch_tickers()
    volumes = sorted(Decimal(str(t["quoteVolume"])) for t in tickers.values())
    min_volume = volumes[len(volumes) // 2]
    min_price = Decimal("1")
    rules = UniverseRules(quote="USDT", min_quote_volume=min_volume, min_price=min_price)
    stage = stage_on(clients(exchange_server), rules=rules)
    result = await stage.run("binance", None, "5m", 30, blacklist={"BTC", "ETH/USDT"})
    expected = sorted(
        s
        for s, t in tickers.items()
        if Decimal(str(t["quoteVolume"])) >= min_volume
        and Decimal(str(t["last"])) >= min_price
        and s not in ("BTC/USDT", "ETH/USDT")
    )
    assert sorted(result.frame.symbols) == expected
    assert 0 < len(expected) < len(tickers) // 2
    assert result.universe.rejected["BTC/USDT"] == "blacklisted"
    assert result.universe.rejected["ETH/USDT"] == "blacklisted"


async def test_minimum_age_drops_young_symbols(tmp_path: Path, clients: Callable[..., Any]) -> None:
    end = 1_790_000_000_000 // TF * TF
    for base, n in (("OLD", 600), ("MID", 300), ("NEW", 40)):
        ts = end - TF * np.arange(n - 1, -1, -1)
        price = np.linspace(10.0, 12.0, n)
        pd.DataFrame(
            {
                "date": ts,
                "open": price,
                "high": price * 1.01,
                "low": price * 0.99,
                "close": price,
                "volume": 1e6,
            }
        ).to_csv(tmp_path / f"{base}_USDT-5m.csv", index=False)
    async with running_exchange(candles_dir=tmp_path, start_ms=end + TF // 2, speed=0) as server:
        stage = stage_on(clients(server), rules=UniverseRules(min_age_candles=250))
        result = await stage.run("binance", None, "5m", 100)
        assert result.frame.symbols == ("MID/USDT", "OLD/USDT")
        # the sandbox's clock is inside the last file candle: it is running, so 39 finished ones
        assert result.universe.rejected["NEW/USDT"] == "age 39 < 250 candles"
        assert result.frame.close.shape == (2, 100)

        # without the age rule the young symbol is in, left-padded with NaN
        young = await stage_on(clients(server)).run("binance", None, "5m", 100)
        row = young.frame.index_of("NEW/USDT")
        assert np.isnan(young.frame.close[row, :61]).all()
        assert not np.isnan(young.frame.close[row, 61:]).any()


async def test_markets_load_once_refresh_hourly_and_are_shared_with_users(
    exchange_server: ExchangeServer, clients: Callable[..., Any]
) -> None:
    clock = {"now": 0.0}
    source = clients(exchange_server)
    registry = MarketRegistry({"binance": source}, clock=lambda: clock["now"])
    users = [clients(exchange_server, api_key=f"user{i}", secret="s") for i in range(30)]
    for user in users:
        await registry.attach(user)
    markets = await registry.get("binance")
    assert "BTC/USDT" in markets
    assert await requests_to(exchange_server, EXCHANGE_INFO) == 1
    for user in users:
        assert user.markets is source.markets
        assert user.market("ETH/USDT")["id"] == "ETHUSDT"
        await user.load_markets()  # already there: no request
    assert await requests_to(exchange_server, EXCHANGE_INFO) == 1

    clock["now"] += 3599
    await registry.get("binance")
    assert await requests_to(exchange_server, EXCHANGE_INFO) == 1
    clock["now"] += 1
    await exchange_server.delist("SOL/USDT")
    refreshed = await registry.get("binance")
    assert await requests_to(exchange_server, EXCHANGE_INFO) == 2
    assert "SOL/USDT" not in refreshed
    await registry.attach(users[0])
    assert "SOL/USDT" not in users[0].markets


@pytest.mark.slow
async def test_200_symbols_one_request_per_symbol_whatever_the_users(clients: Callable[..., Any]) -> None:
    async with running_exchange(n_symbols=200, seed=11, speed=0, history=600) as server:
        stage = stage_on(clients(server), rules=UniverseRules(quote="USDT"))
        registry = stage.registry
        warm = await stage.run("binance", None, "5m", 500)
        assert len(warm.frame.symbols) == 200
        assert await requests_to(server) == 200  # history fits one page each
        users = [clients(server, api_key=f"u{i}", secret="s") for i in range(100)]
        for cycle in range(3):
            await server.advance("5m")
            before = await requests_to(server)
            result = await stage.run("binance", None, "5m", 500)
            for user in users:  # every user reads the cycle's frame and shares the markets
                await registry.attach(user)
                assert result.frame.close.shape == (200, 500)
            made = await requests_to(server) - before
            assert made <= 200, f"cycle {cycle}: {made} OHLCV requests for 200 symbols"
            assert made == 200  # each symbol gained exactly one finished candle
            assert int(result.frame.times[-1]) == int(warm.frame.times[-1]) + (cycle + 1) * TF
        assert await requests_to(server, EXCHANGE_INFO) == 1
        stats = await server.stats()
        assert stats["requests"]["GET /api/v3/ticker/24hr"] == 4
        assert stats["status_codes"].get("429", 0) == 0
