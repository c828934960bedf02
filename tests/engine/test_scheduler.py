"""start(): reconciliation, then the cycle at each candle close (+ delay) and the watch, in this loop."""

from __future__ import annotations

import asyncio
from datetime import UTC

from tests.engine.conftest import add_live_user, build_engine, fixed_entries


async def test_start_schedules_cycle_and_watch_then_stop_closes_clients(
    exchange_server, sessionmaker, engines
) -> None:
    symbols = [s for s in await exchange_server._call("GET", "/sandbox/symbols") if s.endswith("/USDT")][:1]
    engine = build_engine(
        exchange_server,
        sessionmaker,
        fixed_entries(symbols),
        settings={"position_watch_seconds": 0.2, "cycle_delay_seconds": 7},
    )
    engines.append(engine)
    await add_live_user(sessionmaker, exchange_server, 1200, "sch0")
    await engine.run_cycle_once()  # an entry: makes the live client
    assert len(engine.pool) == 1

    await engine.start()
    assert engine.scheduler is not None
    cycle = engine.scheduler.get_job("trading-cycle")
    watch = engine.scheduler.get_job("position-watch")
    assert cycle is not None and watch is not None
    assert cycle.max_instances == 1 and cycle.coalesce and watch.max_instances == 1
    first = cycle.next_run_time.astimezone(UTC)
    assert first.minute % 5 == 0 and first.second == 7  # a 5m candle close plus the delay
    for _ in range(50):
        if engine.last_watch is not None:
            break
        await asyncio.sleep(0.1)
    assert engine.last_watch is not None and engine.last_watch.errors == 0

    await engine.stop()
    assert engine.scheduler is None and len(engine.pool) == 0
    engines.remove(engine)
