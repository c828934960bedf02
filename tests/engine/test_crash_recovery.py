"""SIGKILL the engine process mid-cycle with orders in flight; the restarted engine reconciles:
no duplicate, no lost and no stuck-pending order."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from sqlalchemy import func, select

from core.db.models import Order, OrderStatus, OutboxMessage, Position
from core.engine.live import NEVER_REACHED
from tests.engine.conftest import add_live_user, add_paper_user, agreement

ROOT = Path(__file__).resolve().parents[2]


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.engine.engine_proc",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


async def _wait_for(predicate, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not await predicate():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


async def test_sigkill_mid_cycle_then_reconcile(exchange_server, sessionmaker, db_url) -> None:
    symbols = [s for s in await exchange_server._call("GET", "/sandbox/symbols") if s.endswith("/USDT")][:2]
    keys = {await add_live_user(sessionmaker, exchange_server, 700 + i, f"ck{i}"): f"ck{i}" for i in range(3)}
    await add_paper_user(sessionmaker, 799)
    # the first two creates are placed and then hang; the third hangs without being placed
    await exchange_server.fault("/api/v3/order", "timeout", count=2, method="POST", delay=120, execute=True)
    await exchange_server.fault("/api/v3/order", "timeout", count=1, method="POST", delay=120, execute=False)

    proc = await _spawn("cycle", db_url, exchange_server.url, ",".join(symbols))

    async def in_flight() -> bool:
        async with sessionmaker() as s:
            pending = await s.scalar(
                select(func.count()).select_from(Order).where(Order.status == OrderStatus.pending)
            )
        fired = (await exchange_server.stats())["faults_fired"]["timeout"]
        return pending == 3 and fired == 3

    try:
        await _wait_for(in_flight)
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    placed_before = sum([len(await exchange_server.orders(k)) for k in keys.values()])
    assert placed_before == 2  # two orders reached the exchange, the engine never learnt it

    proc = await _spawn("recover", db_url, exchange_server.url, ",".join(symbols))
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()[-2000:]
    report = json.loads(out.decode().strip().splitlines()[-1])
    applied = sum(len(r["applied"]) for r in report["repairs"].values())
    canceled = sum(len(r["canceled"]) for r in report["repairs"].values())
    assert (applied, canceled) == (2, 1), report
    assert report["errors"] == 0

    total_accepted = 0
    for uid, key in keys.items():
        check = await agreement(sessionmaker, exchange_server, uid, key)
        assert not check.duplicates and not check.lost and not check.phantom and not check.stuck, check
        total_accepted += check.accepted
    # 3 users x 2 entries, minus the one that never reached the exchange (not resent for that signal)
    assert total_accepted == 5
    async with sessionmaker() as s:
        dropped = list(await s.scalars(select(Order).where(Order.status == OrderStatus.canceled)))
        assert [o.error for o in dropped] == [NEVER_REACHED]
        told = await s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "reconciled")
        )
        assert told == 3
        # the entries recovered after the crash keep the stop they were sized for, not a fallback
        recovered = list(
            await s.scalars(select(Order).where(Order.leg == "entry", Order.status == OrderStatus.closed))
        )
        assert recovered and all(o.stop_price is not None for o in recovered)
        for order in recovered:
            pos = await s.get(Position, order.position_id)
            assert pos is not None and pos.initial_stop is not None
            if order.stop_price < pos.entry_price:  # else the fill left no room: the fallback applies
                assert pos.initial_stop == order.stop_price
