"""Per-user risk and position sizing. All money is Decimal.

Size = risk amount / stop distance (or a fixed share of the free balance), capped by the user's
limits, the free balance and the deposit, rounded DOWN to the market's amount step and checked
against the market's minimums. A refused entry produces no order, only the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal, getcontext
from typing import Any

ZERO = Decimal(0)
ONE = Decimal(1)
FEE_QUANTUM = Decimal("1e-8")  # fees are rounded up to this (core.fills)
HUNDRED = Decimal(100)
TICK_SIZE = 4  # ccxt precision modes (ccxt.base.decimal_to_precision)
DECIMAL_PLACES = 2


def dec(x: float | int | str | Decimal) -> Decimal:
    """Decimal from a float by its shortest repr (Decimal(float) would carry binary noise)."""
    if isinstance(x, Decimal):
        return x
    if isinstance(x, float):
        return Decimal(repr(x))
    return Decimal(x)


def _opt_dec(x: Any) -> Decimal | None:
    return None if x is None else dec(x if not isinstance(x, float) else float(x))


@dataclass(frozen=True, slots=True)
class MarketRules:
    """The trading rules of one market, read from a ccxt-style market dict."""

    symbol: str
    amount_step: Decimal | None = None
    price_tick: Decimal | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    min_cost: Decimal | None = None

    @classmethod
    def from_ccxt(cls, market: Mapping[str, Any], precision_mode: int = TICK_SIZE) -> MarketRules:
        """`precision.amount`/`precision.price` are step sizes in ccxt's TICK_SIZE mode (binance in ccxt 4)
        and numbers of decimals in DECIMAL_PLACES mode."""
        precision = market.get("precision") or {}
        limits = market.get("limits") or {}

        def step(value: Any) -> Decimal | None:
            if value is None:
                return None
            if precision_mode == DECIMAL_PLACES:
                return Decimal(1).scaleb(-int(value))
            d = dec(value)
            return d if d > 0 else None

        amount_limits = limits.get("amount") or {}
        cost_limits = limits.get("cost") or {}
        return cls(
            symbol=str(market.get("symbol", "")),
            amount_step=step(precision.get("amount")),
            price_tick=step(precision.get("price")),
            min_amount=_positive(amount_limits.get("min")),
            max_amount=_positive(amount_limits.get("max")),
            min_cost=_positive(cost_limits.get("min")),
        )

    def floor_amount(self, amount: Decimal) -> Decimal:
        if amount <= 0:
            return ZERO
        if self.amount_step is None:
            return amount
        return (amount / self.amount_step).to_integral_value(rounding=ROUND_FLOOR) * self.amount_step

    def ceil_amount(self, amount: Decimal) -> Decimal:
        if self.amount_step is None or amount <= 0:
            return max(amount, ZERO)
        return (amount / self.amount_step).to_integral_value(rounding=ROUND_CEILING) * self.amount_step

    def violation(self, amount: Decimal, price: Decimal) -> str | None:
        """Why an order of this amount at this price breaks a market rule, or None when it is fine."""
        if amount <= 0:
            return "amount is zero after rounding to the market's step"
        if self.amount_step is not None and amount % self.amount_step != 0:
            return f"amount {amount} is not a multiple of the step {self.amount_step}"
        if self.min_amount is not None and amount < self.min_amount:
            return f"amount {amount} is below the market minimum {self.min_amount}"
        if self.max_amount is not None and amount > self.max_amount:
            return f"amount {amount} is above the market maximum {self.max_amount}"
        if self.min_cost is not None and amount * price < self.min_cost:
            return f"order value {amount * price:.8f} is below the market minimum {self.min_cost}"
        return None

    def min_sellable(self, price: Decimal) -> Decimal:
        """The smallest amount that passes the minimums at this price (already on the step)."""
        need = self.min_amount or ZERO
        if self.min_cost is not None and price > 0:
            need = max(need, self.min_cost / price)
        return self.ceil_amount(need) if need > 0 else (self.amount_step or ZERO)


def _positive(value: Any) -> Decimal | None:
    if value is None:
        return None
    d = dec(value)
    return d if d > 0 else None


@dataclass(frozen=True, slots=True)
class RiskSettings:
    """One user's risk settings (the columns of core.db.models.User)."""

    deposit: Decimal
    risk_per_trade_pct: Decimal = Decimal(1)
    max_open_positions: int = 5
    max_symbol_share_pct: Decimal = Decimal(25)
    daily_loss_limit_pct: Decimal = Decimal(5)
    # size as this share of the free balance instead of by risk/stop distance (all-in backtests)
    fixed_fraction: Decimal | None = None

    @classmethod
    def from_user(cls, user: Any) -> RiskSettings:
        return cls(
            deposit=user.deposit or ZERO,
            risk_per_trade_pct=user.risk_per_trade_pct,
            max_open_positions=user.max_open_positions,
            max_symbol_share_pct=user.max_symbol_share_pct,
            daily_loss_limit_pct=user.daily_loss_limit_pct,
        )

    @property
    def risk_amount(self) -> Decimal:
        return self.deposit * self.risk_per_trade_pct / HUNDRED

    @property
    def symbol_cap(self) -> Decimal:
        return self.deposit * self.max_symbol_share_pct / HUNDRED

    @property
    def daily_loss_cap(self) -> Decimal:
        return self.deposit * self.daily_loss_limit_pct / HUNDRED


@dataclass(frozen=True, slots=True)
class AccountState:
    """What the user holds now, as the planner sees it (quote currency)."""

    free: Decimal
    open_positions: int = 0
    symbol_exposure: Mapping[str, Decimal] = field(default_factory=dict)  # entry cost of open positions
    total_exposure: Decimal = ZERO
    realized_pnl_today: Decimal = ZERO  # negative when losing


