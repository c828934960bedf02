"""A seeded synthetic spot market: correlated geometric random walks with GARCH volatility clustering.

Candle i of symbol s depends only on (seed, n_symbols, timeframe, i), so the same seed always gives the same
market whatever the window asked for. Each step: a common market factor f and an idiosyncratic shock e
(fat-tailed, unit variance) give z = rho*f + sqrt(1-rho^2)*e; the log return is sqrt(h)*z where the
variance h follows GARCH(1,1) (h' = omega + alpha*r^2 + beta*h). Volume grows with the size of the move
and follows a daily cycle. Prices are rounded to each symbol's tick, like a real exchange's candles.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sandbox.exchange.timeframes import timeframe_ms

CHUNK = 512  # candles generated per random stream; fixes the stream layout so results are seed-stable
QUOTE = "USDT"
GARCH_ALPHA, GARCH_BETA = 0.08, 0.90
_KNOWN = {
    "BTC": (60_000.0, 0.030), "ETH": (3_000.0, 0.040), "BNB": (600.0, 0.035), "SOL": (150.0, 0.055),
    "XRP": (0.6, 0.045), "ADA": (0.45, 0.050), "DOGE": (0.15, 0.060), "TRX": (0.12, 0.035),
    "AVAX": (35.0, 0.055), "LINK": (15.0, 0.050), "DOT": (7.0, 0.050), "MATIC": (0.7, 0.055),
    "TON": (6.0, 0.050), "SHIB": (0.00002, 0.065), "LTC": (80.0, 0.040), "BCH": (400.0, 0.045),
}  # fmt: skip
_WORDS = (
    "UNI ATOM XLM ETC FIL APT ARB OP NEAR ICP HBAR VET INJ AAVE GRT ALGO SAND MANA AXS THETA EGLD XTZ EOS "
    "FLOW CHZ KAVA ZEC DASH NEO IOTA CRV MKR SNX COMP RUNE FTM QNT ENJ BAT ZIL ONE ROSE HOT CELO ANKR SUSHI "
    "YFI GALA LRC KSM WAVES IOST ONT QTUM ICX SC ZRX STORJ SKL CTSI OCEAN BAND RSR NKN CVC DENT WIN STX IMX "
    "LDO PEPE FET RNDR SUI SEI TIA WLD JUP PYTH BONK ORDI BLUR DYDX GMX MINA CFX AGIX KLAY AR JASMY"
)
BASES = (*_KNOWN, *_WORDS.split())


@dataclass(frozen=True)
class SymbolSpec:
    base: str
    quote: str
    price0: float
    daily_vol: float
    rho: float  # loading on the common market factor
    quote_volume_per_day: float
    tick: float

    @property
    def symbol(self) -> str:
        return f"{self.base}/{self.quote}"


def tick_for(price: float) -> float:
    """About five significant digits, like Binance's tick sizes."""
    return float(10.0 ** max(-8, math.floor(math.log10(price)) - 4))


def make_specs(n_symbols: int, seed: int) -> list[SymbolSpec]:
    rng = np.random.default_rng([seed, 0xC0FFEE])
    specs = []
    for i in range(n_symbols):
        base = BASES[i] if i < len(BASES) else f"SYN{i:03d}"
        if base in _KNOWN:
            price, vol = _KNOWN[base]
        else:
            price = float(math.exp(rng.uniform(math.log(0.01), math.log(300.0))))
            vol = float(rng.uniform(0.04, 0.08))
        # bigger, older coins trade more; a power law over the rank
        qvol = 2.0e9 / (1 + i) ** 1.1 * float(rng.lognormal(0.0, 0.3))
        rho = 0.85 if base == "BTC" else float(rng.uniform(0.45, 0.8))
        specs.append(SymbolSpec(base, QUOTE, price, vol, rho, qvol, tick_for(price)))
    return specs


