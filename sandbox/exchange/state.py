"""Everything one sandbox exchange holds: markets, clock, accounts, the trading desk, meters and faults."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox.exchange.accounts import Account
from sandbox.exchange.auth import Authenticator
from sandbox.exchange.clock import MarketClock, wall_ms
from sandbox.exchange.exchange_info import symbol_info
from sandbox.exchange.faults import Faults
from sandbox.exchange.fills import FillModel
from sandbox.exchange.markets import Markets
from sandbox.exchange.trading import TradingDesk
from sandbox.exchange.weights import WeightMeter

FAULTS = web.RequestKey("faults", list)  # fault kinds that hit this request, for the order log


@dataclass(frozen=True)
class SandboxOptions:
    n_symbols: int = 50
    seed: int = 42
    candles_dir: str | Path | None = None
    speed: float = 0.0
    timeframe: str = "5m"
    taker_fee: Decimal = Decimal("0.001")
    maker_fee: Decimal = Decimal("0.001")
    slippage: Decimal = Decimal("0")
    weight_limit: int = 6000
    history: int = 2000  # candles before the starting "now" (synthetic market)
    start_ms: int | None = None  # market clock start; default: now (synthetic) or `history` in (replay)
    client_id_scope: str = "open"  # Binance: newClientOrderId unique among open orders; "all": forever


class SandboxState:
    def __init__(self, options: SandboxOptions):
        self.options = options
        self.markets = Markets(
            timeframe=options.timeframe,
            n_symbols=options.n_symbols,
            seed=options.seed,
            candles_dir=options.candles_dir,
            history=options.history,
            start_ms=options.start_ms,
            now_wall_ms=wall_ms(),
        )
        self.fill_model = FillModel(
            taker_fee=Decimal(options.taker_fee),
            maker_fee=Decimal(options.maker_fee),
            slippage=Decimal(options.slippage),
        )
        self.desk = TradingDesk(self.markets, self.fill_model, options.client_id_scope)
        self.clock = MarketClock(self.markets.start_ms, options.speed, self._on_clock)
        self.accounts: dict[str, Account] = {}
        self.auth = Authenticator(self.accounts)
        self.meter = WeightMeter(options.weight_limit)
        self.faults = Faults()
        self.requests: Counter[str] = Counter()
        self.status_codes: Counter[int] = Counter()
        self.limit_fills = 0
        self.stopping = asyncio.Event()
        self._exchange_info: list[dict[str, Any]] | None = None

    def _on_clock(self, now: int) -> None:
        self.markets.ensure_until(now)
        self.limit_fills += self.desk.on_clock(now)

    def listing_changed(self) -> None:
        self._exchange_info = None

    def exchange_info_symbols(self) -> list[dict[str, Any]]:
        if self._exchange_info is None:
            self._exchange_info = [symbol_info(s) for s in self.markets.listed()]
        return self._exchange_info
