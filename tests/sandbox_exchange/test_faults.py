"""Every fault kind on create_order and fetch_order, seen by real ccxt; executed orders show in the log."""

from __future__ import annotations

from typing import Any

import ccxt.async_support as ccxt
import pytest

from tests.fixtures.exchange import ExchangeServer, binance_client

KEY, SECRET = "fault-key", "fault-secret"
ORDER = "/api/v3/order"


@pytest.fixture
async def client(exchange_server: ExchangeServer) -> Any:
    await exchange_server.create_account(KEY, SECRET, {"USDT": "10000"})
    c = binance_client(exchange_server, KEY, SECRET, timeout_ms=500)
    await c.load_markets()
    yield c
    await c.close()


async def buy(client: Any, client_id: str) -> Any:
    return await client.create_order("ETH/USDT", "market", "buy", 0.01, params={"clientOrderId": client_id})


async def lookup(client: Any, client_id: str) -> Any:
    return await client.fetch_order(None, "ETH/USDT", params={"clientOrderId": client_id})


@pytest.mark.parametrize(
    ("kind", "extra", "error", "executed"),
    [
        ("http_500", {}, ccxt.ExchangeNotAvailable, False),
        ("http_500", {"execute": True}, ccxt.ExchangeNotAvailable, True),
        ("http_429", {}, ccxt.DDoSProtection, False),
        ("drop_response", {}, ccxt.NetworkError, True),
        ("timeout", {"delay": 2}, ccxt.RequestTimeout, True),
        ("timeout", {"delay": 2, "execute": False}, ccxt.RequestTimeout, False),
    ],
)
async def test_fault_on_create_order(
    exchange_server: ExchangeServer,
    client: Any,
    kind: str,
    extra: dict[str, Any],
    error: type,
    executed: bool,
) -> None:
    await exchange_server.fault(ORDER, kind, count=1, method="POST", **extra)
    with pytest.raises(error):
        await buy(client, "faulted-1")
    # the engine's recovery: ask by client order id before ever sending again
    if executed:
        found = await lookup(client, "faulted-1")
        assert found["status"] == "closed" and found["filled"] == 0.01
    else:
        with pytest.raises(ccxt.OrderNotFound):
            await lookup(client, "faulted-1")
        await buy(client, "faulted-1")  # safe to send now; the fault was used up
    log = await exchange_server.orders(KEY)
    assert [(e["clientOrderId"], e["status"]) for e in log] == [("faulted-1", "FILLED")]
    assert log[0]["faults"] == ([kind] if executed else [])
    assert (await exchange_server.stats())["faults_fired"][kind] == 1


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("http_500", ccxt.ExchangeNotAvailable),
        ("http_429", ccxt.DDoSProtection),
        ("drop_response", ccxt.NetworkError),
        ("timeout", ccxt.RequestTimeout),
    ],
)
async def test_fault_on_fetch_order(
    exchange_server: ExchangeServer, client: Any, kind: str, error: type
) -> None:
    placed = await buy(client, "placed-1")
    # aiohttp silently retries an idempotent GET once when a pooled connection closes without an
    # answer, so more than one fault is queued for the client to see the failure
    await exchange_server.fault(ORDER, kind, count=5, method="GET", delay=2)
    with pytest.raises(error):
        await lookup(client, "placed-1")
    await exchange_server.clear_faults()
    assert (await lookup(client, "placed-1"))["id"] == placed["id"]
    assert len(await exchange_server.orders(KEY)) == 1
    assert (await exchange_server.stats())["faults_fired"][kind] >= 1


async def test_fault_matches_method_and_path_only(exchange_server: ExchangeServer, client: Any) -> None:
    await exchange_server.fault(ORDER, "http_500", count=1, method="DELETE")
    await buy(client, "untouched")  # POST is not affected
    assert (await lookup(client, "untouched"))["status"] == "closed"
    stats = await exchange_server.stats()
    assert stats["faults_pending"] == 1 and stats["faults_fired"]["http_500"] == 0


async def test_bad_fault_request_is_refused(exchange_server: ExchangeServer) -> None:
    with pytest.raises(AssertionError, match="400"):
        await exchange_server.fault(ORDER, "explode")
