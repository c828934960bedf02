"""sma_cross against backtesting.py's equivalent strategy: the same trades on the same data.

Both fill at the next candle's open with the same commission. Ours runs all-in with no stops or
targets (backtesting.py's SmaCross has none); backtesting.py leaves the trade still open at the end
out of its list (finalize_trades=False), so ours drops its "end" trade.

The data are random floats, so two SMAs are never exactly equal on a candle: at such a tie
backtesting.py's `crossover` (strictly below, then strictly above) misses a touch-then-cross that
ours counts (see tests/strategy: test_a_touch_then_cross_is_a_cross).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
import talib
from backtesting import Backtest
from backtesting import Strategy as BtStrategy
from backtesting.lib import crossover

from core.backtest import BacktestConfig, run_backtest
from core.exits import ExitPlan
from core.risk import RiskSettings
from core.strategy import MarketFrame, create
from tests.backtest.candles import random_candles

FAST, SLOW = 10, 30
FEE = 0.001


class BtSmaCross(BtStrategy):
    def init(self) -> None:
        self.fast = self.I(talib.SMA, self.data.Close.astype(float), FAST)
        self.slow = self.I(talib.SMA, self.data.Close.astype(float), SLOW)

    def next(self) -> None:
        if crossover(self.fast, self.slow):
            if not self.position:
                self.buy()
        elif crossover(self.slow, self.fast):
            self.position.close()


def _theirs(df: pd.DataFrame) -> list[tuple[int, float, int, float]]:
    data = df.set_index("date").rename(columns=str.capitalize)
    bt = Backtest(
        data, BtSmaCross, cash=1_000_000_000, commission=FEE, exclusive_orders=False, finalize_trades=False
    )
    with np.errstate(all="ignore"):
        stats = bt.run()
    out = []
    for row in stats._trades.itertuples():
        out.append(
            (
                pd.Timestamp(row.EntryTime).value // 1_000_000,
                float(row.EntryPrice),
                pd.Timestamp(row.ExitTime).value // 1_000_000,
                float(row.ExitPrice),
            )
        )
    return out


def _ours(df: pd.DataFrame) -> list[tuple[int, float, int, float]]:
    frame = MarketFrame.from_candles({"X/USDT": df}, timeframe_ms=300_000)
    config = BacktestConfig(
        deposit=Decimal(1_000_000_000),
        fee=Decimal(str(FEE)),
        risk=RiskSettings(
            deposit=Decimal(1_000_000_000),
            max_symbol_share_pct=Decimal(100),
            daily_loss_limit_pct=Decimal(0),
            fixed_fraction=Decimal(1),
        ),
        exits=ExitPlan.none(),
        stop_atr_mult=None,
    )
    result = run_backtest(frame, create("sma_cross", fast=FAST, slow=SLOW), config)
    return [
        (t.entry_time, float(t.entry_price), t.exit_time, float(t.exit_price))
        for t in result.trades
        if t.exit_reason != "end"
    ]


@pytest.mark.filterwarnings("ignore")  # backtesting.py warns about pandas deprecations and open trades
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_trades_as_backtesting_py(seed: int) -> None:
    df = random_candles(3000, seed)
    theirs = _theirs(df)
    ours = _ours(df)
    assert len(theirs) > 20  # the data must exercise the strategy
    assert ours == theirs
