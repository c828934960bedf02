"""Order placement, cancellation, look-up and resting-limit matching against the replayed candles."""

from __future__ import annotations

import re
import secrets
from decimal import Decimal, InvalidOperation

import numpy as np

from sandbox.exchange import errors as err
from sandbox.exchange.accounts import ZERO, Account, Order, Rejection, Trade
from sandbox.exchange.errors import BinanceError
from sandbox.exchange.fills import Fill, FillModel
from sandbox.exchange.markets import Markets, Symbol

CLIENT_ID = re.compile(r"^[a-zA-Z0-9\-_]{1,36}$")
NUMBER = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
MAX_PRICE_TICKS = Decimal(10) ** 9


def parse_decimal(params: dict[str, str], name: str) -> Decimal | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not NUMBER.match(raw):
        raise err.illegal(name)
    try:
        return Decimal(raw)
    except InvalidOperation as exc:
        raise err.illegal(name) from exc


class TradingDesk:
    """Executes orders with the shared fill model; `client_id_scope` is Binance's rule by default:
    a newClientOrderId must be unique among OPEN orders ("all" makes it unique forever)."""

    def __init__(self, markets: Markets, fill_model: FillModel, client_id_scope: str = "open"):
        self.markets, self.fm, self.client_id_scope = markets, fill_model, client_id_scope
        self._next_order_id, self._next_trade_id = 1, 1
        self.resting: dict[int, tuple[Account, Order]] = {}

    # -- placing -----------------------------------------------------------------------------------
    def place(self, account: Account, params: dict[str, str], now: int, faults: list[str]) -> Order:
        try:
            return self._place(account, params, now, faults)
        except BinanceError as exc:
            account.received.append(
                Rejection(
                    params.get("newClientOrderId"), _loggable(params), exc.code, exc.msg, now, list(faults)
                )
            )
            raise

    def _place(self, account: Account, params: dict[str, str], now: int, faults: list[str]) -> Order:
        sym = self.markets.get(params.get("symbol", ""))
        if sym is None:
            raise err.invalid_symbol() if params.get("symbol") else err.mandatory("symbol")
        side = params.get("side", "")
        if side not in ("BUY", "SELL"):
            raise BinanceError(-1117, "Invalid side.") if side else err.mandatory("side")
        kind = params.get("type", "")
        if kind not in ("MARKET", "LIMIT", "LIMIT_MAKER"):
            raise BinanceError(-1116, "Invalid orderType.") if kind else err.mandatory("type")
        client_id = params.get("newClientOrderId") or _generated_client_id()
        if not CLIENT_ID.match(client_id):
            legal = "^[a-zA-Z0-9-_]{1,36}$"
            raise BinanceError(
                -1100, f"Illegal characters found in parameter 'newClientOrderId'; legal range is '{legal}'."
            )
        if self._is_duplicate(account, client_id):
            raise err.error(err.DUPLICATE_ORDER)
        index = sym.index_at(now)
        if index < 0:
            raise BinanceError(-1013, "Market is closed.")
        ref = sym.price(sym.c[index])
        qty = parse_decimal(params, "quantity")
        quote_qty = parse_decimal(params, "quoteOrderQty")
        price = parse_decimal(params, "price")
        tif = params.get("timeInForce")
        lowered = side.lower()
        if kind == "MARKET":
            if (qty is None) == (quote_qty is None):
                raise BinanceError(
                    -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"
                )
            if quote_qty is not None:
                qty = self.fm.amount_for_quote(lowered, quote_qty, ref, sym.step, sym.tick)
            tif = None
        else:
            if qty is None:
                raise err.mandatory("quantity")
            if price is None:
                raise err.mandatory("price")
            if kind == "LIMIT" and tif not in ("GTC", "IOC", "FOK"):
                raise err.mandatory("timeInForce") if not tif else BinanceError(-1115, "Invalid timeInForce.")
            if kind == "LIMIT_MAKER":
                tif = "GTC"
            _check_price(sym, price)
        assert qty is not None
        _check_lot(sym, qty)
        notional = (price if kind != "MARKET" and price is not None else ref) * qty
        if notional < sym.min_notional:
            raise err.filter_failure("NOTIONAL")

        fill: Fill | None
        if kind == "MARKET":
            fill = self.fm.market(lowered, qty, ref, sym.tick)
        else:
            assert price is not None
            fill = self.fm.limit_on_place(lowered, qty, price, ref, sym.tick)
            if fill is not None and kind == "LIMIT_MAKER":
                raise BinanceError(-2010, "Order would immediately match and take.")
        order = Order(
            order_id=0,
            client_order_id=client_id,
            symbol=sym.id,
            side=side,
            type=kind,
            time_in_force=tif,
            price=price if kind != "MARKET" and price is not None else ZERO,
            orig_qty=qty,
            orig_quote_qty=quote_qty or ZERO,
            status="NEW",
            time=now,
            update_time=now,
            checked_index=index,
            faults=list(faults),
        )
        if fill is not None:
            self._require_for_fill(account, sym, side, fill)
        elif tif in ("IOC", "FOK"):
            order.status = "EXPIRED"
        else:
            self._lock_for_resting(account, sym, order)
        order.order_id = self._next_order_id
        self._next_order_id += 1
        account.orders[order.order_id] = order
        account.received.append(order)
        account.latest_by_client[client_id] = order.order_id
        if fill is not None:
            self._apply_fill(account, sym, order, fill, now)
        elif order.status == "NEW":
            account.open_by_client[client_id] = order.order_id
            self.resting[order.order_id] = (account, order)
        account.update_time = now
        return order

    def _is_duplicate(self, account: Account, client_id: str) -> bool:
        if self.client_id_scope == "all":
            return client_id in account.latest_by_client
        return client_id in account.open_by_client

    def _require_for_fill(self, account: Account, sym: Symbol, side: str, fill: Fill) -> None:
        if side == "BUY":
            needed, asset = fill.cost + fill.fee, sym.quote
        else:
            needed, asset = fill.amount, sym.base
        if account.balance(asset).free < needed:
            raise err.error(err.INSUFFICIENT_BALANCE)

    def _lock_for_resting(self, account: Account, sym: Symbol, order: Order) -> None:
        # a resting limit fills as maker at its own price, so this is exactly what the fill will take
        if order.side == "BUY":
            cost = order.price * order.orig_qty
            asset, amount = sym.quote, cost + self.fm.fee(cost, taker=False)
        else:
            asset, amount = sym.base, order.orig_qty
        bal = account.balance(asset)
        if bal.free < amount:
            raise err.error(err.INSUFFICIENT_BALANCE)
        bal.free -= amount
        bal.locked += amount
        order.locked_asset, order.locked = asset, amount

    def _apply_fill(self, account: Account, sym: Symbol, order: Order, fill: Fill, at: int) -> None:
        base, quote = account.balance(sym.base), account.balance(sym.quote)
        if order.locked_asset is not None:
            account.balance(order.locked_asset).locked -= order.locked
            order.locked = ZERO
        if order.side == "BUY":
            if order.locked_asset is None:
                quote.free -= fill.cost + fill.fee
            base.free += fill.amount
        else:
            if order.locked_asset is None:
                base.free -= fill.amount
            quote.free += fill.cost - fill.fee
        trade = Trade(
            id=self._next_trade_id,
            order_id=order.order_id,
            symbol=sym.id,
            price=fill.price,
            qty=fill.amount,
            quote_qty=fill.cost,
            commission=fill.fee,
            commission_asset=sym.quote,
            time=at,
            is_buyer=order.side == "BUY",
            is_maker=not fill.taker,
        )
        self._next_trade_id += 1
        order.trades.append(trade)
        account.trades.append(trade)
        order.executed_qty += fill.amount
        order.cum_quote += fill.cost
        order.status = "FILLED"
        order.update_time = at
        account.update_time = max(account.update_time, at)
        account.open_by_client.pop(order.client_order_id, None)
        self.resting.pop(order.order_id, None)

    # -- looking up and cancelling -----------------------------------------------------------------
    def find(self, account: Account, params: dict[str, str]) -> Order | None:
        symbol = params.get("symbol", "")
        if symbol not in self.markets.symbols:  # delisted symbols keep their order history
            raise err.invalid_symbol() if symbol else err.mandatory("symbol")
        order_id, client_id = params.get("orderId"), params.get("origClientOrderId")
        order: Order | None = None
        if order_id:
            if not order_id.isdigit():
                raise err.illegal("orderId")
            order = account.orders.get(int(order_id))
        elif client_id:
            found = account.latest_by_client.get(client_id)
            order = account.orders.get(found) if found is not None else None
        else:
            raise BinanceError(
                -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
            )
        return order if order is not None and order.symbol == symbol else None

    def cancel(self, account: Account, params: dict[str, str], now: int) -> Order:
        order = self.find(account, params)
        if order is None or not order.is_open:
            raise err.error(err.UNKNOWN_ORDER)
        self._cancel(account, order, now)
        return order

    def _cancel(self, account: Account, order: Order, now: int) -> None:
        if order.locked_asset is not None:
            bal = account.balance(order.locked_asset)
            bal.locked -= order.locked
            bal.free += order.locked
            order.locked = ZERO
        order.status = "CANCELED"
        order.update_time = now
        account.open_by_client.pop(order.client_order_id, None)
        self.resting.pop(order.order_id, None)

    def cancel_all(self, account: Account, symbol: str, now: int) -> list[Order]:
        victims = [o for o in account.orders.values() if o.is_open and o.symbol == symbol]
        if not victims:
            raise err.error(err.UNKNOWN_ORDER)
        for order in victims:
            self._cancel(account, order, now)
        return victims

    def cancel_symbol(self, symbol_id: str, now: int) -> int:
        """A delisting cancels every resting order of the symbol and releases its funds."""
        victims = [(a, o) for a, o in self.resting.values() if o.symbol == symbol_id]
        for account, order in victims:
            self._cancel(account, order, now)
        return len(victims)

    # -- matching resting limits as the market clock advances ---------------------------------------
    def on_clock(self, now: int) -> int:
        """Fill every resting limit whose price a newly running candle reached; returns the number filled."""
        filled = 0
        for order_id in sorted(self.resting):
            account, order = self.resting[order_id]
            sym = self.markets.symbols[order.symbol]
            index = sym.index_at(now)
            if index <= order.checked_index:
                continue
            lo, hi = order.checked_index + 1, index + 1
            order.checked_index = index
            # float prefilter with half a tick of slack (candles are floats rounded to the tick), then the
            # exact decimal rule decides, candle by candle, so a near miss never hides a later real hit
            slack = float(sym.tick) / 2
            if order.side == "BUY":
                hits = np.nonzero(sym.lo[lo:hi] <= float(order.price) + slack)[0]
            else:
                hits = np.nonzero(sym.h[lo:hi] >= float(order.price) - slack)[0]
            for hit in hits:
                at = lo + int(hit)
                fill = self.fm.limit_resting(
                    order.side.lower(),
                    order.orig_qty,
                    order.price,
                    sym.price(sym.lo[at]),
                    sym.price(sym.h[at]),
                )
                if fill is not None:
                    self._apply_fill(account, sym, order, fill, max(int(sym.ts[at]), order.time))
                    filled += 1
                    break
        return filled


def _check_price(sym: Symbol, price: Decimal) -> None:
    if price < sym.tick or price > sym.tick * MAX_PRICE_TICKS or price % sym.tick != 0:
        raise err.filter_failure("PRICE_FILTER")


def _check_lot(sym: Symbol, qty: Decimal) -> None:
    if qty < sym.step or qty > sym.max_qty or (qty - sym.step) % sym.step != 0:
        raise err.filter_failure("LOT_SIZE")


def _generated_client_id() -> str:
    return secrets.token_urlsafe(16).replace("-", "x").replace("_", "y")[:22]


def _loggable(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if k != "signature"}