class SyntheticMarket:
    """Generates candles chunk by chunk; candle index 0 opens at `start_ms`."""

    def __init__(self, n_symbols: int = 50, seed: int = 42, timeframe: str = "5m", start_ms: int = 0):
        if n_symbols < 1:
            raise ValueError("n_symbols must be at least 1")
        self.seed, self.timeframe, self.start_ms = seed, timeframe, start_ms
        self.tf_ms = timeframe_ms(timeframe)
        self.specs = make_specs(n_symbols, seed)
        per_day = 86_400_000 / self.tf_ms
        self._sigma = np.array([s.daily_vol for s in self.specs]) / math.sqrt(per_day)
        self._rho = np.array([s.rho for s in self.specs])
        self._tick = np.array([s.tick for s in self.specs])
        self._qvol = np.array([s.quote_volume_per_day for s in self.specs]) / per_day
        self._omega = self._sigma**2 * (1 - GARCH_ALPHA - GARCH_BETA)
        self._log_close = np.log(np.array([s.price0 for s in self.specs]))
        self._var = self._sigma**2
        self._chunks = 0
        # rows: candles, columns: symbols
        self.open = np.empty((0, n_symbols))
        self.high = np.empty((0, n_symbols))
        self.low = np.empty((0, n_symbols))
        self.close = np.empty((0, n_symbols))
        self.volume = np.empty((0, n_symbols))

    @property
    def n_candles(self) -> int:
        return int(self.close.shape[0])

    def ensure(self, n_candles: int) -> None:
        """Generate until at least `n_candles` candles exist."""
        parts: list[tuple[np.ndarray, ...]] = []
        have = self.n_candles
        while have < n_candles:
            parts.append(self._next_chunk())
            have += CHUNK
        if parts:
            self.open = np.vstack([self.open, *(p[0] for p in parts)])
            self.high = np.vstack([self.high, *(p[1] for p in parts)])
            self.low = np.vstack([self.low, *(p[2] for p in parts)])
            self.close = np.vstack([self.close, *(p[3] for p in parts)])
            self.volume = np.vstack([self.volume, *(p[4] for p in parts)])

    def _next_chunk(self) -> tuple[np.ndarray, ...]:
        rng = np.random.default_rng([self.seed, self._chunks])
        first = self._chunks * CHUNK
        self._chunks += 1
        n = len(self.specs)
        t_df = 5.0
        scale = math.sqrt((t_df - 2) / t_df)  # unit-variance Student-t shocks: fat tails
        factor = rng.standard_t(t_df, size=CHUNK) * scale
        idio = rng.standard_t(t_df, size=(CHUNK, n)) * scale
        wick_up = np.abs(rng.standard_normal((CHUNK, n)))
        wick_dn = np.abs(rng.standard_normal((CHUNK, n)))
        vol_noise = rng.lognormal(0.0, 0.35, size=(CHUNK, n))
        log_open = np.empty((CHUNK, n))
        log_close = np.empty((CHUNK, n))
        sd = np.empty((CHUNK, n))
        lc, var = self._log_close, self._var
        side = np.sqrt(1 - self._rho**2)
        for t in range(CHUNK):
            z = self._rho * factor[t] + side * idio[t]
            sd[t] = np.sqrt(var)
            r = sd[t] * z
            log_open[t] = lc
            lc = lc + r
            log_close[t] = lc
            var = self._omega + GARCH_ALPHA * r * r + GARCH_BETA * var
        self._log_close, self._var = lc, var
        o, c = np.exp(log_open), np.exp(log_close)
        h = np.maximum(o, c) * np.exp(0.6 * sd * wick_up)
        lo = np.minimum(o, c) * np.exp(-0.6 * sd * wick_dn)
        hours = ((self.start_ms + (first + np.arange(CHUNK)) * self.tf_ms) // 3_600_000) % 24
        daily_cycle = 1.0 + 0.35 * np.sin(2 * np.pi * (hours - 8) / 24)
        move = np.abs(log_close - log_open) / np.maximum(sd, 1e-12)
        quote_volume = self._qvol * vol_noise * daily_cycle[:, None] * (0.6 + 0.5 * move)
        tick = self._tick
        rounded = [np.maximum(np.round(x / tick), 1) * tick for x in (o, h, lo, c)]
        return (*rounded, np.round(quote_volume / c, 4))

    def timestamps(self, n: int | None = None) -> np.ndarray:
        count = self.n_candles if n is None else n
        return self.start_ms + np.arange(count, dtype=np.int64) * self.tf_ms


def synthetic_ohlcv(
    n_symbols: int = 50,
    n_candles: int = 2000,
    timeframe: str = "5m",
    seed: int = 42,
    end_ms: int | None = None,
) -> dict[str, pd.DataFrame]:
    """Offline candles for the backtester and model trainer: {"BTC/USDT": DataFrame(date, open, ..., volume)}.

    The last candle is the last one fully closed at `end_ms` (default: now). Prices depend only on the seed.
    """
    tf = timeframe_ms(timeframe)
    end = int(time.time() * 1000) if end_ms is None else end_ms
    last_open = (end // tf) * tf - tf
    market = SyntheticMarket(n_symbols, seed, timeframe, start_ms=last_open - (n_candles - 1) * tf)
    market.ensure(n_candles)
    dates = pd.to_datetime(market.timestamps(n_candles), unit="ms", utc=True)
    out: dict[str, pd.DataFrame] = {}
    for j, spec in enumerate(market.specs):
        out[spec.symbol] = pd.DataFrame(
            {
                "date": dates,
                "open": market.open[:n_candles, j],
                "high": market.high[:n_candles, j],
                "low": market.low[:n_candles, j],
                "close": market.close[:n_candles, j],
                "volume": market.volume[:n_candles, j],
            }
        )
    return out
