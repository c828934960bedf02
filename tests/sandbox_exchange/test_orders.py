"""Orders, balances and trades through real ccxt async binance against the sandbox exchange."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt
import pytest

from core.fills import FillModel
from tests.fixtures.exchange import ExchangeServer, binance_client, start_exchange_server

KEY, SECRET = "alice-key", "alice-secret"
FEE = Decimal("0.001")


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


async def balances(client: Any) -> dict[str, tuple[Decimal, Decimal]]:
    raw = await client.fetch_balance()
    return {b["asset"]: (dec(b["free"]), dec(b["locked"])) for b in raw["info"]["balances"]}


@pytest.fixture
async def alice(exchange_server: ExchangeServer) -> Any:
    await exchange_server.create_account(KEY, SECRET, {"USDT": "10000", "ETH": "2"})
    client = binance_client(exchange_server, KEY, SECRET)
    await client.load_markets()
    yield client
    await client.close()


async def test_market_buy_and_sell_fill_at_the_price_with_taker_fee(alice: Any) -> None:
    ref = dec((await alice.fetch_ticker("ETH/USDT"))["last"])
    tick = dec(alice.market("ETH/USDT")["precision"]["price"])
    buy = await alice.create_order("ETH/USDT", "market", "buy", 0.5, params={"clientOrderId": "buy-1"})
    expected = FillModel(taker_fee=FEE, maker_fee=FEE).market("buy", Decimal("0.5"), ref, tick)
    fill = buy["info"]["fills"][0]
    assert buy["status"] == "closed" and buy["clientOrderId"] == "buy-1"
    assert (dec(fill["price"]), dec(fill["qty"]), dec(fill["commission"])) == (
        expected.price,
        expected.amount,
        expected.fee,
    )
    assert fill["commissionAsset"] == "USDT" and dec(buy["info"]["cummulativeQuoteQty"]) == expected.cost
    after_buy = await balances(alice)
    assert after_buy["USDT"] == (Decimal(10000) - expected.cost - expected.fee, 0)
    assert after_buy["ETH"] == (Decimal("2.5"), 0)

    sell = await alice.create_order("ETH/USDT", "market", "sell", 2.5)
    sold = sell["info"]["fills"][0]
    proceeds = dec(sold["price"]) * Decimal("2.5") - dec(sold["commission"])
    after_sell = await balances(alice)
    assert after_sell["ETH"] == (0, 0)
    assert after_sell["USDT"][0] == after_buy["USDT"][0] + proceeds


async def test_quote_order_qty_buys_down_to_the_step(alice: Any) -> None:
    ref = dec((await alice.fetch_ticker("BTC/USDT"))["last"])
    market = alice.market("BTC/USDT")
    step = dec(market["precision"]["amount"])
    order = await alice.create_order("BTC/USDT", "market", "buy", None, params={"quoteOrderQty": "100"})
    amount = dec(order["info"]["executedQty"])
    assert amount == (Decimal(100) / ref // step) * step
    assert dec(order["info"]["cummulativeQuoteQty"]) <= 100
    assert order["info"]["origQuoteOrderQty"].startswith("100.")
    # ccxt's createMarketBuyOrderWithCost sends quoteOrderQty too
    by_cost = await alice.create_market_buy_order_with_cost("BTC/USDT", 50)
    assert dec(by_cost["info"]["cummulativeQuoteQty"]) <= 50 and by_cost["status"] == "closed"


async def test_limit_rests_locks_funds_and_fills_when_the_clock_crosses_it(
    exchange_server: ExchangeServer, alice: Any
) -> None:
    candles = await alice.fetch_ohlcv("ETH/USDT", "5m", limit=1)
    last = dec(candles[-1][4])
    # find a price the next candles will reach: the lowest low of the next hour
    limit_price = dec(alice.price_to_precision("ETH/USDT", float(last * Decimal("0.999"))))
    order = await alice.create_order(
        "ETH/USDT", "limit", "buy", 1, float(limit_price), params={"clientOrderId": "lim-1"}
    )
    assert order["status"] == "open" and order["filled"] == 0
    cost = limit_price
    locked = cost + (cost * FEE).quantize(Decimal("1e-8"))
    bal = await balances(alice)
    assert bal["USDT"] == (Decimal(10000) - locked, locked)
    assert [o["clientOrderId"] for o in await alice.fetch_open_orders("ETH/USDT")] == ["lim-1"]
    alice.options["fetchOpenOrders"]["warnWithoutSymbol"] = False  # all symbols at once: weight 80
    assert [o["symbol"] for o in await alice.fetch_open_orders()] == ["ETH/USDT"]

    for _ in range(200):  # advance until a candle's low reaches the limit
        await exchange_server.advance("5m")
        fetched = await alice.fetch_order(order["id"], "ETH/USDT")
        if fetched["status"] == "closed":
            break
    else:
        pytest.fail("seed 7 market never came back down to the limit within 200 candles")
    assert fetched["price"] == float(limit_price) and fetched["filled"] == 1
    trades = await alice.fetch_my_trades("ETH/USDT")
    assert trades[-1]["takerOrMaker"] == "maker" and dec(trades[-1]["price"]) == limit_price
    bal = await balances(alice)
    assert bal["USDT"] == (Decimal(10000) - locked, 0) and bal["ETH"] == (Decimal(3), 0)
    assert await alice.fetch_open_orders("ETH/USDT") == []


async def test_marketable_limit_fills_at_once_as_taker_and_sell_limit_locks_base(alice: Any) -> None:
    last = dec((await alice.fetch_ticker("ETH/USDT"))["last"])
    crossing = await alice.create_order("ETH/USDT", "limit", "buy", 0.1, float(last * 2))
    assert crossing["status"] == "closed" and dec(crossing["info"]["fills"][0]["price"]) == last
    resting = await alice.create_order("ETH/USDT", "limit", "sell", 1, float(last * 2))
    assert resting["status"] == "open"
    assert (await balances(alice))["ETH"] == (Decimal("1.1"), Decimal(1))
    cancelled = await alice.cancel_order(resting["id"], "ETH/USDT")
    assert (
        cancelled["status"] == "canceled"
        and cancelled["info"]["origClientOrderId"] == resting["clientOrderId"]
    )
    assert (await balances(alice))["ETH"] == (Decimal("2.1"), 0)


async def test_fetch_order_by_id_and_client_id_and_history(alice: Any) -> None:
    placed = await alice.create_order("ETH/USDT", "market", "buy", 0.01, params={"clientOrderId": "find-me"})
    by_id = await alice.fetch_order(placed["id"], "ETH/USDT")
    by_client = await alice.fetch_order(None, "ETH/USDT", params={"clientOrderId": "find-me"})
    assert by_id["id"] == by_client["id"] == placed["id"] and by_client["clientOrderId"] == "find-me"
    assert by_id["status"] == "closed" and by_id["filled"] == 0.01
    history = await alice.fetch_orders("ETH/USDT")
    assert [o["id"] for o in history] == [placed["id"]]
    trades = await alice.fetch_my_trades("ETH/USDT", params={"orderId": placed["id"]})
    assert len(trades) == 1 and trades[0]["order"] == placed["id"]


async def test_order_errors_map_to_ccxt_exceptions(exchange_server: ExchangeServer, alice: Any) -> None:
    with pytest.raises(ccxt.InsufficientFunds, match="insufficient balance"):
        await alice.create_order("BTC/USDT", "market", "buy", 1)
    # ccxt rounds amounts and prices itself, so send raw requests to reach the exchange's filters
    raw = {"symbol": "ETHUSDT", "side": "BUY", "newOrderRespType": "FULL"}
    with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):
        await alice.private_post_order({**raw, "type": "MARKET", "quantity": "0.00015"})
    last = dec((await alice.fetch_ticker("ETH/USDT"))["last"])
    off_tick = str(last / 2 + Decimal("0.001"))
    with pytest.raises(ccxt.InvalidOrder, match="PRICE_FILTER"):
        await alice.private_post_order(
            {**raw, "type": "LIMIT", "timeInForce": "GTC", "quantity": "1", "price": off_tick}
        )
    # ccxt maps -1013 by code to BadRequest; only LOT_SIZE/PRICE_FILTER are matched to InvalidOrder by text
    with pytest.raises(ccxt.BadRequest, match="NOTIONAL"):
        await alice.create_order("ETH/USDT", "market", "buy", 0.001)
    with pytest.raises(ccxt.OrderNotFound, match="-2013"):
        await alice.fetch_order("999999", "ETH/USDT")
    with pytest.raises(ccxt.OrderNotFound, match="-2013"):
        await alice.fetch_order(None, "ETH/USDT", params={"clientOrderId": "never-sent"})
    with pytest.raises(ccxt.OrderNotFound, match="-2011"):
        await alice.cancel_order("999999", "ETH/USDT")
    await exchange_server.delist("ADA/USDT")  # still in the client's markets, gone on the exchange
    with pytest.raises(ccxt.BadSymbol, match="-1121"):
        await alice.create_order("ADA/USDT", "market", "buy", 100)
    log = await exchange_server.orders(KEY)
    assert [e["status"] for e in log] == ["REJECTED"] * 5
    assert {e["code"] for e in log} == {-2010, -1013, -1121}


async def test_duplicate_client_order_id_follows_binance_rules(
    exchange_server: ExchangeServer, alice: Any
) -> None:
    last = dec((await alice.fetch_ticker("ETH/USDT"))["last"])
    await alice.create_order(
        "ETH/USDT", "limit", "buy", 0.1, float(last / 2), params={"clientOrderId": "dup"}
    )
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        await alice.create_order(
            "ETH/USDT", "limit", "buy", 0.1, float(last / 2), params={"clientOrderId": "dup"}
        )
    # Binance: unique among OPEN orders; once filled or cancelled the id may be used again
    await alice.cancel_order(None, "ETH/USDT", params={"clientOrderId": "dup"})
    again = await alice.create_order("ETH/USDT", "market", "buy", 0.01, params={"clientOrderId": "dup"})
    assert again["status"] == "closed"
    log = await exchange_server.orders(KEY)
    assert [(e["clientOrderId"], e["status"]) for e in log] == [
        ("dup", "CANCELED"),
        ("dup", "REJECTED"),
        ("dup", "FILLED"),
    ]
    assert log[1]["code"] == -2010 and log[1]["msg"] == "Duplicate order sent."


async def test_client_id_scope_all_rejects_any_reuse() -> None:
    server = await start_exchange_server(n_symbols=3, seed=3, client_id_scope="all")
    await server.create_account(KEY, SECRET, {"USDT": "1000"})
    client = binance_client(server, KEY, SECRET)
    try:
        await client.create_order("BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": "once"})
        with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
            await client.create_order("BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": "once"})
        assert len([o for o in await server.orders(KEY) if o["status"] == "FILLED"]) == 1
    finally:
        await client.close()
        await server.close()


async def test_api_restrictions_report_withdrawal_permission(exchange_server: ExchangeServer) -> None:
    await exchange_server.create_account("safe", "s", {}, can_withdraw=False)
    await exchange_server.create_account("risky", "r", {}, can_withdraw=True)
    for key, secret, expected in (("safe", "s", False), ("risky", "r", True)):
        client = binance_client(exchange_server, key, secret)
        try:
            restrictions = await client.sapi_get_account_apirestrictions()
            assert restrictions["enableWithdrawals"] is expected
            assert (
                restrictions["enableSpotAndMarginTrading"] is True and restrictions["enableReading"] is True
            )
        finally:
            await client.close()


async def test_accounts_are_isolated(exchange_server: ExchangeServer, alice: Any) -> None:
    await exchange_server.create_account("bob", "bob-secret", {"USDT": "50"})
    bob = binance_client(exchange_server, "bob", "bob-secret")
    try:
        await alice.create_order("ETH/USDT", "market", "buy", 0.1, params={"clientOrderId": "same-id"})
        with pytest.raises(ccxt.InsufficientFunds):
            await bob.create_order("ETH/USDT", "market", "buy", 0.1, params={"clientOrderId": "same-id"})
        assert await bob.fetch_my_trades("ETH/USDT") == []
        with pytest.raises(ccxt.OrderNotFound):
            await bob.fetch_order(None, "ETH/USDT", params={"clientOrderId": "same-id"})
        assert (await balances(bob))["USDT"] == (Decimal(50), 0)
    finally:
        await bob.close()


async def test_response_types_limit_maker_ioc_and_cancel_all(alice: Any) -> None:
    last = dec((await alice.fetch_ticker("ETH/USDT"))["last"])
    base = {"symbol": "ETHUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"}
    ack = await alice.private_post_order({**base, "newOrderRespType": "ACK"})
    assert set(ack) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    result = await alice.private_post_order({**base, "newOrderRespType": "RESULT"})
    assert result["status"] == "FILLED" and "fills" not in result
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        await alice.create_order("ETH/USDT", "limit", "buy", 0.1, float(last * 2), params={"postOnly": True})
    ioc = await alice.create_order(
        "ETH/USDT", "limit", "buy", 0.1, float(last / 2), params={"timeInForce": "IOC"}
    )
    assert ioc["status"] == "expired" and ioc["filled"] == 0
    for _ in range(2):
        await alice.create_order("ETH/USDT", "limit", "buy", 0.1, float(last / 2))
    cancelled = await alice.cancel_all_orders("ETH/USDT")
    assert [o["status"] for o in cancelled] == ["canceled", "canceled"]
    assert (await balances(alice))["USDT"][1] == 0
