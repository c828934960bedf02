"""The sandbox's fill model and core/fills.py give identical fills (the sandbox may not import core)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from core.fills import FillModel as CoreModel
from sandbox.exchange.fills import FillModel as SandboxModel
from tests.fixtures.exchange import ExchangeServer, binance_client

rates = st.decimals(min_value=0, max_value=Decimal("0.01"), places=5)
prices = st.decimals(min_value=Decimal("0.00000100"), max_value=Decimal("100000"), places=8)
amounts = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("10000"), places=8)
ticks = st.sampled_from([None, Decimal("0.00000001"), Decimal("0.0001"), Decimal("0.01"), Decimal("1")])
sides = st.sampled_from(["buy", "sell"])


def models(taker: Decimal, maker: Decimal, slip: Decimal) -> tuple[CoreModel, SandboxModel]:
    return CoreModel(taker, maker, slip), SandboxModel(taker, maker, slip)


def same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return (a.price, a.amount, a.cost, a.fee, a.taker) == (b.price, b.amount, b.cost, b.fee, b.taker)


@settings(max_examples=300, deadline=None)
@given(side=sides, amount=amounts, ref=prices, tick=ticks, taker=rates, maker=rates, slip=rates)
def test_market_fills_are_identical(
    side: str,
    amount: Decimal,
    ref: Decimal,
    tick: Decimal | None,
    taker: Decimal,
    maker: Decimal,
    slip: Decimal,
) -> None:
    core, sandbox = models(taker, maker, slip)
    assert same(core.market(side, amount, ref, tick), sandbox.market(side, amount, ref, tick))
    assert core.market_price(side, ref, tick) == sandbox.market_price(side, ref, tick)
    assert core.fee(amount * ref, True) == sandbox.fee(amount * ref, True)
    assert core.fee(amount * ref, False) == sandbox.fee(amount * ref, False)


@settings(max_examples=300, deadline=None)
@given(
    side=sides,
    amount=amounts,
    limit=prices,
    ref=prices,
    low=prices,
    high=prices,
    tick=ticks,
    slip=rates,
    fee=rates,
)
def test_limit_fills_are_identical(
    side: str,
    amount: Decimal,
    limit: Decimal,
    ref: Decimal,
    low: Decimal,
    high: Decimal,
    tick: Decimal | None,
    slip: Decimal,
    fee: Decimal,
) -> None:
    core, sandbox = models(fee, fee / 2, slip)
    assert same(
        core.limit_on_place(side, amount, limit, ref, tick),
        sandbox.limit_on_place(side, amount, limit, ref, tick),
    )
    low, high = min(low, high), max(low, high)
    assert same(
        core.limit_resting(side, amount, limit, low, high),
        sandbox.limit_resting(side, amount, limit, low, high),
    )


async def test_orders_over_the_wire_match_core_fill_model() -> None:
    """Market and resting-limit orders placed with real ccxt fill exactly as core's FillModel says."""
    from tests.fixtures.exchange import start_exchange_server

    taker, maker, slip = Decimal("0.00075"), Decimal("0.0002"), Decimal("0.0005")
    server = await start_exchange_server(
        n_symbols=10, seed=11, taker_fee=taker, maker_fee=maker, slippage=slip
    )
    await server.create_account("p", "p", {"USDT": "100000", "SOL": "100"})
    client = binance_client(server, "p", "p")
    core = CoreModel(taker, maker, slip)
    try:
        await client.load_markets()
        for symbol, side, amount in (
            ("SOL/USDT", "buy", "3.5"),
            ("SOL/USDT", "sell", "1.25"),
            ("BTC/USDT", "buy", "0.01"),
        ):
            tick = Decimal(str(client.market(symbol)["precision"]["price"]))
            ref = Decimal(str((await client.fetch_ticker(symbol))["last"]))
            order = await client.create_order(symbol, "market", side, float(amount))
            expected = core.market(side, Decimal(amount), ref, tick)
            got = order["info"]["fills"][0]
            assert (Decimal(got["price"]), Decimal(got["qty"]), Decimal(got["commission"])) == (
                expected.price,
                expected.amount,
                expected.fee,
            )
            assert Decimal(order["info"]["cummulativeQuoteQty"]) == expected.cost
        await ensure_resting_fill(server, client, core)
    finally:
        await client.close()
        await server.close()


async def ensure_resting_fill(server: ExchangeServer, client: Any, core: CoreModel) -> None:
    last = Decimal(str((await client.fetch_ticker("SOL/USDT"))["last"]))
    limit = Decimal(client.price_to_precision("SOL/USDT", float(last * Decimal("1.002"))))
    order = await client.create_order("SOL/USDT", "limit", "sell", 2, float(limit))
    assert order["status"] == "open"
    for _ in range(300):
        await server.advance("5m")
        candle = (await client.fetch_ohlcv("SOL/USDT", "5m", limit=1))[-1]
        fetched = await client.fetch_order(order["id"], "SOL/USDT")
        if fetched["status"] == "closed":
            break
    else:
        raise AssertionError("seed 11 never reached the limit within 300 candles")
    expected = core.limit_resting("sell", Decimal(2), limit, Decimal(str(candle[3])), Decimal(str(candle[2])))
    assert expected is not None
    trade = (await client.fetch_my_trades("SOL/USDT", params={"orderId": order["id"]}))[0]["info"]
    assert (
        Decimal(trade["price"]),
        Decimal(trade["qty"]),
        Decimal(trade["commission"]),
        trade["isMaker"],
    ) == (
        expected.price,
        expected.amount,
        expected.fee,
        True,
    )
