"""Strategies over the batched market frame, the aggregator and the signal book."""

from core.strategy import builtin as _builtin  # noqa: F401  (registers the built-in strategies)
from core.strategy import ml_strategy as _ml  # noqa: F401  (registers `ml`; torch loads only when used)
from core.strategy.base import Strategy, StrategySignals
from core.strategy.book import (
    BlacklistRule,
    Combined,
    Signal,
    SignalBook,
    Weights,
    active_blacklist,
    book_at,
    combine,
    signal_id,
)
from core.strategy.frame import MarketFrame
from core.strategy.registry import available, create, register

__all__ = [
    "BlacklistRule",
    "Combined",
    "MarketFrame",
    "Signal",
    "SignalBook",
    "Strategy",
    "StrategySignals",
    "Weights",
    "active_blacklist",
    "available",
    "book_at",
    "combine",
    "create",
    "register",
    "signal_id",
]
