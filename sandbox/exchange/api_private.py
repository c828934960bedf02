"""Binance spot signed endpoints: account, orders, trades, and the wallet endpoints ccxt asks for."""

from __future__ import annotations

import zlib
from typing import Any

from aiohttp import web

from sandbox.exchange import errors as err
from sandbox.exchange import views
from sandbox.exchange.accounts import ZERO, Account, fmt
from sandbox.exchange.auth import RequestParts, read_parts
from sandbox.exchange.errors import BinanceError
from sandbox.exchange.state import FAULTS, SandboxState


def _int(params: dict[str, str], name: str) -> int | None:
    raw = params.get(name)
    if not raw:
        return None
    if not raw.lstrip("-").isdigit():
        raise err.illegal(name)
    return int(raw)


def private_routes(state: SandboxState) -> list[web.RouteDef]:
    desk, markets = state.desk, state.markets

    async def signed(request: web.Request) -> tuple[Account, RequestParts]:
        parts = await read_parts(request)
        return state.auth.signed(request, parts), parts

    def symbol_param(params: dict[str, str]) -> str:
        symbol = params.get("symbol")
        if not symbol:
            raise err.mandatory("symbol")
        if symbol not in markets.symbols:
            raise err.invalid_symbol()
        return symbol

    async def account_info(request: web.Request) -> web.Response:
        account, parts = await signed(request)
        omit_zero = parts.params.get("omitZeroBalances") == "true"
        rates = state.fill_model
        maker_bp, taker_bp = int(rates.maker_fee * 10000), int(rates.taker_fee * 10000)
        balances = [
            {"asset": asset, "free": fmt(b.free), "locked": fmt(b.locked)}
            for asset, b in sorted(account.balances.items())
            if not omit_zero or b.free or b.locked
        ]
        return web.json_response(
            {
                "makerCommission": maker_bp,
                "takerCommission": taker_bp,
                "buyerCommission": 0,
                "sellerCommission": 0,
                "commissionRates": {
                    "maker": fmt(rates.maker_fee),
                    "taker": fmt(rates.taker_fee),
                    "buyer": fmt(ZERO),
                    "seller": fmt(ZERO),
                },
                "canTrade": account.can_trade,
                "canWithdraw": account.can_withdraw,
                "canDeposit": True,
                "brokered": False,
                "requireSelfTradePrevention": False,
                "preventSor": False,
                "updateTime": account.update_time,
                "accountType": "SPOT",
                "balances": balances,
                "permissions": ["SPOT"],
                "uid": zlib.crc32(account.api_key.encode()) % 10**9,
            }
        )

    async def new_order(request: web.Request) -> web.Response:
        account, parts = await signed(request)
        order = desk.place(account, parts.params, state.clock.now_ms, list(request.get(FAULTS, [])))
        resp_type = parts.params.get("newOrderRespType") or "FULL"
        if resp_type == "ACK":
            return web.json_response(views.order_ack(order))
        if resp_type == "RESULT":
            return web.json_response(views.order_result(order))
        return web.json_response(views.order_full(order))

    async def test_order(request: web.Request) -> web.Response:
        # only the signature and the symbol are checked; nothing is placed
        _, parts = await signed(request)
        symbol_param(parts.params)
        return web.json_response({})

    async def query_order(request: web.Request) -> web.Response:
        account, parts = await signed(request)
        order = desk.find(account, parts.params)
        if order is None:
            raise err.error(err.ORDER_NOT_FOUND)
        return web.json_response(views.order_status(order))

    async def cancel_order(request: web.Request) -> web.Response:
        account, parts = await signed(request)
        order = desk.cancel(account, parts.params, state.clock.now_ms)
        body = views.order_status(order)
        body["origClientOrderId"] = order.client_order_id
        body["clientOrderId"] = parts.params.get("newClientOrderId") or f"cancel{order.order_id}"
        body["transactTime"] = state.clock.now_ms
        return web.json_response(body)

    async def open_orders(request: web.Request) -> web.Response:
        account, parts = await signed(request)
        symbol = parts.params.get("symbol")
        if symbol:
            symbol_param(parts.params)
        found = [
            views.order_status(o)
            for o in account.orders.values()
            if o.is_open and (not symbol or o.symbol == symbol)
        ]
        return web.json_response(found)

    async def cancel_open_orders(request: web.Request) -> web.Response:
        account, parts = await signed(request)
        symbol = symbol_param(parts.params)
        cancelled = desk.cancel_all(account, symbol, state.clock.now_ms)
        return web.json_response([views.order_status(o) for o in cancelled])

    def window(items: list[Any], params: dict[str, str], time_of: Any, id_of: Any) -> list[Any]:
        start, end = _int(params, "startTime"), _int(params, "endTime")
        from_id = _int(params, "fromId") if "fromId" in params else _int(params, "orderId")
        limit = min(_int(params, "limit") or 500, 1000)
        picked = [
            x
            for x in items
            if (start is None or time_of(x) >= start)
            and (end is None or time_of(x) <= end)
            and (from_id is None or id_of(x) >= from_id)
        ]
        return picked[:limit] if from_id is not None or start is not None else picked[-limit:]

    async def all_orders(request: web.Request) -> web.Response:
        account, parts = await signed(request)
        symbol = symbol_param(parts.params)
        orders = [o for o in account.orders.values() if o.symbol == symbol]
        picked = window(orders, parts.params, lambda o: o.time, lambda o: o.order_id)
        return web.json_response([views.order_status(o) for o in picked])

    async def my_trades(request: web.Request) -> web.Response:
        account, parts = await signed(request)
        params = parts.params
        symbol = symbol_param(params)
        trades = [t for t in account.trades if t.symbol == symbol]
        if params.get("orderId"):
            order_id = _int(params, "orderId")
            trades = [t for t in trades if t.order_id == order_id]
            params = {k: v for k, v in params.items() if k != "orderId"}
        picked = window(trades, params, lambda t: t.time, lambda t: t.id)
        return web.json_response([views.my_trade(t) for t in picked])

    async def api_restrictions(request: web.Request) -> web.Response:
        account, _ = await signed(request)
        return web.json_response(
            {
                "ipRestrict": False,
                "createTime": 1_700_000_000_000,
                "enableReading": True,
                "enableSpotAndMarginTrading": account.can_trade,
                "enableWithdrawals": account.can_withdraw,
                "enableInternalTransfer": False,
                "enableMargin": False,
                "enableFutures": False,
                "permitsUniversalTransfer": False,
                "enableVanillaOptions": False,
                "enableFixApiTrade": False,
                "enableFixReadOnly": False,
                "enablePortfolioMarginTrading": False,
            }
        )

    async def capital_config(request: web.Request) -> web.Response:
        account, _ = await signed(request)
        assets = sorted({s.base for s in markets.listed()} | {s.quote for s in markets.listed()})
        out = []
        for coin in assets:
            bal = account.balances.get(coin)
            out.append(
                {
                    "coin": coin,
                    "depositAllEnable": True,
                    "withdrawAllEnable": account.can_withdraw,
                    "name": coin,
                    "free": fmt(bal.free) if bal else "0",
                    "locked": fmt(bal.locked) if bal else "0",
                    "freeze": "0",
                    "withdrawing": "0",
                    "ipoing": "0",
                    "ipoable": "0",
                    "storage": "0",
                    "isLegalMoney": False,
                    "trading": True,
                    "networkList": [
                        {
                            "network": coin,
                            "coin": coin,
                            "withdrawIntegerMultiple": "0.00000001",
                            "isDefault": True,
                            "depositEnable": True,
                            "withdrawEnable": account.can_withdraw,
                            "depositDesc": "",
                            "withdrawDesc": "",
                            "specialTips": "",
                            "name": coin,
                            "resetAddressStatus": False,
                            "addressRegex": "",
                            "memoRegex": "",
                            "withdrawFee": "0",
                            "withdrawMin": "0",
                            "withdrawMax": "9999999999",
                            "minConfirm": 1,
                            "unLockConfirm": 0,
                            "sameAddress": False,
                            "busy": False,
                        }
                    ],
                }
            )
        return web.json_response(out)

    async def not_found(request: web.Request) -> web.Response:
        raise BinanceError(-1000, "An unknown error occured while processing the request.", 404)

    return [
        web.get("/api/v3/account", account_info),
        web.post("/api/v3/order", new_order),
        web.post("/api/v3/order/test", test_order),
        web.get("/api/v3/order", query_order),
        web.delete("/api/v3/order", cancel_order),
        web.get("/api/v3/openOrders", open_orders),
        web.delete("/api/v3/openOrders", cancel_open_orders),
        web.get("/api/v3/allOrders", all_orders),
        web.get("/api/v3/myTrades", my_trades),
        web.get("/sapi/v1/account/apiRestrictions", api_restrictions),
        web.get("/sapi/v1/capital/config/getall", capital_config),
    ]
