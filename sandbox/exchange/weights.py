"""Binance's request-weight budget per IP per calendar minute (X-MBX-USED-WEIGHT-1M, 429 + Retry-After)."""

from __future__ import annotations

import math
import time
from collections import defaultdict


def request_weight(path: str, method: str, params: dict[str, str]) -> int:
    """The weights Binance documents for the spot endpoints the sandbox serves (others: 1)."""
    has_symbol = bool(params.get("symbol"))
    if path == "/api/v3/exchangeInfo":
        return 20
    if path == "/api/v3/ticker/24hr":
        if has_symbol:
            return 2
        if params.get("symbols"):
            n = params["symbols"].count(",") + 1
            return 2 if n <= 20 else 40 if n <= 100 else 80
        return 80
    if path in ("/api/v3/ticker/price", "/api/v3/ticker/bookTicker"):
        return 2 if has_symbol else 4
    if path == "/api/v3/depth":
        raw = params.get("limit") or "100"
        limit = int(raw) if raw.isdigit() else 100  # a malformed limit is the handler's -1100, not a 500
        return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250
    if path == "/api/v3/klines":
        return 2
    if path == "/api/v3/account":
        return 20
    if path == "/api/v3/order":
        return 4 if method == "GET" else 1
    if path == "/api/v3/openOrders":
        return 6 if has_symbol else 80
    if path in ("/api/v3/myTrades", "/api/v3/allOrders"):
        return 20
    return 1


class WeightMeter:
    def __init__(self, limit: int):
        self.limit = limit
        self._minute = -1
        self._used: dict[str, int] = defaultdict(int)
        self.rejected = 0

    def _roll(self) -> None:
        minute = int(time.time() // 60)
        if minute != self._minute:
            self._minute, self._used = minute, defaultdict(int)

    def used(self, ip: str) -> int:
        self._roll()
        return self._used[ip]

    def total(self) -> int:
        self._roll()
        return sum(self._used.values())

    def take(self, ip: str, weight: int) -> bool:
        """Count the weight; False (and nothing counted) when it would exceed the budget."""
        self._roll()
        if self._used[ip] + weight > self.limit:
            self.rejected += 1
            return False
        self._used[ip] += weight
        return True

    @staticmethod
    def retry_after() -> int:
        return max(1, math.ceil(60 - time.time() % 60))
