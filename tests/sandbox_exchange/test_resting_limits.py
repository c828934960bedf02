"""Resting limits fill on the first candle whose price, rounded to the tick, reaches the limit."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from sandbox.exchange.accounts import Account, Balance
from sandbox.exchange.fills import FillModel
from sandbox.exchange.markets import Markets, Symbol
from sandbox.exchange.trading import TradingDesk

TF = 300_000


def _desk(low: list[float], high: list[float]) -> tuple[TradingDesk, Account]:
    markets = Markets(n_symbols=1, seed=1, history=3, start_ms=10 * TF)
    n = len(low)
    closes = np.array([101.0] * n)
    markets.symbols = {
        "TESTUSDT": Symbol(
            id="TESTUSDT",
            base="TEST",
            quote="USDT",
            tick=Decimal("0.01"),
            step=Decimal("0.001"),
            min_notional=Decimal("5"),
            ts=np.arange(n, dtype=np.int64) * TF,
            o=closes,
            h=np.array(high),
            lo=np.array(low),
            c=closes,
            v=np.ones(n),
        )
    }
    account = Account("k", "s", balances={"USDT": Balance(Decimal("1000")), "TEST": Balance(Decimal("5"))})
    return TradingDesk(markets, FillModel()), account


def _limit(desk: TradingDesk, account: Account, side: str, price: str) -> int:
    params = {"symbol": "TESTUSDT", "side": side, "type": "LIMIT", "timeInForce": "GTC"}
    order = desk.place(account, {**params, "quantity": "1", "price": price}, now=0, faults=[])
    assert order.status == "NEW"
    return order.order_id


def test_a_low_that_rounds_onto_the_buy_limit_fills_it() -> None:
    # the float low 100.004 is above 100.00 but the market shows it as 100.00 at a 0.01 tick
    desk, account = _desk(low=[101.0, 100.004, 100.5], high=[101.5, 101.5, 101.5])
    order_id = _limit(desk, account, "BUY", "100.00")
    assert desk.on_clock(2 * TF) == 1
    order = account.orders[order_id]
    assert order.status == "FILLED" and order.trades[0].time == TF and order.trades[0].price == Decimal("100")


def test_a_high_that_rounds_onto_the_sell_limit_fills_it_and_a_miss_does_not() -> None:
    desk, account = _desk(low=[100.0, 100.0, 100.0], high=[101.0, 101.996, 101.98])
    hit, miss = _limit(desk, account, "SELL", "102.00"), _limit(desk, account, "SELL", "102.01")
    assert desk.on_clock(2 * TF) == 1
    assert account.orders[hit].status == "FILLED" and account.orders[miss].status == "NEW"
