"""The market stage's result as the user stage reads it: prices, rules, ATR and one book per strategy set.

Computed once per cycle and exchange; every user reads the same objects. Users choose strategies,
so there is one signal book per distinct strategy set in use (a handful), built lazily and cached.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np

from core.engine.planner import MarketView
from core.risk import MarketRules, dec
from core.strategy.book import BlacklistRule, SignalBook, book_at, combine
from core.strategy.frame import MarketFrame
from core.strategy.registry import available, create

log = logging.getLogger(__name__)

BookBuilder = Callable[[MarketFrame, tuple[str, ...], Sequence[BlacklistRule], datetime], SignalBook | None]
ATR_PERIOD = 14


def default_book_builder(
    frame: MarketFrame, names: tuple[str, ...], blacklist: Sequence[BlacklistRule], now: datetime
) -> SignalBook | None:
    """core.strategy's aggregator over the user's enabled strategies, read at the last closed candle."""
    known = [n for n in names if n in available()]
    if not known or frame.n_symbols == 0 or frame.n_times == 0:
        return None
    combined = combine(frame, [create(n) for n in known])
    return book_at(frame, combined, -1, blacklist, now)


def rules_for(markets: Mapping[str, Mapping[str, Any]], symbols: Sequence[str]) -> dict[str, MarketRules]:
    return {s: MarketRules.from_ccxt(markets[s]) for s in symbols if s in markets}


def last_prices(frame: MarketFrame) -> dict[str, Decimal]:
    if frame.n_times == 0:
        return {}
    closes = frame.close[:, -1]
    return {s: dec(float(c)) for s, c in zip(frame.symbols, closes, strict=True) if np.isfinite(c) and c > 0}


@dataclass
class CycleMarket:
    """One exchange's market for one cycle."""

    exchange: str
    frame: MarketFrame
    now: datetime
    candle_time: int
    prices: dict[str, Decimal]
    rules: dict[str, MarketRules]
    atr: dict[str, float]
    blacklist: Sequence[BlacklistRule]
    builder: BookBuilder
    _books: dict[tuple[str, ...], SignalBook | None] = field(default_factory=dict)
    _views: dict[tuple[str, ...], MarketView] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        exchange: str,
        frame: MarketFrame,
        markets: Mapping[str, Mapping[str, Any]],
        now: datetime,
        blacklist: Sequence[BlacklistRule],
        builder: BookBuilder,
        extra_symbols: Sequence[str] = (),
    ) -> CycleMarket:
        atr: dict[str, float] = {}
        if frame.n_symbols and frame.n_times:
            values = frame.indicator("atr", period=ATR_PERIOD)[:, -1]
            atr = {s: float(v) for s, v in zip(frame.symbols, values, strict=True) if np.isfinite(v)}
        candle_time = int(frame.times[-1]) if frame.n_times else 0
        return cls(
            exchange,
            frame,
            now,
            candle_time,
            last_prices(frame),
            rules_for(markets, [*frame.symbols, *extra_symbols]),
            atr,
            blacklist,
            builder,
        )

    def book(self, names: tuple[str, ...]) -> SignalBook | None:
        if names not in self._books:
            try:
                self._books[names] = self.builder(self.frame, names, self.blacklist, self.now)
            except Exception:
                log.exception("signal book for %s failed; those users get no new entries", names)
                self._books[names] = None
        return self._books[names]

    def view(self, names: tuple[str, ...]) -> MarketView:
        if names not in self._views:
            book = self.book(names)
            exits = frozenset(s.symbol for s in book.exits()) if book is not None else frozenset()
            self._views[names] = MarketView(
                self.now, self.candle_time, self.prices, self.rules, self.atr, exits
            )
        return self._views[names]
