"""Exits as one pure state machine: (position state, candle or price) -> (new state, exit actions).

The backtester, the paper account and the live position monitor all call `on_candle` (the monitor
with a one-price candle from the ticker, `on_price`), so an exit is decided the same way everywhere.

Order of events inside one candle, chosen to be conservative because a candle does not tell the
path its price took:
1. At the open: the strategy's exit signal (taken on the previous close) and the time exit sell
   everything at the open; an open at or below the stop (a gap) sells everything at the open.
   An open at or above a target fills that target at the open.
2. Stop first: if the low reaches the stop, everything left is sold at the stop price, even when
   the high also reached a target in the same candle.
3. Targets in ladder order, each at its own price, when the high reaches it.
4. Only then the candle's high moves the high-water mark, activates the trailing stop, and raises
   the stop (trail, breakeven after the first target). A stop raised by this candle applies from
   the next candle, since the low may have come before the high.

Partial closes are rounded down to the market's amount step; a partial too small to trade alone is
raised to the market minimum, and a remainder too small to sell later is merged into this close.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, fields, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from core.risk import HUNDRED, ZERO, MarketRules, dec

INF = float("inf")
_T = TypeVar("_T")


def _slot_init(cls: type[_T]) -> type[_T]:
    """Give a frozen slots dataclass an __init__ that writes each slot through its descriptor.

    The generated one goes through object.__setattr__ per field to get past `frozen`, at about twice
    the cost; these records are made for every entry, exit and price the backtester and the position
    monitor handle. Same parameters and defaults; the instances stay frozen.
    """
    names: list[str] = []
    ns: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if not f.init or f.default_factory is not MISSING or f.kw_only:
            raise TypeError(f"{cls.__name__}.{f.name}: only plain positional fields are supported")
        ns[f"_set_{f.name}"] = getattr(cls, f.name).__set__
        if f.default is MISSING:
            names.append(f.name)
        else:
            ns[f"_default_{f.name}"] = f.default
            names.append(f"{f.name}=_default_{f.name}")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__")
    body = "\n".join(f"    _set_{f.name}(self, {f.name})" for f in fields(cls))  # type: ignore[arg-type]
    # generated from the class's own field names, the way dataclasses builds the original
    exec(f"def __init__(self, {', '.join(names)}):\n{body}\n", ns)  # noqa: S102
    init = ns["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    setattr(cls, "__init__", init)  # noqa: B010
    return cls


@_slot_init
@dataclass(frozen=True, slots=True)
class Target:
    price: Decimal
    fraction: Decimal  # of the initial amount
    done: bool = False


@_slot_init
@dataclass(frozen=True, slots=True)
class PositionState:
    """An open position; the fields map one to one onto core.db.models.Position."""

    symbol: str
    amount: Decimal  # still open, base currency
    initial_amount: Decimal
    entry_price: Decimal
    stop_price: Decimal | None
    initial_stop: Decimal | None
    targets: tuple[Target, ...]
    trail_active: bool
    high_water: Decimal | None
    opened_at: int  # ms
    side: str = "long"  # only long is traded now

    @property
    def risk_per_unit(self) -> Decimal | None:
        """1R: the distance from the entry to the initial stop."""
        if self.initial_stop is None:
            return None
        r = self.entry_price - self.initial_stop
        return r if r > 0 else None

    def to_db(self) -> dict[str, Any]:
        """Column values for core.db.models.Position (targets as JSON with Decimal strings)."""
        return {
            "symbol": self.symbol,
            "side": self.side,
            "amount": self.amount,
            "initial_amount": self.initial_amount,
            "entry_price": self.entry_price,
            "stop_price": self.stop_price,
            "initial_stop": self.initial_stop,
            "targets": [
                {"price": str(t.price), "fraction": str(t.fraction), "done": t.done} for t in self.targets
            ],
            "trail_active": self.trail_active,
            "high_water": self.high_water,
            "opened_at": datetime.fromtimestamp(self.opened_at / 1000, tz=UTC),
        }

    @classmethod
    def from_db(cls, row: Any) -> PositionState:
        """From a core.db.models.Position row (or anything with the same attributes)."""
        targets = tuple(
            Target(Decimal(str(t["price"])), Decimal(str(t["fraction"])), bool(t.get("done", False)))
            for t in (row.targets or [])
        )
        return cls(
            symbol=row.symbol,
            amount=row.amount,
            initial_amount=row.initial_amount,
            entry_price=row.entry_price,
            stop_price=row.stop_price,
            initial_stop=row.initial_stop,
            targets=targets,
            trail_active=bool(row.trail_active),
            high_water=row.high_water,
            opened_at=int(row.opened_at.timestamp() * 1000),
            side=row.side or "long",
        )


@dataclass(frozen=True, slots=True)
class ExitPlan:
    """How positions are exited. R is the entry-to-initial-stop distance."""

    targets: tuple[tuple[Decimal, Decimal], ...] = ((Decimal(1), Decimal("0.5")),)  # (R multiple, fraction)
    breakeven_after_first_target: bool = True
    trail_after_first_target: bool = True
    trail_activation_pct: Decimal | None = None  # also activate once the high is this % above entry
    trail_distance_pct: Decimal | None = None  # trail this % below the high-water mark ...
    trail_distance_r: Decimal | None = Decimal(1)  # ... or this many R below it
    max_holding_ms: int | None = None
    exit_on_signal: bool = True

    @classmethod
    def none(cls) -> ExitPlan:
        """Only the strategy's exit signal (with no stop given at entry): the parity configuration."""
        return cls(
            targets=(),
            trail_after_first_target=False,
            breakeven_after_first_target=False,
            trail_distance_r=None,
        )


