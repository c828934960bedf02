"""Accounts per API key: balances (free/locked), orders, trades and the log of every order received."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)
OPEN_STATUSES = frozenset({"NEW", "PARTIALLY_FILLED"})
KEY_FORMAT = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")


def fmt(value: Decimal) -> str:
    """Binance-style decimal text: at least 8 decimals, never rounded (exact values keep books agreeing)."""
    text = format(value, "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(8, '0')}"


@dataclass
class Balance:
    free: Decimal = ZERO
    locked: Decimal = ZERO


@dataclass
class Trade:
    id: int
    order_id: int
    symbol: str
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool


@dataclass
class Order:
    order_id: int
    client_order_id: str
    symbol: str
    side: str  # BUY / SELL
    type: str  # MARKET / LIMIT / LIMIT_MAKER
    time_in_force: str | None
    price: Decimal  # 0 for market orders, as Binance shows it
    orig_qty: Decimal
    orig_quote_qty: Decimal
    status: str
    time: int
    update_time: int
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    trades: list[Trade] = field(default_factory=list)
    locked_asset: str | None = None
    locked: Decimal = ZERO
    checked_index: int = -1  # last candle already compared with a resting limit
    faults: list[str] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass
class Rejection:
    client_order_id: str | None
    params: dict[str, str]
    code: int
    msg: str
    time: int
    faults: list[str] = field(default_factory=list)


@dataclass
class Account:
    api_key: str
    secret: str = field(repr=False)  # a repr of the account (logs, test failures) never shows it
    can_withdraw: bool = False
    can_trade: bool = True
    revoked: bool = False
    balances: dict[str, Balance] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    received: list[Order | Rejection] = field(default_factory=list)
    open_by_client: dict[str, int] = field(default_factory=dict)
    latest_by_client: dict[str, int] = field(default_factory=dict)
    trades: list[Trade] = field(default_factory=list)
    update_time: int = 0

    def balance(self, asset: str) -> Balance:
        bal = self.balances.get(asset)
        if bal is None:
            bal = self.balances[asset] = Balance()
        return bal

    def set_balances(self, balances: dict[str, Any]) -> None:
        self.balances = {asset.upper(): Balance(Decimal(str(v))) for asset, v in balances.items()}
        for order in self.orders.values():  # funds held by open orders stay held
            if order.is_open and order.locked_asset:
                self.balance(order.locked_asset).locked += order.locked
