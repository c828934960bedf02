"""Every fault kind of the sandbox, on create and on fetch: no duplicate, no lost order, DB == exchange."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db.models import Order, OrderStatus
from tests.engine.conftest import add_live_user, add_paper_user, agreement, build_engine, fixed_entries

KINDS = ("http_500", "timeout", "drop_response", "http_429")


async def _pick(server, n: int) -> list[str]:
    symbols = await server._call("GET", "/sandbox/symbols")
    return [s for s in symbols if s.endswith("/USDT")][:n]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("target", ["create", "fetch"])
async def test_fault_never_doubles_or_loses_an_order(
    kind, target, exchange_server, sessionmaker, engines
) -> None:
    picks = await _pick(exchange_server, 2)
    engine = build_engine(exchange_server, sessionmaker, fixed_entries(picks))
    engines.append(engine)
    live = {await add_live_user(sessionmaker, exchange_server, 300 + i, f"fk{i}"): f"fk{i}" for i in range(2)}
    paper = await add_paper_user(sessionmaker, 399)
    extra = {"delay": 3.0} if kind == "timeout" else {}
    if target == "create":
        await exchange_server.fault("/api/v3/order", kind, count=2, method="POST", **extra)
    else:
        # a lost create response forces a look-up, and the look-up itself meets the fault
        await exchange_server.fault("/api/v3/order", "drop_response", count=2, method="POST")
        await exchange_server.fault("/api/v3/order", kind, count=2, method="GET", **extra)

    stats = await engine.run_cycle_once()

    fired = (await exchange_server.stats())["faults_fired"]
    assert fired[kind] >= 1
    assert stats.errors == 0, stats.user_errors
    for uid, key in live.items():
        check = await agreement(sessionmaker, exchange_server, uid, key)
        assert not check.duplicates, check
        assert not check.lost and not check.phantom and not check.stuck, check
        assert check.accepted == len(picks)
    async with sessionmaker() as s:
        statuses = list(await s.scalars(select(Order.status).where(Order.user_id == paper)))
    assert statuses == [OrderStatus.closed] * len(picks)
