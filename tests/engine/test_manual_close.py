"""Closing by hand (the bot's close button) through the engine: live through the exactly-once
executor, paper through the fill model; never twice, and never while a cycle runs."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.db.models import Order, Position, PositionStatus, User
from core.engine.closer import EngineCloser
from core.services.errors import UserError
from tests.engine.conftest import add_live_user, add_paper_user, agreement, build_engine, fixed_entries


class LastClose:
    """Prices from the sandbox's tickers, as the bot's price source gives them."""

    def __init__(self, server) -> None:
        self.server = server

    async def last_price(self, symbol: str) -> Decimal | None:
        tickers = await self.server._call("GET", "/api/v3/ticker/price")
        wanted = symbol.replace("/", "")
        return next((Decimal(t["price"]) for t in tickers if t["symbol"] == wanted), None)


async def _open_positions(sessionmaker, uid: int) -> list[Position]:
    async with sessionmaker() as s:
        return list(
            await s.scalars(
                select(Position).where(Position.user_id == uid, Position.status == PositionStatus.open)
            )
        )


async def test_live_and_paper_positions_close_once(exchange_server, sessionmaker, engines) -> None:
    symbols = [s for s in await exchange_server._call("GET", "/sandbox/symbols") if s.endswith("/USDT")][:1]
    engine = build_engine(exchange_server, sessionmaker, fixed_entries(symbols))
    engines.append(engine)
    live_uid = await add_live_user(sessionmaker, exchange_server, 910, "mc-live")
    paper_uid = await add_paper_user(sessionmaker, 911)
    stats = await engine.run_cycle_once()
    assert stats.orders_sent == 2, stats.user_errors
    closer = EngineCloser(engine, LastClose(exchange_server))

    for uid in (live_uid, paper_uid):
        [position] = await _open_positions(sessionmaker, uid)
        async with sessionmaker() as s:
            user = await s.get(User, uid)
            assert user is not None
            result = await closer.close(s, user, position)
            assert result.symbol == symbols[0] and result.amount == position.amount
            with pytest.raises(UserError):  # pressed twice: refused, nothing sold again
                await closer.close(s, user, position)
        assert await _open_positions(sessionmaker, uid) == []
        async with sessionmaker() as s:
            closed = await s.get(Position, position.id)
            assert closed is not None and closed.exit_reason == "manual" and closed.amount == 0
            sells = list(await s.scalars(select(Order).where(Order.user_id == uid, Order.side == "sell")))
            assert len(sells) == 1 and sells[0].leg == "manual"

    check = await agreement(sessionmaker, exchange_server, live_uid, "mc-live")
    assert check.accepted == 2 and not check.duplicates and not check.lost and not check.stuck


async def test_a_manual_close_waits_for_the_running_cycle(exchange_server, sessionmaker, engines) -> None:
    symbols = [s for s in await exchange_server._call("GET", "/sandbox/symbols") if s.endswith("/USDT")][:1]
    engine = build_engine(exchange_server, sessionmaker, fixed_entries(symbols))
    engines.append(engine)
    uid = await add_paper_user(sessionmaker, 912)
    await engine.run_cycle_once()
    [position] = await _open_positions(sessionmaker, uid)
    closer = EngineCloser(engine, LastClose(exchange_server))
    async with engine.exclusive(), sessionmaker() as s:  # a cycle is running
        user = await s.get(User, uid)
        task = asyncio.create_task(closer.close(s, user, position))
        await asyncio.sleep(0.3)
        assert not task.done()
        assert len(await _open_positions(sessionmaker, uid)) == 1
    await asyncio.wait_for(task, 10)
    assert await _open_positions(sessionmaker, uid) == []
