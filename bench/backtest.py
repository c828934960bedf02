"""Backtester speed: candles per second against backtesting.py (and vectorbt when installed).

Same strategy (SMA 10/30 cross, long only, next-open fills, 0.1% commission, all-in, no stops) on
the same seeded random-walk candles, measured in this run. Two shapes: 1 symbol x 500,000 candles
and 100 symbols x 10,000 candles (backtesting.py runs once per symbol). A second line for ours
runs the full default plan (risk sizing with ATR stops, 50% at 1R, trailing rest) for reference.
Times are CPU time of this process (time.process_time), best of --repeat runs, because the machine
is shared with other work; every engine is measured the same way in the same run.

    .venv/bin/python bench/backtest.py [--quick] [--no-vectorbt]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
import warnings
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.backtest import BacktestConfig, run_backtest
from core.exits import ExitPlan
from core.risk import RiskSettings
from core.strategy import MarketFrame, create

FAST, SLOW, FEE = 10, 30, 0.001
TF_MS = 300_000
# backtesting.py buys whole units: with this much cash, 0.2% a round trip over ~10,000 trades never
# leaves it unable to afford one, so every engine makes the same trades
CASH = 10**15


def candles(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.004, n)))
    open_ = np.empty(n)
    open_[0] = close[0]
    open_[1:] = close[:-1] * np.exp(rng.normal(0.0, 0.001, n - 1))
    wick = np.abs(rng.normal(0.0, 0.002, (2, n)))
    return pd.DataFrame(
        {
            "date": pd.date_range("2020-01-01", periods=n, freq="5min", tz="UTC"),
            "open": np.round(open_, 4),
            "high": np.round(np.maximum(open_, close) * (1 + wick[0]), 4),
            "low": np.round(np.minimum(open_, close) * (1 - wick[1]), 4),
            "close": np.round(close, 4),
            "volume": np.round(rng.uniform(1, 100, n), 3),
        }
    )


def all_in(n_symbols: int = 1) -> BacktestConfig:
    """backtesting.py's semantics: each symbol trades its own equal share of the capital, all in."""
    big = Decimal(CASH) * n_symbols
    return BacktestConfig(
        deposit=big,
        fee=Decimal(str(FEE)),
        exits=ExitPlan.none(),
        stop_atr_mult=None,
        risk=RiskSettings(
            deposit=big,
            max_open_positions=1000,
            max_symbol_share_pct=Decimal(100) / n_symbols,
            daily_loss_limit_pct=Decimal(0),
            fixed_fraction=Decimal(1),
        ),
    )


def run_ours(data: dict[str, pd.DataFrame], config: BacktestConfig) -> tuple[float, int]:
    frame = MarketFrame.from_candles(data, timeframe_ms=TF_MS)  # loading is not timed, as for the peers
    started = time.process_time()
    result = run_backtest(frame, create("sma_cross", fast=FAST, slow=SLOW), config)
    return time.process_time() - started, len(result.trades)


def run_backtesting_py(data: dict[str, pd.DataFrame]) -> tuple[float, int]:
    import talib
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    class SmaCross(Strategy):
        def init(self) -> None:
            self.fast = self.I(talib.SMA, self.data.Close.astype(float), FAST)
            self.slow = self.I(talib.SMA, self.data.Close.astype(float), SLOW)

        def next(self) -> None:
            if crossover(self.fast, self.slow):
                if not self.position:
                    self.buy()
            elif crossover(self.slow, self.fast):
                self.position.close()

    frames = [df.set_index("date").rename(columns=str.capitalize) for df in data.values()]
    trades = 0
    started = time.process_time()
    with contextlib.redirect_stderr(io.StringIO()):  # its progress bar
        for df in frames:
            bt = Backtest(df, SmaCross, cash=CASH, commission=FEE, finalize_trades=True)
            trades += int(bt.run()["# Trades"])
    return time.process_time() - started, trades


def run_vectorbt(data: dict[str, pd.DataFrame]) -> tuple[float, int]:
    import vectorbt as vbt

    close = pd.DataFrame({s: df["close"].to_numpy() for s, df in data.items()})
    open_ = pd.DataFrame({s: df["open"].to_numpy() for s, df in data.items()})
    started = time.process_time()
    fast = vbt.MA.run(close, FAST)
    slow = vbt.MA.run(close, SLOW)
    # signals on the close, filled at the next open
    entries = fast.ma_crossed_above(slow).shift(1, fill_value=False).to_numpy()
    exits = fast.ma_crossed_below(slow).shift(1, fill_value=False).to_numpy()
    pf = vbt.Portfolio.from_signals(close, entries, exits, price=open_, fees=FEE, init_cash=1e9)
    trades = int(pf.trades.count().sum())
    return time.process_time() - started, trades


def best(run: Callable[[], tuple[float, int]], repeat: int) -> tuple[float, int]:
    """The fastest of `repeat` runs: the machine is shared, the minimum is the least disturbed."""
    runs = [run() for _ in range(max(repeat, 1))]
    return min(runs)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a tenth of the candles")
    parser.add_argument("--no-vectorbt", action="store_true")
    parser.add_argument("--repeat", type=int, default=2, help="best of N runs per engine")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    scale = 10 if args.quick else 1
    cases = [(1, 500_000 // scale), (100, 10_000 // scale)]

    # warm-up: numba compiles (and caches) the event search and the indicator kernels
    warm = {"W/USDT": candles(2000, 0), "V/USDT": candles(2000, 1)}
    run_ours(warm, all_in(2))
    run_ours(warm, BacktestConfig())
    have_vbt = False
    if not args.no_vectorbt:
        try:
            print("vectorbt: compiling its kernels (first run only) ...", flush=True)
            run_vectorbt(warm)
            run_vectorbt({f"W{i}/USDT": candles(500, i) for i in range(100)})
            have_vbt = True
        except ImportError:
            print("vectorbt is not installed: skipped")

    rows: list[tuple[str, str, float, int, float]] = []
    for n_sym, n_candles in cases:
        data = {f"S{i:03d}/USDT": candles(n_candles, 1000 + i) for i in range(n_sym)}
        total = n_sym * n_candles
        label = f"{n_sym} x {n_candles:,}"
        t_bt, n_bt = best(partial(run_backtesting_py, data), args.repeat)
        t_ours, n_ours = best(partial(run_ours, data, all_in(n_sym)), args.repeat)
        t_full, n_full = best(partial(run_ours, data, BacktestConfig(deposit=Decimal(10000))), args.repeat)
        results: dict[str, tuple[float, int]] = {
            "ours (same rules)": (t_ours, n_ours),
            "ours (stops, ladder, trail)": (t_full, n_full),
            "backtesting.py": (t_bt, n_bt),
        }
        if have_vbt:
            results["vectorbt"] = best(partial(run_vectorbt, data), args.repeat)
        for name, (secs, trades) in results.items():
            rows.append((label, name, secs, trades, total / secs))
        print(
            f"{label}: ours {total / t_ours:,.0f} candles/s = {t_bt / t_ours:.1f}x backtesting.py"
            + (f", {results['vectorbt'][0] / t_ours:.2f}x vectorbt" if have_vbt else ""),
            flush=True,
        )

    print("\n(times are CPU seconds of this process, best of the runs: the machine is shared)")
    print(f"{'case':<16}{'engine':<30}{'seconds':>9}{'trades':>9}{'candles/s':>14}")
    for label, name, secs, trades, speed in rows:
        print(f"{label:<16}{name:<30}{secs:>9.3f}{trades:>9}{speed:>14,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
