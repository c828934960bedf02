"""What a strategy is: vectorised intents over the whole frame, and short reasons for one candle."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from core.strategy.frame import MarketFrame

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class StrategySignals:
    """Intents on each candle's close, all shaped [symbols, time].

    `entry`/`exit` are long-side intents (spot, long only for now; a short side would add its own pair).
    `strength` is in [0, 1] and is 0 wherever there is no entry.
    """

    entry: BoolArray
    exit: BoolArray
    strength: FloatArray

    @classmethod
    def build(cls, entry: BoolArray, exit_: BoolArray, strength: FloatArray | float = 1.0) -> StrategySignals:
        entry = np.asarray(entry, dtype=bool)
        exit_ = np.asarray(exit_, dtype=bool)
        raw = np.asarray(strength, dtype=np.float64)
        # a scalar strength is cleaned once, not once per cell of a broadcast copy
        clean = np.clip(np.nan_to_num(raw, nan=0.0), 0.0, 1.0)
        if clean.ndim:
            clean = np.broadcast_to(clean, entry.shape)
        return cls(entry, exit_, np.where(entry, clean, 0.0))


class Strategy(ABC):
    """A named, parameterised rule set. Subclasses set `name` and implement `signals` and `reason`."""

    name: ClassVar[str]
    # signals depend only on the frame's prices and this strategy's parameters, so one frame computes
    # them once for every strategy set that includes it; a strategy reading mutable state says False
    cacheable: ClassVar[bool] = True

    def __init__(self, **params: Any) -> None:
        self.params = params

    @property
    def key(self) -> str:
        """Stable identity of the strategy and its parameters (part of every signal id)."""
        args = ",".join(f"{k}={self.params[k]}" for k in sorted(self.params))
        return f"{self.name}({args})"

    @abstractmethod
    def signals(self, frame: MarketFrame) -> StrategySignals:
        """Entry/exit intents over every candle of the frame."""

    @abstractmethod
    def reason(self, frame: MarketFrame, symbol_index: int, t: int, entry: bool) -> str:
        """A short human-readable reason for the entry (or exit) intent at column t."""


def crossed_above(a: FloatArray, b: FloatArray) -> BoolArray:
    """a crosses above b on candle t: a <= b on t-1 and a > b on t (NaN never crosses)."""
    out = np.zeros(a.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        out[..., 1:] = (a[..., :-1] <= b[..., :-1]) & (a[..., 1:] > b[..., 1:])
    return out


def turned_on(cond: BoolArray) -> BoolArray:
    """True on the candles where a condition becomes true (it was false on the previous candle)."""
    out = cond.copy()
    out[..., 1:] &= ~cond[..., :-1]
    return out


def shift(a: FloatArray, n: int = 1) -> FloatArray:
    """Values from n candles earlier along time (NaN for the first n)."""
    out = np.full(a.shape, np.nan)
    out[..., n:] = a[..., :-n]
    return out


def fmt(x: float) -> str:
    return f"{x:.4g}"