@_slot_init
@dataclass(frozen=True, slots=True)
class Candle:
    time: int  # ms, open time
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


@_slot_init
@dataclass(frozen=True, slots=True)
class ExitAction:
    """Sell `amount` (long) with a market order whose reference price is `price`."""

    reason: str  # stop | trailing_stop | take_profit_N | signal | time | end
    amount: Decimal
    price: Decimal
    at_open: bool  # decided at the candle's open (before anything else in the candle)
    closes: bool  # nothing is left after it


def open_position(
    symbol: str,
    amount: Decimal,
    entry_price: Decimal,
    stop_price: Decimal | None,
    opened_at: int,
    plan: ExitPlan,
    tick: Decimal | None = None,
) -> PositionState:
    """A new position with its target ladder priced from R (no stop: no targets)."""
    targets: tuple[Target, ...] = ()
    if stop_price is not None and stop_price < entry_price:
        r = entry_price - stop_price
        targets = tuple(Target(_round_tick(entry_price + r * m, tick), frac) for m, frac in plan.targets)
    # positional: a keyword call costs a quarter more, and this runs for every entry the backtester makes
    # (symbol, amount, initial_amount, entry_price, stop_price, initial_stop, targets, trail_active,
    # high_water, opened_at)
    return PositionState(
        symbol, amount, amount, entry_price, stop_price, stop_price, targets, False, entry_price, opened_at
    )


def _round_tick(price: Decimal, tick: Decimal | None) -> Decimal:
    if tick is None or tick <= 0:
        return price
    return (price / tick).to_integral_value() * tick


def _stop_reason(state: PositionState) -> str:
    return "trailing_stop" if state.trail_active else "stop"


def _partial_amount(state: PositionState, target: Target, rules: MarketRules, price: Decimal) -> Decimal:
    """How much a target sells: its share of the initial amount on the step, made tradeable."""
    left = state.amount
    amount = min(rules.floor_amount(state.initial_amount * target.fraction), left)
    minimum = rules.min_sellable(price)
    if amount < minimum:
        amount = min(minimum, left)
    rest = left - amount
    if rest > 0 and (rest < minimum or rules.violation(rest, price) is not None):
        amount = left  # the remainder could not be sold on its own later: sell it now
    return amount


