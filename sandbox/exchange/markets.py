"""Listed symbols, their trading filters and their candles (synthetic or replayed from files).

Every symbol keeps numpy arrays of its base-timeframe candles. The running candle at market time `now`
is the last one whose open time is <= now; it is shown complete (its final close is the current price).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np

from sandbox.exchange.candle_files import load_candle_dir
from sandbox.exchange.synthetic import SyntheticMarket, tick_for
from sandbox.exchange.timeframes import timeframe_ms

MIN_NOTIONAL = {
    "USDT": "5",
    "USDC": "5",
    "FDUSD": "5",
    "BUSD": "5",
    "BTC": "0.0001",
    "ETH": "0.001",
    "BNB": "0.01",
}


def decimal_of(value: float) -> Decimal:
    return Decimal(repr(float(value))).normalize()


def step_for(price: float, min_notional: float) -> float:
    """A lot step worth about a tenth of the minimum notional."""
    return float(10.0 ** min(0, max(-8, math.floor(math.log10(min_notional / (10 * price))))))


def decimals(q: Decimal) -> int:
    exponent = q.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 8


@dataclass
class Symbol:
    id: str  # "BTCUSDT"
    base: str
    quote: str
    tick: Decimal
    step: Decimal
    min_notional: Decimal
    ts: np.ndarray  # int64 open times (ms)
    o: np.ndarray
    h: np.ndarray
    lo: np.ndarray
    c: np.ndarray
    v: np.ndarray
    listed: bool = True
    price_dp: int = field(init=False)
    qty_dp: int = field(init=False)

    def __post_init__(self) -> None:
        self.price_dp, self.qty_dp = decimals(self.tick), decimals(self.step)

    @property
    def unified(self) -> str:
        return f"{self.base}/{self.quote}"

    @property
    def max_qty(self) -> Decimal:
        return Decimal("9000000000")

    def index_at(self, now_ms: int) -> int:
        """Index of the running candle at `now_ms`, -1 before the first candle."""
        return int(np.searchsorted(self.ts, now_ms, side="right")) - 1

    def price(self, value: float) -> Decimal:
        return Decimal(f"{value:.{self.price_dp}f}")

    def fmt_price(self, value: float | Decimal) -> str:
        return f"{value:.8f}"

    def fmt_qty(self, value: float | Decimal) -> str:
        return f"{value:.{max(self.qty_dp, 8)}f}"


class Markets:
    """The symbol universe and the market clock's view of prices."""

    def __init__(
        self,
        *,
        timeframe: str = "5m",
        n_symbols: int = 50,
        seed: int = 42,
        candles_dir: str | Path | None = None,
        history: int = 2000,
        start_ms: int | None = None,
        now_wall_ms: int = 0,
    ):
        self.timeframe, self.tf_ms = timeframe, timeframe_ms(timeframe)
        self.symbols: dict[str, Symbol] = {}
        self._synthetic: SyntheticMarket | None = None
        if candles_dir is not None:
            self.start_ms = self._load_files(Path(candles_dir), history, start_ms)
        else:
            anchor = start_ms if start_ms is not None else (now_wall_ms // self.tf_ms) * self.tf_ms
            self.start_ms = anchor
            self._synthetic = SyntheticMarket(n_symbols, seed, timeframe, anchor - history * self.tf_ms)
            self._synthetic.ensure(history + 1)
            for j, spec in enumerate(self._synthetic.specs):
                ts, o, h, lo, c, v = self._synthetic_columns(j)
                self.symbols[spec.base + spec.quote] = Symbol(
                    id=spec.base + spec.quote,
                    base=spec.base,
                    quote=spec.quote,
                    tick=decimal_of(spec.tick),
                    step=decimal_of(step_for(spec.price0, float(MIN_NOTIONAL[spec.quote]))),
                    min_notional=Decimal(MIN_NOTIONAL[spec.quote]),
                    ts=ts,
                    o=o,
                    h=h,
                    lo=lo,
                    c=c,
                    v=v,
                )

    def _synthetic_columns(self, j: int) -> tuple[np.ndarray, ...]:
        m = self._synthetic
        assert m is not None
        return (m.timestamps(), m.open[:, j], m.high[:, j], m.low[:, j], m.close[:, j], m.volume[:, j])

    def _load_files(self, folder: Path, history: int, start_ms: int | None) -> int:
        frames = load_candle_dir(folder, self.timeframe)
        if not frames:
            raise ValueError(f"no {self.timeframe} candle files (BASE_QUOTE-{self.timeframe}.*) in {folder}")
        firsts = []
        for (base, quote), df in sorted(frames.items()):
            ts = df["ts"].to_numpy(np.int64)
            closes = df["close"].to_numpy(float)
            median = float(np.median(closes[closes > 0])) if (closes > 0).any() else 1.0
            tick = _infer_tick(df[["open", "high", "low", "close"]].to_numpy(float)) or tick_for(median)
            min_notional = Decimal(MIN_NOTIONAL.get(quote, "1"))
            o, h, lo, c, v = (df[col].to_numpy(float) for col in ("open", "high", "low", "close", "volume"))
            self.symbols[base + quote] = Symbol(
                id=base + quote,
                base=base,
                quote=quote,
                tick=decimal_of(tick),
                step=decimal_of(step_for(median, float(min_notional))),
                min_notional=min_notional,
                ts=ts,
                o=o,
                h=h,
                lo=lo,
                c=c,
                v=v,
            )
            firsts.append(int(ts[min(history, len(ts) - 1)]))
        # start where every file has `history` candles behind it (or its last candle)
        return start_ms if start_ms is not None else max(firsts)

    def ensure_until(self, now_ms: int) -> None:
        """Synthetic markets grow forward as the clock moves; replays simply stop at their last candle."""
        m = self._synthetic
        if m is None:
            return
        needed = (now_ms - m.start_ms) // self.tf_ms + 1
        if needed > m.n_candles:
            m.ensure(int(needed))
            for j, spec in enumerate(m.specs):
                sym = self.symbols[spec.base + spec.quote]
                sym.ts, sym.o, sym.h, sym.lo, sym.c, sym.v = self._synthetic_columns(j)

    def get(self, symbol_id: str) -> Symbol | None:
        sym = self.symbols.get(symbol_id)
        return sym if sym is not None and sym.listed else None

    def listed(self) -> list[Symbol]:
        return [s for s in self.symbols.values() if s.listed]

    def find(self, name: str) -> Symbol | None:
        """By exchange id (BTCUSDT) or unified symbol (BTC/USDT), listed or not."""
        return self.symbols.get(name.replace("/", "").replace("_", "").replace("-", "").upper())


def _infer_tick(values: np.ndarray) -> float | None:
    sample = values[:2000].ravel()
    sample = sample[np.isfinite(sample) & (sample > 0)]
    if sample.size == 0:
        return None
    for dp in range(0, 9):
        scaled = sample * 10**dp
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-6 * np.maximum(1.0, scaled)):
            return float(10.0**-dp)
    return 1e-8