@dataclass(frozen=True, slots=True)
class SizeDecision:
    amount: Decimal | None  # None: refused, no order
    reason: str | None = None  # why refused
    limited_by: str | None = None  # which cap bound the size, for logs
    daily_limit_hit: bool = False  # tell the user (once per UTC day, see should_notify_daily_limit)

    @property
    def ok(self) -> bool:
        return self.amount is not None


_FLOOR: dict[int, Context] = {}


def _floor_context() -> Context:
    """A context rounding toward zero at the current precision (made once per precision)."""
    prec = getcontext().prec
    ctx = _FLOOR.get(prec)
    if ctx is None:
        ctx = _FLOOR[prec] = Context(prec=prec, rounding=ROUND_FLOOR)
    return ctx


def div_floor(a: Decimal, b: Decimal) -> Decimal:
    """a / b rounded toward zero, so a size computed from a cap never exceeds it."""
    return _floor_context().divide(a, b)


def daily_loss_reached(settings: RiskSettings, realized_pnl_today: Decimal) -> bool:
    cap = settings.daily_loss_cap
    return cap > 0 and -realized_pnl_today >= cap


def should_notify_daily_limit(notified_on: date | None, now: datetime) -> bool:
    """True once per UTC day: compare with User.daily_loss_notified_on and store utc_day(now) after."""
    return notified_on != utc_day(now)


def utc_day(now: datetime) -> date:
    if now.tzinfo is None:
        raise ValueError("now must be an aware UTC datetime")
    return now.astimezone(UTC).date()


def atr_stop(
    price: Decimal,
    atr: float | Decimal | None,
    mult: Decimal,
    fallback_pct: Decimal | None,
    tick: Decimal | None = None,
) -> Decimal | None:
    """A long stop `mult` ATRs below the price; `fallback_pct` below when the ATR is not known yet."""
    distance: Decimal | None = None
    if atr is not None and not (isinstance(atr, float) and atr != atr) and dec(atr) > 0:
        distance = dec(atr) * mult
    elif fallback_pct is not None:
        distance = price * fallback_pct / HUNDRED
    if distance is None or distance <= 0 or distance >= price:
        return None
    stop = price - distance
    if tick is not None and tick > 0:
        stop = (stop / tick).to_integral_value(rounding=ROUND_FLOOR) * tick
    return stop if stop > 0 else None


def size_entry(
    settings: RiskSettings,
    account: AccountState,
    rules: MarketRules,
    price: Decimal,
    stop_price: Decimal | None,
    fee_rate: Decimal = ZERO,
) -> SizeDecision:
    """The amount to buy at `price` (long), or the reason there is no order."""
    amount, reason, limited_by, daily_hit = size_values(
        settings,
        account.free,
        account.open_positions,
        account.symbol_exposure.get(rules.symbol, ZERO) if account.symbol_exposure else ZERO,
        account.total_exposure,
        account.realized_pnl_today,
        rules,
        price,
        stop_price,
        fee_rate,
    )
    return SizeDecision(amount, reason, limited_by, daily_hit)


def size_values(
    settings: RiskSettings,
    free: Decimal,
    open_positions: int,
    symbol_exposure: Decimal,
    total_exposure: Decimal,
    realized_pnl_today: Decimal,
    rules: MarketRules,
    price: Decimal,
    stop_price: Decimal | None,
    fee_rate: Decimal = ZERO,
) -> tuple[Decimal | None, str | None, str | None, bool]:
    """`size_entry` on plain values: (amount or None, reason refused, cap that bound it, daily limit hit).

    The one sizing rule; the backtester calls it directly to skip building the two records per entry.
    """
    deposit = settings.deposit
    if deposit <= ZERO:
        return None, "no deposit set", None, False
    # (with a positive deposit the cap is positive exactly when the limit is: skip working it out if not)
    if settings.daily_loss_limit_pct > ZERO and daily_loss_reached(settings, realized_pnl_today):
        return None, "daily loss limit reached", None, True
    if open_positions >= settings.max_open_positions:
        return (
            None,
            f"already {open_positions} open positions (max {settings.max_open_positions})",
            None,
            False,
        )
    if price <= ZERO:
        return None, "no valid price", None, False

    floor = _floor_context()
    one_fee = ONE + fee_rate
    if settings.fixed_fraction is not None:
        amount = floor.divide(free * settings.fixed_fraction, price * one_fee)
        limited_by = "fixed fraction"
    else:
        if stop_price is None or stop_price >= price:
            return None, "no valid stop below the entry price", None, False
        amount = floor.divide(settings.risk_amount, price - stop_price)
        limited_by = "risk per trade"

    caps = (
        ("share per symbol", settings.symbol_cap - symbol_exposure),
        ("deposit", deposit - total_exposure),
        # cost plus the fee (rounded up to 1e-8) must be payable
        ("free balance", floor.divide(free - (FEE_QUANTUM if fee_rate > ZERO else ZERO), one_fee)),
    )
    cost = amount * price
    for name, cap_cost in caps:
        if cost > cap_cost:
            amount = floor.divide(max(cap_cost, ZERO), price)
            cost = amount * price
            limited_by = name
    if rules.max_amount is not None and amount > rules.max_amount:
        amount, limited_by = rules.max_amount, "market maximum"

    amount = rules.floor_amount(amount)
    problem = rules.violation(amount, price)
    if problem is not None:
        return None, f"{problem} (size limited by {limited_by})", limited_by, False
    return amount, None, limited_by, False
