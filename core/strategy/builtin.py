"""The built-in strategies. Each reads indicators through the frame's shared cache."""

from __future__ import annotations

import numpy as np

from core.strategy.base import Strategy, StrategySignals, crossed_above, fmt, shift, turned_on
from core.strategy.frame import MarketFrame
from core.strategy.registry import register


@register
class SmaCross(Strategy):
    """Long when the fast SMA crosses above the slow one; out when it crosses back below."""

    name = "sma_cross"

    def __init__(self, fast: int = 10, slow: int = 30) -> None:
        if not 0 < fast < slow:
            raise ValueError("sma_cross needs 0 < fast < slow")
        super().__init__(fast=fast, slow=slow)
        self.fast, self.slow = fast, slow

    def _smas(self, frame: MarketFrame) -> tuple[np.ndarray, np.ndarray]:
        return frame.indicator("sma", period=self.fast), frame.indicator("sma", period=self.slow)

    def signals(self, frame: MarketFrame) -> StrategySignals:
        fast, slow = self._smas(frame)
        return StrategySignals.build(crossed_above(fast, slow), crossed_above(slow, fast), 1.0)

    def reason(self, frame: MarketFrame, symbol_index: int, t: int, entry: bool) -> str:
        way = "above" if entry else "below"
        return f"SMA{self.fast} crossed {way} SMA{self.slow}"


@register
class Trend(Strategy):
    """EMA cross in a trending market: ADX above a floor and +DI over -DI. Exit on the reverse cross."""

    name = "trend"

    def __init__(self, fast: int = 12, slow: int = 26, adx_period: int = 14, adx_min: float = 25.0) -> None:
        if not 0 < fast < slow:
            raise ValueError("trend needs 0 < fast < slow")
        super().__init__(fast=fast, slow=slow, adx_period=adx_period, adx_min=adx_min)
        self.fast, self.slow, self.adx_period, self.adx_min = fast, slow, adx_period, adx_min

    def signals(self, frame: MarketFrame) -> StrategySignals:
        fast = frame.indicator("ema", period=self.fast)
        slow = frame.indicator("ema", period=self.slow)
        adx, plus_di, minus_di = frame.indicator("adx", period=self.adx_period)
        with np.errstate(invalid="ignore"):
            trending = (adx >= self.adx_min) & (plus_di > minus_di)
        entry = crossed_above(fast, slow) & trending
        # strength grows with trend strength: ADX at the floor -> 0.5, ADX 50+ -> 1
        span = max(50.0 - self.adx_min, 1e-9)
        strength = 0.5 + 0.5 * np.clip((adx - self.adx_min) / span, 0.0, 1.0)
        return StrategySignals.build(entry, crossed_above(slow, fast), strength)

    def reason(self, frame: MarketFrame, symbol_index: int, t: int, entry: bool) -> str:
        if not entry:
            return f"EMA{self.fast} crossed below EMA{self.slow}"
        adx = frame.indicator("adx", period=self.adx_period)[0][symbol_index, t]
        return f"EMA{self.fast} crossed above EMA{self.slow}, ADX {fmt(adx)}"


@register
class MeanReversion(Strategy):
    """Buy an oversold dip below the lower Bollinger band; exit back at the middle band or overbought."""

    name = "mean_reversion"

    def __init__(
        self,
        rsi_period: int = 14,
        oversold: float = 30.0,
        overbought: float = 70.0,
        bb_period: int = 20,
        bb_dev: float = 2.0,
    ) -> None:
        super().__init__(
            rsi_period=rsi_period,
            oversold=oversold,
            overbought=overbought,
            bb_period=bb_period,
            bb_dev=bb_dev,
        )
        self.rsi_period, self.oversold, self.overbought = rsi_period, oversold, overbought
        self.bb_period, self.bb_dev = bb_period, bb_dev

    def _bands(self, frame: MarketFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return frame.indicator("bbands", period=self.bb_period, nbdevup=self.bb_dev, nbdevdn=self.bb_dev)  # type: ignore[no-any-return]

    def signals(self, frame: MarketFrame) -> StrategySignals:
        rsi = frame.indicator("rsi", period=self.rsi_period)
        _, middle, lower = self._bands(frame)
        close = frame.close
        with np.errstate(invalid="ignore"):
            entry = (rsi < self.oversold) & (close < lower)
            exit_ = (close >= middle) | (rsi > self.overbought)
        # deeper oversold -> stronger: RSI at the threshold -> 0.5, RSI 0 -> 1
        strength = 0.5 + 0.5 * np.clip((self.oversold - rsi) / max(self.oversold, 1e-9), 0.0, 1.0)
        # exits fire when the condition turns on, so a calm market does not vote "exit" on every candle
        return StrategySignals.build(entry, turned_on(exit_) & ~entry, strength)

    def reason(self, frame: MarketFrame, symbol_index: int, t: int, entry: bool) -> str:
        rsi = frame.indicator("rsi", period=self.rsi_period)[symbol_index, t]
        if entry:
            return (
                f"RSI{self.rsi_period} {fmt(rsi)} < {fmt(self.oversold)} and close below lower Bollinger band"
            )
        if rsi > self.overbought:
            return f"RSI{self.rsi_period} {fmt(rsi)} > {fmt(self.overbought)}"
        return "close back at the middle Bollinger band"


@register
class Breakout(Strategy):
    """Close above the previous rolling resistance on above-average volume; exit below support."""

    name = "breakout"

    def __init__(self, period: int = 20, volume_period: int = 20, volume_mult: float = 1.5) -> None:
        super().__init__(period=period, volume_period=volume_period, volume_mult=volume_mult)
        self.period, self.volume_period, self.volume_mult = period, volume_period, volume_mult

    def _levels(self, frame: MarketFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        support, resistance = frame.indicator("pivots", period=self.period)
        avg_volume = frame.indicator("sma", source="volume", period=self.volume_period)
        # the levels of the window that ended on the previous candle: today's high cannot break itself
        return shift(support), shift(resistance), shift(avg_volume)

    def signals(self, frame: MarketFrame) -> StrategySignals:
        support, resistance, avg_volume = self._levels(frame)
        close, volume = frame.close, frame.volume
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = volume / avg_volume
            entry = (close > resistance) & (ratio >= self.volume_mult)
            exit_ = close < support
        strength = 0.5 + 0.5 * np.clip((ratio - self.volume_mult) / max(self.volume_mult, 1e-9), 0.0, 1.0)
        return StrategySignals.build(entry, turned_on(exit_) & ~entry, strength)

    def reason(self, frame: MarketFrame, symbol_index: int, t: int, entry: bool) -> str:
        support, resistance, avg_volume = self._levels(frame)
        if entry:
            ratio = frame.volume[symbol_index, t] / avg_volume[symbol_index, t]
            level = fmt(resistance[symbol_index, t])
            return f"close broke {self.period}-candle resistance {level} on {ratio:.1f}x volume"
        return f"close fell below {self.period}-candle support {fmt(support[symbol_index, t])}"
