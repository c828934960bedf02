"""One symbol of /api/v3/exchangeInfo, with the filters ccxt reads (PRICE_FILTER, LOT_SIZE, NOTIONAL)."""

from __future__ import annotations

from typing import Any

from sandbox.exchange.markets import Symbol

ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET"]
STP_MODES = ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"]


def symbol_info(sym: Symbol) -> dict[str, Any]:
    return {
        "symbol": sym.id,
        "status": "TRADING",
        "baseAsset": sym.base,
        "baseAssetPrecision": 8,
        "quoteAsset": sym.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ORDER_TYPES,
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": sym.fmt_price(sym.tick),
                "maxPrice": sym.fmt_price(sym.tick * 10**9),
                "tickSize": sym.fmt_price(sym.tick),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": sym.fmt_qty(sym.step),
                "maxQty": sym.fmt_qty(sym.max_qty),
                "stepSize": sym.fmt_qty(sym.step),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": sym.fmt_price(sym.min_notional),
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": STP_MODES,
    }
