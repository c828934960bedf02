"""What a backtest takes and gives: its configuration, the trades, the result and the equity curve."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from numba import njit

from core.exits import ExitPlan
from core.fills import FillModel
from core.risk import ZERO, RiskSettings
from core.strategy.book import Weights


@dataclass(frozen=True)
class BacktestConfig:
    deposit: Decimal = Decimal(10000)
    fee: Decimal = Decimal("0.001")
    slippage: Decimal = Decimal(0)
    risk: RiskSettings | None = None  # default: the user defaults with this deposit
    exits: ExitPlan = field(default_factory=ExitPlan)
    stop_atr_mult: Decimal | None = Decimal(2)  # None: positions open without a stop
    atr_period: int = 14
    stop_fallback_pct: Decimal | None = Decimal(2)  # while the ATR is still warming up
    markets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # ccxt-style market dicts
    weights: Weights | None = None
    start_ms: int | None = None  # trade only candles in [start_ms, end_ms]; indicators see all data
    end_ms: int | None = None
    close_at_end: bool = True
    progress: bool = False

    def risk_settings(self) -> RiskSettings:
        return self.risk if self.risk is not None else RiskSettings(deposit=self.deposit)

    def fill_model(self) -> FillModel:
        return FillModel(taker_fee=self.fee, maker_fee=self.fee, slippage=self.slippage)


@dataclass(slots=True)
class Exit:
    time: int
    price: Decimal
    amount: Decimal
    fee: Decimal
    reason: str


@dataclass(slots=True)
class Trade:
    symbol: str
    entry_time: int
    entry_price: Decimal
    amount: Decimal
    entry_fee: Decimal
    signal_id: str | None = None
    exits: list[Exit] = field(default_factory=list)
    strength: float = 0.0

    @property
    def exit_time(self) -> int:
        return self.exits[-1].time

    @property
    def exit_price(self) -> Decimal:
        """Amount-weighted average of the exit fills."""
        sold = sum((e.amount for e in self.exits), ZERO)
        return sum((e.price * e.amount for e in self.exits), ZERO) / sold if sold else ZERO

    @property
    def exit_reason(self) -> str:
        return self.exits[-1].reason

    @property
    def fees(self) -> Decimal:
        return self.entry_fee + sum((e.fee for e in self.exits), ZERO)

    @property
    def pnl(self) -> Decimal:
        proceeds = sum((e.price * e.amount for e in self.exits), ZERO)
        return proceeds - self.entry_price * self.amount - self.fees

    @property
    def return_pct(self) -> Decimal:
        cost = self.entry_price * self.amount
        return self.pnl / cost * 100 if cost else ZERO

    def to_json(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "entry_time": self.entry_time,
            "entry_price": str(self.entry_price),
            "exit_time": self.exit_time,
            "exit_price": str(self.exit_price),
            "amount": str(self.amount),
            "fees": str(self.fees),
            "pnl": str(self.pnl),
            "return_pct": str(self.return_pct.quantize(Decimal("0.0001"))),
            "exit_reason": self.exit_reason,
            "exits": [
                {
                    "time": e.time,
                    "price": str(e.price),
                    "amount": str(e.amount),
                    "fee": str(e.fee),
                    "reason": e.reason,
                }
                for e in self.exits
            ],
        }


@dataclass
class BacktestResult:
    symbols: tuple[str, ...]
    times: np.ndarray  # ms, the traded window
    equity: np.ndarray  # float, mark-to-market at each candle's close
    exposure: np.ndarray  # bool, any position held at the candle's close
    trades: list[Trade]
    final_cash: Decimal
    deposit: Decimal
    timeframe_ms: int
    strategy: str
    refused: Counter[str] = field(default_factory=Counter)
    daily_limit_days: int = 0


@dataclass
class Moves:
    """Every fill's change of a symbol's holding and of the cash, in the order they happened (for the
    equity curve; cash changes may be Decimal, they are turned into floats in one go at the end)."""

    symbol: list[int] = field(default_factory=list)
    candle: list[int] = field(default_factory=list)
    amount: list[float] = field(default_factory=list)
    cash: list[Decimal | float] = field(default_factory=list)

    def add(self, symbol: int, candle: int, amount: float, cash: Decimal | float) -> None:
        self.symbol.append(symbol)
        self.candle.append(candle)
        self.amount.append(amount)
        self.cash.append(cash)


@dataclass
class Outcome:
    """What a backtest loop hands back: the trades, the fills' moves, the cash left and the refusals."""

    trades: list[Trade]  # by entry time, then symbol
    moves: Moves
    cash: Decimal
    refused: Counter[str]
    limit_days: set[int]  # UTC days (ms // day) on which the daily loss limit refused an entry


def equity_curve(close: np.ndarray, moves: Moves, t0: int, deposit: float) -> tuple[np.ndarray, np.ndarray]:
    """Mark-to-market equity at each close (float: for metrics only) and whether anything was held."""
    width = close.shape[1]
    value = np.empty(width)
    held_any = np.zeros(width, dtype=np.bool_)
    cash: np.ndarray = np.zeros(width)
    if moves.symbol:
        col = np.array(moves.candle, dtype=np.intp) - t0
        sym = np.array(moves.symbol, dtype=np.intp)
        _mark_to_market(
            np.ascontiguousarray(close), sym, col, np.array(moves.amount, dtype=np.float64), value, held_any
        )
        # bincount adds the weights in input order, like np.add.at, only much faster
        cash = np.bincount(col, weights=np.array(moves.cash, dtype=np.float64), minlength=width)
    else:
        value[:] = 0.0
    return deposit + np.cumsum(cash) + value, held_any


@njit(cache=True, nogil=True)
def _mark_to_market(
    close: np.ndarray,
    sym: np.ndarray,
    col: np.ndarray,
    amount: np.ndarray,
    value: np.ndarray,
    held_any: np.ndarray,
) -> None:
    """value[t] = sum over symbols of amount held after candle t times its close (NaN close: 0), in one
    pass; the same float operations in the same order as the numpy expression it replaces:
    held = cumsum(deltas, axis=1); held[|held| < 1e-12] = 0; (held * nan_to_num(close)).sum(axis=0)."""
    n_sym, width = close.shape
    delta = np.zeros((n_sym, width))
    for i in range(len(sym)):
        delta[sym[i], col[i]] += amount[i]
    for s in range(n_sym):
        acc = 0.0
        for t in range(width):
            acc += delta[s, t]
            h = 0.0 if abs(acc) < 1e-12 else acc
            c = close[s, t]
            if c != c:
                c = 0.0
            if s == 0:
                value[t] = h * c
            else:
                value[t] += h * c
            if h != 0.0:
                held_any[t] = True
