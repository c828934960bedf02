"""The same cycle on the real PostgreSQL (scale-out storage): bulk paper writes, live orders, repeat."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.db.models import Base, Fill, Order, OrderStatus, OutboxMessage, Position
from core.db.session import make_engine, make_sessionmaker
from tests.engine.conftest import add_live_user, add_paper_user, agreement, build_engine, rotating_entries

pytestmark = pytest.mark.postgres


async def test_cycle_on_postgres(exchange_server, postgres_url, engines) -> None:
    db = make_engine(postgres_url)
    async with db.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sm = make_sessionmaker(db)
    try:
        symbols = [s for s in await exchange_server._call("GET", "/sandbox/symbols") if s.endswith("/USDT")][
            :3
        ]
        engine = build_engine(exchange_server, sm, rotating_entries(symbols))
        engines.append(engine)
        paper = [await add_paper_user(sm, 1000 + i) for i in range(5)]
        live = await add_live_user(sm, exchange_server, 1100, "pg0")
        for _ in range(2):
            stats = await engine.run_cycle_once()
            assert stats.errors == 0, stats.user_errors
            await engine.run_cycle_once()  # a retried job: nothing twice
            await exchange_server.advance("5m")
        async with sm() as s:
            for uid in paper:
                n = await s.scalar(select(func.count()).select_from(Order).where(Order.user_id == uid))
                assert n == 2
            assert await s.scalar(select(func.count()).select_from(Position)) == 12
            assert await s.scalar(select(func.count()).select_from(Fill)) == 12
            assert await s.scalar(select(func.count()).select_from(OutboxMessage)) == 12
            assert (
                await s.scalar(
                    select(func.count()).select_from(Order).where(Order.status != OrderStatus.closed)
                )
                == 0
            )
        check = await agreement(sm, exchange_server, live, "pg0")
        assert check.accepted == 2 and not check.duplicates and not check.lost and not check.stuck
    finally:
        await db.dispose()
