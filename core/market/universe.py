"""Which symbols a cycle trades: quote currency, liquidity, price, age, blacklist, problem cache.

Each rule records why a symbol was left out, so /stats and logs can say it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from core.market.frame import CLOSE, F64, TS


@dataclass(frozen=True)
class UniverseRules:
    quote: str = "USDT"
    min_quote_volume: Decimal = Decimal(0)  # 24h volume in the quote currency
    min_price: Decimal = Decimal(0)  # last price in the quote currency
    min_age_candles: int = 0  # finished candles of the cycle's timeframe


@dataclass
class UniverseDecision:
    selected: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def is_blacklisted(symbol: str, base: str | None, blacklist: Collection[str]) -> bool:
    """An admin blacklist entry names a symbol ('DOGE/USDT') or a whole base currency ('DOGE')."""
    return symbol in blacklist or (base is not None and base in blacklist)


def select_markets(
    markets: Mapping[str, Mapping[str, Any]],
    rules: UniverseRules,
    *,
    blacklist: Collection[str] = frozenset(),
    problematic: Mapping[str, str] | None = None,
    only: Iterable[str] | None = None,
) -> UniverseDecision:
    """Active spot markets in the quote currency, minus the blacklist and the problem cache."""
    decision = UniverseDecision()
    problems = problematic or {}
    wanted = list(dict.fromkeys(only)) if only is not None else sorted(markets)
    for symbol in wanted:
        market = markets.get(symbol)
        if market is None:
            decision.rejected[symbol] = "unknown market"
        elif not market.get("spot") or market.get("active") is False:
            decision.rejected[symbol] = "not an active spot market"
        elif market.get("quote") != rules.quote:
            decision.rejected[symbol] = f"quote is not {rules.quote}"
        elif is_blacklisted(symbol, market.get("base"), blacklist):
            decision.rejected[symbol] = "blacklisted"
        elif symbol in problems:
            decision.rejected[symbol] = f"problematic: {problems[symbol]}"
        else:
            decision.selected.append(symbol)
    return decision


def apply_ticker_rules(
    decision: UniverseDecision, tickers: Mapping[str, Mapping[str, Any]], rules: UniverseRules
) -> None:
    """Drop symbols below the minimum 24h quote volume or price (no ticker: dropped)."""
    keep = []
    for symbol in decision.selected:
        ticker = tickers.get(symbol)
        if ticker is None:
            decision.rejected[symbol] = "no ticker"
            continue
        volume = _decimal(ticker.get("quoteVolume"))
        if volume is None:  # derive it when the exchange reports only base volume
            base_volume, price = _decimal(ticker.get("baseVolume")), _decimal(ticker.get("last"))
            volume = base_volume * price if base_volume is not None and price is not None else None
        price = _decimal(ticker.get("last") if ticker.get("last") is not None else ticker.get("close"))
        if volume is None or volume < rules.min_quote_volume:
            decision.rejected[symbol] = f"24h quote volume {volume} < {rules.min_quote_volume}"
        elif price is None or price < rules.min_price:
            decision.rejected[symbol] = f"price {price} < {rules.min_price}"
        else:
            keep.append(symbol)
    decision.selected = keep


def apply_age_rule(decision: UniverseDecision, candles: Mapping[str, F64], rules: UniverseRules) -> None:
    """Drop symbols with fewer finished candles than the minimum age (or none fetched)."""
    keep = []
    for symbol in decision.selected:
        rows = candles.get(symbol)
        age = 0 if rows is None else int(np.count_nonzero(~np.isnan(rows[:, CLOSE])))
        if rows is None:
            decision.rejected.setdefault(symbol, "no candles")
        elif age < max(rules.min_age_candles, 1):
            decision.rejected[symbol] = f"age {age} < {rules.min_age_candles} candles"
        else:
            keep.append(symbol)
    decision.selected = keep


def apply_freshness_rule(decision: UniverseDecision, candles: Mapping[str, F64], end_open: int) -> None:
    """Drop symbols whose newest finished candle is missing (halted, or the exchange lags behind).

    Binance publishes a candle for every interval, even without trades, so a missing one is news;
    filling it would hand the strategies a made-up flat candle as the latest price.
    """
    keep = []
    for symbol in decision.selected:
        rows = candles.get(symbol)
        if rows is not None and len(rows) and int(rows[-1, TS]) != end_open:
            decision.rejected[symbol] = (
                f"stale: newest candle opens at {int(rows[-1, TS])}, expected {end_open}"
            )
        else:
            keep.append(symbol)
    decision.selected = keep
