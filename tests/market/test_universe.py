"""Universe rules over ccxt-shaped markets and tickers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from core.market.universe import UniverseRules, apply_age_rule, apply_ticker_rules, select_markets


def market(symbol: str, *, spot: bool = True, active: bool = True) -> dict[str, Any]:
    base, quote = symbol.split("/")
    return {"symbol": symbol, "base": base, "quote": quote, "spot": spot, "active": active}


MARKETS = {
    s: market(s)
    for s in (
        "BTC/USDT",
        "ETH/USDT",
        "DOGE/USDT",
        "SHIB/USDT",
        "NEW/USDT",
        "ETH/BTC",
        "LOW/USDT",
        "THIN/USDT",
    )
}
MARKETS["OLD/USDT"] = market("OLD/USDT", active=False)
MARKETS["PERP/USDT"] = market("PERP/USDT", spot=False)


def test_markets_rules_quote_active_spot_blacklist_problematic() -> None:
    rules = UniverseRules(quote="USDT")
    decision = select_markets(
        MARKETS, rules, blacklist={"DOGE", "SHIB/USDT"}, problematic={"NEW/USDT": "BadSymbol"}
    )
    assert decision.selected == ["BTC/USDT", "ETH/USDT", "LOW/USDT", "THIN/USDT"]
    assert decision.rejected["ETH/BTC"] == "quote is not USDT"
    assert decision.rejected["OLD/USDT"] == "not an active spot market"
    assert decision.rejected["PERP/USDT"] == "not an active spot market"
    assert decision.rejected["DOGE/USDT"] == "blacklisted"  # by base currency
    assert decision.rejected["SHIB/USDT"] == "blacklisted"  # by symbol
    assert decision.rejected["NEW/USDT"].startswith("problematic")


def test_explicit_symbols_keep_their_order_and_unknown_ones_are_reported() -> None:
    decision = select_markets(
        MARKETS, UniverseRules(), only=["ETH/USDT", "NOPE/USDT", "BTC/USDT", "ETH/USDT"]
    )
    assert decision.selected == ["ETH/USDT", "BTC/USDT"]
    assert decision.rejected == {"NOPE/USDT": "unknown market"}


def test_ticker_rules_volume_and_price() -> None:
    rules = UniverseRules(min_quote_volume=Decimal("1000000"), min_price=Decimal("0.001"))
    decision = select_markets(
        MARKETS, rules, only=["BTC/USDT", "ETH/USDT", "LOW/USDT", "THIN/USDT", "NEW/USDT"]
    )
    tickers: dict[str, dict[str, Any]] = {
        "BTC/USDT": {"last": 60000.0, "quoteVolume": 5e8},
        "ETH/USDT": {"last": 3000.0, "quoteVolume": None, "baseVolume": 1000.0},  # 3e6 derived
        "LOW/USDT": {"last": 0.0005, "quoteVolume": 5e7},
        "THIN/USDT": {"last": 2.0, "quoteVolume": 999_999.99},
    }
    apply_ticker_rules(decision, tickers, rules)
    assert decision.selected == ["BTC/USDT", "ETH/USDT"]
    assert decision.rejected["LOW/USDT"].startswith("price")
    assert decision.rejected["THIN/USDT"].startswith("24h quote volume")
    assert decision.rejected["NEW/USDT"] == "no ticker"


def test_age_rule_counts_finished_candles() -> None:
    rules = UniverseRules(min_age_candles=5)
    decision = select_markets(MARKETS, rules, only=["BTC/USDT", "ETH/USDT", "LOW/USDT"])
    rows = lambda n: np.ones((n, 6))  # noqa: E731
    apply_age_rule(decision, {"BTC/USDT": rows(5), "ETH/USDT": rows(4)}, rules)
    assert decision.selected == ["BTC/USDT"]
    assert decision.rejected["ETH/USDT"] == "age 4 < 5 candles"
    assert decision.rejected["LOW/USDT"] == "no candles"
