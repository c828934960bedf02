"""JSON shapes of orders, fills and trades exactly as Binance spot returns them."""

from __future__ import annotations

from typing import Any

from sandbox.exchange.accounts import ZERO, Order, Rejection, Trade, fmt


def _avg(order: Order) -> str:
    return fmt(order.cum_quote / order.executed_qty) if order.executed_qty else fmt(order.price)


def order_ack(order: Order) -> dict[str, Any]:
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "transactTime": order.time,
    }


def order_result(order: Order) -> dict[str, Any]:
    return {
        **order_ack(order),
        "price": fmt(order.price),
        "origQty": fmt(order.orig_qty),
        "executedQty": fmt(order.executed_qty),
        "origQuoteOrderQty": fmt(order.orig_quote_qty),
        "cummulativeQuoteQty": fmt(order.cum_quote),
        "status": order.status,
        "timeInForce": order.time_in_force or "GTC",
        "type": order.type,
        "side": order.side,
        "workingTime": order.time,
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }


def order_full(order: Order) -> dict[str, Any]:
    return {**order_result(order), "fills": [fill(t) for t in order.trades]}


def fill(trade: Trade) -> dict[str, Any]:
    return {
        "price": fmt(trade.price),
        "qty": fmt(trade.qty),
        "commission": fmt(trade.commission),
        "commissionAsset": trade.commission_asset,
        "tradeId": trade.id,
    }


def order_status(order: Order) -> dict[str, Any]:
    """GET /api/v3/order, openOrders, allOrders."""
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "price": fmt(order.price),
        "origQty": fmt(order.orig_qty),
        "executedQty": fmt(order.executed_qty),
        "cummulativeQuoteQty": fmt(order.cum_quote),
        "status": order.status,
        "timeInForce": order.time_in_force or "GTC",
        "type": order.type,
        "side": order.side,
        "stopPrice": fmt(ZERO),
        "icebergQty": fmt(ZERO),
        "time": order.time,
        "updateTime": order.update_time,
        "isWorking": order.is_open,
        "workingTime": order.time,
        "origQuoteOrderQty": fmt(order.orig_quote_qty),
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }


def my_trade(trade: Trade) -> dict[str, Any]:
    return {
        "symbol": trade.symbol,
        "id": trade.id,
        "orderId": trade.order_id,
        "orderListId": -1,
        "price": fmt(trade.price),
        "qty": fmt(trade.qty),
        "quoteQty": fmt(trade.quote_qty),
        "commission": fmt(trade.commission),
        "commissionAsset": trade.commission_asset,
        "time": trade.time,
        "isBuyer": trade.is_buyer,
        "isMaker": trade.is_maker,
        "isBestMatch": True,
    }


def received(entry: Order | Rejection) -> dict[str, Any]:
    """The control API's order log: accepted orders in their current state, rejections with the error."""
    if isinstance(entry, Rejection):
        return {
            "orderId": None,
            "clientOrderId": entry.client_order_id,
            "symbol": entry.params.get("symbol"),
            "side": entry.params.get("side"),
            "type": entry.params.get("type"),
            "status": "REJECTED",
            "code": entry.code,
            "msg": entry.msg,
            "time": entry.time,
            "params": entry.params,
            "faults": entry.faults,
        }
    return {
        **order_status(entry),
        "avgPrice": _avg(entry),
        "fills": [fill(t) for t in entry.trades],
        "faults": entry.faults,
    }
