"""Binance spot public endpoints (and the futures/margin ones an unconfigured ccxt asks for, served empty)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from sandbox.exchange import errors as err
from sandbox.exchange import quotes
from sandbox.exchange.auth import read_parts
from sandbox.exchange.errors import BinanceError
from sandbox.exchange.exchange_info import symbol_info
from sandbox.exchange.markets import Symbol
from sandbox.exchange.state import SandboxState
from sandbox.exchange.timeframes import INTERVALS, timeframe_ms


def _int(params: dict[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise err.illegal(name) from exc


def public_routes(state: SandboxState) -> list[web.RouteDef]:
    markets = state.markets

    def one_symbol(params: dict[str, str], required: bool = True) -> Symbol | None:
        name = params.get("symbol")
        if not name:
            if required:
                raise err.mandatory("symbol")
            return None
        sym = markets.get(name)
        if sym is None:
            raise err.invalid_symbol()
        return sym

    def many_symbols(params: dict[str, str]) -> list[Symbol] | None:
        sym = one_symbol(params, required=False)
        if sym is not None:
            return [sym]
        raw = params.get("symbols")
        if not raw:
            return None
        try:
            names = json.loads(raw)
        except ValueError as exc:
            raise BinanceError(-1100, "Illegal characters found in parameter 'symbols'.") from exc
        found = [markets.get(str(n)) for n in names]
        if any(s is None for s in found):
            raise err.invalid_symbol()
        return [s for s in found if s is not None]

    def reply(data: Any) -> web.Response:
        return web.json_response(data)

    async def ping(request: web.Request) -> web.Response:
        return reply({})

    async def server_time(request: web.Request) -> web.Response:
        return reply({"serverTime": state.clock.now_ms})

    def info_payload(symbols: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "timezone": "UTC",
            "serverTime": state.clock.now_ms,
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": state.meter.limit,
                },
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
                {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
            ],
            "exchangeFilters": [],
            "symbols": symbols,
        }

    async def exchange_info(request: web.Request) -> web.Response:
        params = (await read_parts(request)).params
        chosen = many_symbols(params)
        if chosen is None:
            return reply(info_payload(state.exchange_info_symbols()))
        return reply(info_payload([symbol_info(s) for s in chosen]))

    async def derivatives_info(request: web.Request) -> web.Response:
        # the sandbox is spot-only: futures exchangeInfo exists but lists nothing
        payload = info_payload([])
        payload["assets"] = []
        return reply(payload)

    async def system_status(request: web.Request) -> web.Response:
        return reply({"status": 0, "msg": "normal"})

    async def klines(request: web.Request) -> web.Response:
        params = (await read_parts(request)).params
        sym = one_symbol(params)
        assert sym is not None
        interval = params.get("interval")
        if not interval:
            raise err.mandatory("interval")
        if interval not in INTERVALS:
            raise BinanceError(-1120, "Invalid interval.")
        interval_ms = timeframe_ms(interval)
        if interval_ms < markets.tf_ms or interval_ms % markets.tf_ms:
            # the sandbox can only aggregate its base timeframe upwards
            raise BinanceError(-1120, "Invalid interval.")
        limit = _int(params, "limit") or 500
        if limit < 1:
            raise BinanceError(-1130, "Data sent for parameter 'limit' is not valid.")
        rows = quotes.klines(
            sym,
            state.clock.now_ms,
            markets.tf_ms,
            interval_ms,
            _int(params, "startTime"),
            _int(params, "endTime"),
            min(limit, 1000),
        )
        return reply(rows)

    async def depth(request: web.Request) -> web.Response:
        params = (await read_parts(request)).params
        sym = one_symbol(params)
        assert sym is not None
        limit = min(_int(params, "limit") or 100, 5000)
        return reply(quotes.depth(sym, state.clock.now_ms, limit))

    def per_symbol(fn: Any) -> Any:
        async def handler(request: web.Request) -> web.Response:
            params = (await read_parts(request)).params
            chosen = many_symbols(params)
            now = state.clock.now_ms
            if chosen is None:
                return reply([fn(s, now) for s in markets.listed()])
            if params.get("symbol"):
                return reply(fn(chosen[0], now))
            return reply([fn(s, now) for s in chosen])

        return handler

    async def avg_price(request: web.Request) -> web.Response:
        params = (await read_parts(request)).params
        sym = one_symbol(params)
        assert sym is not None
        now = state.clock.now_ms
        index = max(0, sym.index_at(now))
        return reply({"mins": 5, "price": sym.fmt_price(sym.c[index]), "closeTime": now})

    def ticker_24h(sym: Symbol, now: int) -> dict[str, Any]:
        return quotes.ticker_24h(sym, now, markets.tf_ms)

    async def empty_list(request: web.Request) -> web.Response:
        state.auth.by_key(request)
        return reply([])

    return [
        web.get("/api/v3/ping", ping),
        web.get("/api/v3/time", server_time),
        web.get("/api/v3/exchangeInfo", exchange_info),
        web.get("/api/v3/klines", klines),
        web.get("/api/v3/uiKlines", klines),
        web.get("/api/v3/depth", depth),
        web.get("/api/v3/avgPrice", avg_price),
        web.get("/api/v3/ticker/24hr", per_symbol(ticker_24h)),
        web.get("/api/v3/ticker/price", per_symbol(quotes.last_price)),
        web.get("/api/v3/ticker/bookTicker", per_symbol(quotes.book_ticker)),
        web.get("/fapi/v1/exchangeInfo", derivatives_info),
        web.get("/dapi/v1/exchangeInfo", derivatives_info),
        web.get("/sapi/v1/system/status", system_status),
        web.get("/sapi/v1/margin/allPairs", empty_list),
        web.get("/sapi/v1/margin/isolated/allPairs", empty_list),
    ]
