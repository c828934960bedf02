"""The sandbox exchange: an aiohttp server speaking Binance spot's REST dialect to real ccxt clients.

sandbox = ExchangeSandbox(n_symbols=50, seed=7)
url = await sandbox.start()          # http://127.0.0.1:<port>
...                                  # point ccxt's urls['api'] at `url` (core.exchange.make_client)
await sandbox.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

from aiohttp import web

from sandbox.exchange import errors as err
from sandbox.exchange.api_private import private_routes
from sandbox.exchange.api_public import public_routes
from sandbox.exchange.control import control_routes
from sandbox.exchange.errors import BinanceError
from sandbox.exchange.faults import Fault
from sandbox.exchange.state import FAULTS, SandboxOptions, SandboxState
from sandbox.exchange.weights import request_weight

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ExchangeSandbox:
    def __init__(
        self,
        *,
        n_symbols: int = 50,
        seed: int = 42,
        candles_dir: str | Path | None = None,
        speed: float = 0.0,
        timeframe: str = "5m",
        taker_fee: Decimal | str = Decimal("0.001"),
        maker_fee: Decimal | str = Decimal("0.001"),
        slippage: Decimal | str = Decimal("0"),
        weight_limit: int = 6000,
        history: int = 2000,
        start_ms: int | None = None,
        client_id_scope: str = "open",
    ):
        if client_id_scope not in ("open", "all"):
            raise ValueError("client_id_scope must be 'open' (Binance) or 'all'")
        self.options = SandboxOptions(
            n_symbols=n_symbols,
            seed=seed,
            candles_dir=candles_dir,
            speed=speed,
            timeframe=timeframe,
            taker_fee=Decimal(taker_fee),
            maker_fee=Decimal(maker_fee),
            slippage=Decimal(slippage),
            weight_limit=weight_limit,
            history=history,
            start_ms=start_ms,
            client_id_scope=client_id_scope,
        )
        self.state = SandboxState(self.options)
        self.url: str | None = None
        self._runner: web.AppRunner | None = None

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.add_routes(public_routes(self.state))
        app.add_routes(private_routes(self.state))
        app.add_routes(control_routes(self.state))
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.build_app(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        bound = sockets[0].getsockname()[1] if sockets else port
        self.url = f"http://{host}:{bound}"
        self.state.clock.start()
        return self.url

    async def stop(self) -> None:
        self.state.stopping.set()
        await self.state.clock.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- request pipeline: stats, faults, weight, Binance errors -----------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        state = self.state
        state.requests[f"{request.method} {request.path}"] += 1
        if request.path.startswith("/sandbox/"):
            return await handler(request)
        used_header: dict[str, str] = {}
        if request.path.startswith("/api/"):
            ip = request.remote or "?"
            weight = request_weight(request.path, request.method, dict(request.query))
            if not state.meter.take(ip, weight):
                used = str(state.meter.used(ip))
                state.status_codes[429] += 1
                code, msg = err.TOO_MUCH_WEIGHT
                return web.json_response(
                    {"code": code, "msg": msg.format(limit=state.meter.limit)},
                    status=429,
                    headers={
                        "Retry-After": str(state.meter.retry_after()),
                        "X-MBX-USED-WEIGHT-1M": used,
                        "X-MBX-USED-WEIGHT": used,
                    },
                )
            used = str(state.meter.used(ip))
            used_header = {"X-MBX-USED-WEIGHT-1M": used, "X-MBX-USED-WEIGHT": used}
        fault = state.faults.take(request.method, request.path)
        if fault is None:
            response = await self._answer(request, handler)
        else:
            response = await self._faulted(request, handler, fault)
        response.headers.update(used_header)
        state.status_codes[response.status] += 1
        return response

    async def _answer(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except BinanceError as exc:
            return web.json_response(exc.body(), status=exc.status)
        except web.HTTPException as exc:
            if exc.status == 404 and request.path.startswith(("/api/", "/sapi/", "/fapi/", "/dapi/")):
                return web.Response(status=404, text="<html><body><h1>404 Not Found</h1></body></html>")
            raise

    async def _faulted(self, request: web.Request, handler: Handler, fault: Fault) -> web.StreamResponse:
        request[FAULTS] = [fault.kind]
        log.info("fault %s on %s %s", fault.kind, request.method, request.path)
        response: web.StreamResponse | None = None
        if fault.execute:
            response = await self._answer(request, handler)
        if fault.kind == "http_500":
            return web.Response(status=500, text="Internal Server Error", content_type="text/html")
        if fault.kind == "http_429":
            code, msg = err.TOO_MUCH_WEIGHT
            body = {"code": code, "msg": msg.format(limit=self.state.meter.limit)}
            return web.json_response(body, status=429, headers={"Retry-After": str(fault.retry_after)})
        if fault.kind == "timeout":
            await self._sleep(fault.delay)
            if response is not None and not self.state.stopping.is_set():
                return response
        self._drop(request)
        return web.Response(status=204)  # never delivered: the transport is already closed

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.state.stopping.wait(), seconds)

    @staticmethod
    def _drop(request: web.Request) -> None:
        transport = request.transport
        if transport is not None:
            transport.abort()
