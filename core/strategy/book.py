"""The aggregator and the cycle's signal book, with the admin blacklist applied.

`combine` merges the enabled strategies by weight over the whole frame (the backtester reads every
column of it); `book_at` reads one column of the same result for the live cycle, adds reasons and
stable signal ids, and drops blacklisted symbols' entries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal

import numpy as np

from core.strategy.base import BoolArray, FloatArray, Strategy, StrategySignals
from core.strategy.frame import MarketFrame

Action = Literal["enter", "exit"]
Side = Literal["long", "short"]


@dataclass(frozen=True)
class Combined:
    """The weighted result of several strategies, [symbols, time] like each strategy's own."""

    strategy_key: str
    signals: StrategySignals
    per_strategy: tuple[tuple[Strategy, StrategySignals], ...]


@dataclass(frozen=True)
class Signal:
    symbol: str
    action: Action
    side: Side
    strength: float
    reasons: tuple[str, ...]
    candle_time: int  # ms, open time of the closed candle the signal was taken on
    signal_id: str


@dataclass(frozen=True)
class SignalBook:
    candle_time: int
    signals: tuple[Signal, ...]
    blacklisted: tuple[str, ...] = ()

    def entries(self) -> list[Signal]:
        return [s for s in self.signals if s.action == "enter"]

    def exits(self) -> list[Signal]:
        return [s for s in self.signals if s.action == "exit"]

    def for_symbol(self, symbol: str) -> list[Signal]:
        return [s for s in self.signals if s.symbol == symbol]


@dataclass(frozen=True)
class BlacklistRule:
    """An admin's ban on new entries in a symbol; with `expires_at` it lapses on its own."""

    symbol: str
    reason: str | None = None
    expires_at: datetime | None = None

    def applies(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at

    @classmethod
    def from_row(cls, row: Any) -> BlacklistRule:
        """From a core.db.models.BlacklistEntry (or anything with symbol, reason, expires_at)."""
        return cls(row.symbol, row.reason, row.expires_at)


@dataclass(frozen=True)
class Weights:
    """Strategy weights (default 1 each) and the score thresholds for an entry and an exit."""

    weights: Mapping[str, float] = field(default_factory=dict)
    entry_threshold: float = 1e-9  # any enabled strategy's entry is enough by default
    exit_threshold: float = 1e-9

    def of(self, name: str) -> float:
        return float(self.weights.get(name, 1.0))


def signal_id(strategy_key: str, symbol: str, candle_time: int) -> str:
    """Stable id of a signal: the same strategy set, symbol and candle always give the same id."""
    raw = f"{strategy_key}|{symbol}|{candle_time}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def combine(frame: MarketFrame, strategies: Sequence[Strategy], weights: Weights | None = None) -> Combined:
    """Weighted vote: entry score = sum(w * strength) / sum(w) over strategies that enter, likewise
    for exits (each exit counts 1); a side wins when its score passes its threshold and beats the other.
    """
    if not strategies:
        raise ValueError("no strategy enabled")
    weights = weights or Weights()
    shape = (frame.n_symbols, frame.n_times)
    per: list[tuple[Strategy, StrategySignals]] = []
    voting: list[tuple[float, StrategySignals]] = []
    for strat in strategies:
        w = weights.of(strat.name)
        sig: StrategySignals = (
            frame.memo(("signals", strat.key), partial(strat.signals, frame))
            if strat.cacheable
            else strat.signals(frame)
        )
        per.append((strat, sig))
        if w > 0:
            voting.append((w, sig))
    if not voting:
        raise ValueError("all enabled strategies have weight 0")
    if len(voting) == 1 and voting[0][0] == 1.0:
        # one strategy at weight 1: the same values as the weighted sums below, in fewer passes
        # (0.0 + x also turns a -0.0 into 0.0, as adding to the zeros does)
        only = voting[0][1]
        entry_score = np.add(only.strength * only.entry, 0.0, dtype=np.float64)
        exit_score = only.exit.astype(np.float64)
    else:
        entry_score = np.zeros(shape)
        exit_score = np.zeros(shape)
        total = 0.0
        for w, sig in voting:
            total += w
            entry_score += w * sig.strength * sig.entry
            exit_score += w * sig.exit
        entry_score /= total
        exit_score /= total
    entry: BoolArray = (entry_score >= weights.entry_threshold) & (entry_score > exit_score)
    exit_: BoolArray = (exit_score >= weights.exit_threshold) & (exit_score >= entry_score) & ~entry
    strength: FloatArray = np.where(entry, entry_score, 0.0)
    key = "+".join(sorted(f"{s.key}*{weights.of(s.name):g}" for s in strategies))
    return Combined(key, StrategySignals(entry, exit_, strength), tuple(per))


def active_blacklist(rules: Iterable[BlacklistRule], now: datetime) -> dict[str, BlacklistRule]:
    """The rules in force at `now` (a pure function of time: expired rules simply drop out)."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware UTC datetime")
    return {r.symbol: r for r in rules if r.applies(now)}


def book_at(
    frame: MarketFrame,
    combined: Combined,
    t: int = -1,
    blacklist: Iterable[BlacklistRule] = (),
    now: datetime | None = None,
) -> SignalBook:
    """The signal book for column t (default: the last candle of the frame, which must be closed).

    Blacklisted symbols lose their entries; their exits stay so a held position can still be closed.
    """
    t = t % frame.n_times
    candle_time = int(frame.times[t])
    banned = active_blacklist(blacklist, now or datetime.now(UTC))
    sig = combined.signals
    out: list[Signal] = []
    skipped: list[str] = []
    for action, mask in (("enter", sig.entry[:, t]), ("exit", sig.exit[:, t])):
        for s in np.flatnonzero(mask):
            symbol = frame.symbols[s]
            if action == "enter" and symbol in banned:
                skipped.append(symbol)
                continue
            is_entry = action == "enter"
            reasons = tuple(
                strat.reason(frame, int(s), t, is_entry)
                for strat, own in combined.per_strategy
                if (own.entry if is_entry else own.exit)[s, t]
            )
            out.append(
                Signal(
                    symbol=symbol,
                    action=action,  # type: ignore[arg-type]
                    side="long",
                    strength=float(sig.strength[s, t]) if is_entry else 1.0,
                    reasons=reasons,
                    candle_time=candle_time,
                    signal_id=signal_id(combined.strategy_key, symbol, candle_time),
                )
            )
    return SignalBook(candle_time, tuple(out), tuple(sorted(skipped)))
