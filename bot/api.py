"""The read-only HTTP API (aiohttp): health, the caller's status and open positions, admin stats.

JSON only; money as decimal strings (never floats), times ISO-8601 UTC. Auth is
`Authorization: Bearer <key>` (core/services/api_keys.py); the presented key is never echoed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.db.models import CycleRun, Position, User
from core.services import api_keys
from core.services.admin import system_stats
from core.services.positions import open_positions
from core.services.status import last_cycle_time, user_status

log = logging.getLogger("api")

SESSIONMAKER = web.AppKey("sessionmaker", async_sessionmaker[AsyncSession])
SETTINGS = web.AppKey("settings", Settings)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def money(value: Decimal | None) -> str | None:
    """Plain notation (no exponent), so the string parses back to the same Decimal."""
    return None if value is None else format(value, "f")


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure as JSON: ours, aiohttp's own (404, 405) and unexpected ones (no details)."""
    try:
        return await handler(request)
    except ApiError as exc:
        return web.json_response({"error": exc.message}, status=exc.status)
    except web.HTTPException as exc:
        return web.json_response({"error": exc.reason}, status=exc.status)
    except Exception:
        log.exception("API %s %s failed", request.method, request.path)
        return web.json_response({"error": "internal error"}, status=500)


async def _caller(request: web.Request, session: AsyncSession) -> User:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "missing API key (Authorization: Bearer <key>)")
    user = await api_keys.authenticate(session, key.strip())
    if user is None:
        raise ApiError(401, "invalid or revoked API key")
    return user


async def health(request: web.Request) -> web.Response:
    try:
        async with request.app[SESSIONMAKER]() as session:
            last = await last_cycle_time(session)
    except SQLAlchemyError:
        log.exception("API health: database unavailable")
        return web.json_response({"ok": False, "last_cycle": None}, status=503)
    return web.json_response({"ok": True, "last_cycle": iso(last)})


async def me(request: web.Request) -> web.Response:
    async with request.app[SESSIONMAKER]() as session, session.begin():
        user = await _caller(request, session)
        status = await user_status(session, user)
        body = {
            "telegram_id": user.telegram_id,
            "mode": status.mode.value,
            "trading": status.trading,
            "exits_only": status.exits_only,
            "deposit": money(status.deposit),
            "risk": {
                "risk_per_trade_pct": money(user.risk_per_trade_pct),
                "max_open_positions": user.max_open_positions,
                "max_symbol_share_pct": money(user.max_symbol_share_pct),
                "daily_loss_limit_pct": money(user.daily_loss_limit_pct),
            },
            "strategies": list(user.strategies),
            "open_positions": status.open_positions,
            "realized_today": money(status.realized_today),
            "last_cycle": iso(status.last_cycle),
        }
    return web.json_response(body)


def _position(p: Position) -> dict[str, Any]:
    return {
        "id": p.id,
        "symbol": p.symbol,
        "side": p.side,
        "mode": p.mode.value,
        "amount": money(p.amount),
        "entry_price": money(p.entry_price),
        "stop_price": money(p.stop_price),
        "targets": p.targets,  # stored with decimal strings already
        "opened_at": iso(p.opened_at),
    }


async def positions(request: web.Request) -> web.Response:
    async with request.app[SESSIONMAKER]() as session, session.begin():
        user = await _caller(request, session)
        rows = await open_positions(session, user.id)  # the caller's own, by user id
        body = {"positions": [_position(p) for p in rows]}
    return web.json_response(body)


def _cycle(c: CycleRun | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "started_at": iso(c.started_at),
        "finished_at": iso(c.finished_at),
        "candle_time": iso(c.candle_time),
        "stage_seconds": c.stage_seconds,
        "symbols": c.symbols,
        "users_processed": c.users_processed,
        "orders_sent": c.orders_sent,
        "errors": c.errors,
    }


async def stats(request: web.Request) -> web.Response:
    async with request.app[SESSIONMAKER]() as session, session.begin():
        user = await _caller(request, session)
        if user.telegram_id not in request.app[SETTINGS].admin_ids:
            raise ApiError(403, "admins only")
        s = await system_stats(session)
        body = {
            "last_cycle": _cycle(s.last_cycle),
            "cycles_today": s.cycles_today,
            "avg_cycle_seconds": s.avg_cycle_seconds,
            "orders_today": s.orders_today,
            "rejected_today": s.rejected_today,
            "cycle_errors_today": s.cycle_errors_today,
            "model_version": s.model_version,
            "stage_seconds": s.stage_seconds,
        }
    return web.json_response(body)


def build_api(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> web.Application:
    app = web.Application(middlewares=[json_errors])
    app[SESSIONMAKER] = sessionmaker
    app[SETTINGS] = settings
    app.router.add_get("/api/v1/health", health)
    app.router.add_get("/api/v1/me", me)
    app.router.add_get("/api/v1/positions", positions)
    app.router.add_get("/api/v1/stats", stats)
    return app


@dataclass
class ApiServer:
    runner: web.AppRunner
    url: str  # http://host:port with the bound port (useful with port 0)

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_api(app: web.Application, host: str, port: int) -> ApiServer:
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1]
    log.info("HTTP API listening on http://%s:%s/api/v1/", host, bound)
    return ApiServer(runner, f"http://{host}:{bound}")
