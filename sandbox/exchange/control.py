"""The control API for tests and demos (documented in sandbox/README.md, section "Exchange server")."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from sandbox.exchange import views
from sandbox.exchange.accounts import KEY_FORMAT, Account, fmt
from sandbox.exchange.faults import Fault
from sandbox.exchange.state import SandboxState
from sandbox.exchange.timeframes import duration_ms


def _bad(message: str, status: int = 400) -> web.HTTPException:
    return web.HTTPBadRequest(text=message) if status == 400 else web.HTTPNotFound(text=message)


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError as exc:
        raise _bad("body must be JSON") from exc
    if not isinstance(data, dict):
        raise _bad("body must be a JSON object")
    return data


def control_routes(state: SandboxState) -> list[web.RouteDef]:
    def account_of(request: web.Request) -> Account:
        account = state.accounts.get(request.match_info["api_key"])
        if account is None:
            raise _bad("no such account", 404)
        return account

    def account_view(account: Account) -> dict[str, Any]:
        return {
            "api_key": account.api_key,
            "can_withdraw": account.can_withdraw,
            "revoked": account.revoked,
            "balances": {
                a: {"free": fmt(b.free), "locked": fmt(b.locked)} for a, b in sorted(account.balances.items())
            },
        }

    async def create_account(request: web.Request) -> web.Response:
        data = await _json(request)
        key, secret = data.get("api_key"), data.get("secret")
        if not isinstance(key, str) or not KEY_FORMAT.match(key):
            raise _bad("api_key must be 1-128 characters of A-Z a-z 0-9 _ -")
        if not isinstance(secret, str) or not secret:
            raise _bad("secret is required")
        balances = data.get("balances", {})
        try:
            parsed = {str(a): Decimal(str(v)) for a, v in dict(balances).items()}
        except (InvalidOperation, TypeError, ValueError) as exc:
            raise _bad("balances must map assets to decimal amounts") from exc
        if not all(v.is_finite() and v >= 0 for v in parsed.values()):  # "NaN" and "-5" parse too
            raise _bad("balances must map assets to decimal amounts")
        account = state.accounts.get(key)
        if account is None:
            account = state.accounts[key] = Account(key, secret)
        account.secret, account.revoked = secret, False
        account.can_withdraw = bool(data.get("can_withdraw", False))
        account.set_balances(parsed)
        return web.json_response(account_view(account), status=201)

    async def get_account(request: web.Request) -> web.Response:
        return web.json_response(account_view(account_of(request)))

    async def revoke(request: web.Request) -> web.Response:
        account = account_of(request)
        account.revoked = True
        return web.json_response({"api_key": account.api_key, "revoked": True})

    async def orders(request: web.Request) -> web.Response:
        account = account_of(request)
        return web.json_response([views.received(e) for e in account.received])

    async def add_fault(request: web.Request) -> web.Response:
        try:
            fault = Fault.from_json(await _json(request))
        except (ValueError, TypeError) as exc:
            raise _bad(str(exc)) from exc
        state.faults.add(fault)
        return web.json_response({"pending": len(state.faults.pending)}, status=201)

    async def clear_faults(request: web.Request) -> web.Response:
        state.faults.clear()
        return web.json_response({"pending": 0})

    async def clock(request: web.Request) -> web.Response:
        data = await _json(request)
        before = state.limit_fills
        try:
            if "advance" in data:
                state.clock.advance(duration_ms(str(data["advance"])))
            elif "set" in data:
                state.clock.set(int(data["set"]))
            else:
                raise ValueError('send {"advance": "5m"} or {"set": <ms>}')
        except ValueError as exc:
            raise _bad(str(exc)) from exc
        return web.json_response({"now": state.clock.now_ms, "limit_fills": state.limit_fills - before})

    async def get_clock(request: web.Request) -> web.Response:
        return web.json_response({"now": state.clock.now_ms, "speed": state.clock.speed})

    async def delist(request: web.Request) -> web.Response:
        sym = state.markets.find(request.match_info["symbol"])
        if sym is None:
            raise _bad("no such symbol", 404)
        sym.listed = False
        state.listing_changed()
        cancelled = state.desk.cancel_symbol(sym.id, state.clock.now_ms)
        return web.json_response({"symbol": sym.id, "listed": False, "cancelled_orders": cancelled})

    async def symbols(request: web.Request) -> web.Response:
        return web.json_response([s.unified for s in state.markets.listed()])

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "requests": dict(state.requests),
                "status_codes": {str(k): v for k, v in state.status_codes.items()},
                "weight_used": state.meter.total(),  # this minute, all client IPs
                "weight_limit": state.meter.limit,
                "rate_limited": state.meter.rejected,
                "faults_fired": state.faults.fired,
                "faults_pending": len(state.faults.pending),
                "limit_fills": state.limit_fills,
                "now": state.clock.now_ms,
            }
        )

    return [
        web.post("/sandbox/accounts", create_account),
        web.get("/sandbox/accounts/{api_key}", get_account),
        web.delete("/sandbox/accounts/{api_key}", revoke),
        web.get("/sandbox/accounts/{api_key}/orders", orders),
        web.post("/sandbox/faults", add_fault),
        web.delete("/sandbox/faults", clear_faults),
        web.post("/sandbox/clock", clock),
        web.get("/sandbox/clock", get_clock),
        web.get("/sandbox/symbols", symbols),
        web.post("/sandbox/symbols/{symbol}/delist", delist),
        web.get("/sandbox/stats", stats),
    ]