def on_candle(
    state: PositionState,
    candle: Candle,
    plan: ExitPlan,
    rules: MarketRules,
    exit_signal: bool = False,
) -> tuple[PositionState | None, list[ExitAction]]:
    """Apply one candle to a long position. Returns the new state (None once closed) and the exits.

    `exit_signal` is the strategy's exit intent taken on the close of the previous candle.
    """
    actions: list[ExitAction] = []
    # 1. at the open
    if plan.exit_on_signal and exit_signal:
        return None, [ExitAction("signal", state.amount, candle.open, True, True)]
    if plan.max_holding_ms is not None and candle.time - state.opened_at >= plan.max_holding_ms:
        return None, [ExitAction("time", state.amount, candle.open, True, True)]
    stop = state.stop_price
    if stop is not None and candle.open <= stop:
        return None, [ExitAction(_stop_reason(state), state.amount, candle.open, True, True)]
    # 2. stop first
    if stop is not None and candle.low <= stop:
        return None, [ExitAction(_stop_reason(state), state.amount, stop, False, True)]
    # 3. the target ladder
    amount = state.amount
    targets = state.targets
    first_hit = False
    if targets and candle.high >= min((t.price for t in targets if not t.done), default=Decimal("Infinity")):
        new_targets = []
        for i, t in enumerate(targets):
            if not t.done and candle.high >= t.price and amount > 0:
                at_open = candle.open >= t.price
                price = candle.open if at_open else t.price
                sell = _partial_amount(replace(state, amount=amount), t, rules, price)
                amount -= sell
                first_hit = first_hit or all(not x.done for x in targets[:i])
                actions.append(ExitAction(f"take_profit_{i + 1}", sell, price, at_open, amount <= 0))
                t = replace(t, done=True)
            new_targets.append(t)
        targets = tuple(new_targets)
        if amount <= 0:
            return None, actions
    # 4. trailing, breakeven: effective from the next candle. The high-water mark only moves while the
    # trail is active, so candles that touch no level change nothing and may be skipped (backtester).
    trail_active = state.trail_active
    if not trail_active and (
        (first_hit and plan.trail_after_first_target)
        or (
            plan.trail_activation_pct is not None
            and candle.high >= state.entry_price * (1 + plan.trail_activation_pct / HUNDRED)
        )
    ):
        trail_active = True
    high_water = state.high_water
    if trail_active:
        high_water = (
            candle.high if high_water is None or not state.trail_active else max(high_water, candle.high)
        )
    new_stop = stop
    if first_hit and plan.breakeven_after_first_target:
        new_stop = _max_stop(new_stop, state.entry_price)
    if trail_active:
        new_stop = _max_stop(new_stop, _trail_level(state, plan, high_water or candle.high))
    if (
        amount == state.amount
        and targets is state.targets
        and high_water == state.high_water
        and trail_active == state.trail_active
        and new_stop == stop
    ):
        return state, actions
    return replace(
        state,
        amount=amount,
        targets=targets,
        high_water=high_water,
        trail_active=trail_active,
        stop_price=new_stop,
    ), actions


def _max_stop(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _trail_level(state: PositionState, plan: ExitPlan, high_water: Decimal) -> Decimal | None:
    if plan.trail_distance_pct is not None:
        return high_water * (1 - plan.trail_distance_pct / HUNDRED)
    r = state.risk_per_unit
    if plan.trail_distance_r is not None and r is not None:
        return high_water - plan.trail_distance_r * r
    return None


def on_price(
    state: PositionState,
    price: Decimal,
    now_ms: int,
    plan: ExitPlan,
    rules: MarketRules,
    exit_signal: bool = False,
) -> tuple[PositionState | None, list[ExitAction]]:
    """The live position monitor's entry point: one ticker price is a candle with a single price."""
    return on_candle(state, Candle(now_ms, price, price, price, price), plan, rules, exit_signal)


def close_all(state: PositionState, price: Decimal, reason: str) -> ExitAction:
    """A manual (or end-of-backtest) exit of everything left."""
    return ExitAction(reason, state.amount, price, True, True)


def watch_levels(state: PositionState, plan: ExitPlan) -> tuple[float, float]:
    """Price levels between which a candle cannot change this position: (low trigger, high trigger).

    A candle with low > the first and high < the second leaves the state as it is, so the backtester
    may skip it. Floats, used only to find candidates; `on_candle` decides exactly.
    """
    down = float(state.stop_price) if state.stop_price is not None else -INF
    ups = [float(t.price) for t in state.targets if not t.done]
    if state.trail_active:
        if _trail_level(state, plan, state.high_water or state.entry_price) is not None:
            ups.append(float(state.high_water or state.entry_price))  # any new high raises the stop
    elif plan.trail_activation_pct is not None:
        ups.append(float(state.entry_price * (1 + plan.trail_activation_pct / HUNDRED)))
    return down, min(ups, default=INF)


def targets_from_json(items: Sequence[Mapping[str, Any]]) -> tuple[Target, ...]:
    return tuple(
        Target(dec(str(t["price"])), dec(str(t["fraction"])), bool(t.get("done", False))) for t in items
    )


__all__ = [
    "ZERO",
    "Candle",
    "ExitAction",
    "ExitPlan",
    "PositionState",
    "Target",
    "close_all",
    "on_candle",
    "on_price",
    "open_position",
    "targets_from_json",
    "watch_levels",
]
