"""The position watch (stops from tickers), per-user timeouts, refusals, and the real strategies."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import func, select, update

from core.db.models import Order, OrderStatus, OutboxMessage, PaperBalance, Position, PositionStatus
from tests.engine.conftest import add_live_user, add_paper_user, agreement, build_engine, fixed_entries


async def _usdt_symbols(server, n: int) -> list[str]:
    return [s for s in await server._call("GET", "/sandbox/symbols") if s.endswith("/USDT")][:n]


async def test_watch_sells_positions_whose_stop_is_crossed(exchange_server, sessionmaker, engines) -> None:
    picks = await _usdt_symbols(exchange_server, 1)
    engine = build_engine(exchange_server, sessionmaker, fixed_entries(picks))
    engines.append(engine)
    paper = await add_paper_user(sessionmaker, 900)
    live = await add_live_user(sessionmaker, exchange_server, 901, "wk0")
    await engine.run_cycle_once()
    async with sessionmaker() as s:
        entry_cost = {
            p.user_id: p.entry_price * p.initial_amount + p.fees for p in await s.scalars(select(Position))
        }
    assert set(entry_cost) == {paper, live}

    quiet = await engine.watch_once()
    assert quiet is not None and quiet.orders_sent == 0  # price inside the levels: nothing to do

    # the market fell through the stop: stand-in by raising both stops above the ticker price
    async with sessionmaker() as s, s.begin():
        await s.execute(update(Position).values(stop_price=Decimal("1e9"), initial_stop=Decimal("1e9")))
    stats = await engine.watch_once()
    assert stats is not None and stats.errors == 0 and stats.orders_sent == 2

    async with sessionmaker() as s:
        positions = list(await s.scalars(select(Position)))
        assert all(p.status == PositionStatus.closed and p.exit_reason == "stop" for p in positions)
        assert all(p.amount == 0 and p.exit_price is not None for p in positions)
        sells = list(await s.scalars(select(Order).where(Order.side == "sell")))
        assert sorted(o.user_id for o in sells) == sorted([paper, live])
        assert all(o.status == OrderStatus.closed for o in sells)
        exits = await s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "exit")
        )
        assert exits == 2
        quote = await s.scalar(
            select(PaperBalance.free).where(PaperBalance.user_id == paper, PaperBalance.currency == "USDT")
        )
        sell = next(o for o in sells if o.user_id == paper)
        assert quote == Decimal(10000) - entry_cost[paper] + sell.cost - sell.fee
    check = await agreement(sessionmaker, exchange_server, live, "wk0")
    assert check.accepted == 2 and not check.duplicates and not check.lost and not check.stuck
    log = await exchange_server.orders("wk0")
    assert [e["side"] for e in log] == ["BUY", "SELL"]

    again = await engine.watch_once()  # closed positions are not sold twice
    assert again is not None and again.orders_sent == 0


async def test_a_hanging_user_times_out_alone(exchange_server, sessionmaker, engines) -> None:
    picks = await _usdt_symbols(exchange_server, 1)
    engine = build_engine(
        exchange_server,
        sessionmaker,
        fixed_entries(picks),
        settings={"user_timeout_seconds": 2.0},
        client_timeout_ms=20_000,
    )
    engines.append(engine)
    keys = {await add_live_user(sessionmaker, exchange_server, 910 + i, f"tk{i}"): f"tk{i}" for i in range(3)}
    # the first order placed hangs far longer than the user's timeout (placed, answer withheld)
    await exchange_server.fault("/api/v3/order", "timeout", count=1, method="POST", delay=8, execute=True)

    stats = await engine.run_cycle_once()

    assert stats.timeouts == 1 and len(stats.user_errors) == 1
    slow = next(iter(stats.user_errors))
    for uid, key in keys.items():
        log = await exchange_server.orders(key)
        assert len(log) == 1  # every user's order reached the exchange, the slow one included
    async with sessionmaker() as s:
        pending = list(await s.scalars(select(Order).where(Order.status == OrderStatus.pending)))
        assert [o.user_id for o in pending] == [slow]
        told = await s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.user_id == slow, OutboxMessage.kind == "cycle_error")
        )
        assert told == 1

    # the next candle's job asks the exchange about the pending order first and applies it
    await exchange_server.advance("5m")
    await engine.run_cycle_once()
    for uid, key in keys.items():
        check = await agreement(sessionmaker, exchange_server, uid, key)
        assert not check.duplicates and not check.lost and not check.stuck and not check.phantom, check


async def test_refusals_are_recorded_and_told(exchange_server, sessionmaker, engines) -> None:
    picks = await _usdt_symbols(exchange_server, 1)
    engine = build_engine(exchange_server, sessionmaker, fixed_entries(picks), client_timeout_ms=10_000)
    engines.append(engine)
    poor = await add_live_user(sessionmaker, exchange_server, 921, "poor0")
    # the balance answer is computed, then held back; meanwhile the funds leave the account, so the
    # order the engine sizes from the stale balance is refused by the exchange
    await exchange_server.fault("/api/v3/account", "timeout", count=1, method="GET", delay=1.0, execute=True)
    cycle = asyncio.create_task(engine.run_cycle_once())
    while (await exchange_server.stats())["faults_fired"]["timeout"] < 1:
        await asyncio.sleep(0.05)
    await exchange_server.create_account("poor0", "secret-poor0-0123456789", {"USDT": "1"})
    stats = await cycle

    assert stats.errors == 0
    async with sessionmaker() as s:
        order = await s.scalar(select(Order).where(Order.user_id == poor))
        assert order is not None and order.status == OrderStatus.rejected
        assert order.error == "insufficient funds"
        kinds = list(await s.scalars(select(OutboxMessage.kind).where(OutboxMessage.user_id == poor)))
        assert kinds == ["insufficient_funds"]
    log = await exchange_server.orders("poor0")
    assert [e["status"] for e in log] == ["REJECTED"]

    await engine.run_cycle_once()  # the same signal again: the refused order is not re-sent
    assert len(await exchange_server.orders("poor0")) == 1


async def test_cycles_with_the_real_strategies(exchange_server, sessionmaker, engines) -> None:
    engine = build_engine(exchange_server, sessionmaker)  # default: the users' strategies (sma_cross)
    engines.append(engine)
    paper = [await add_paper_user(sessionmaker, 930 + i) for i in range(2)]
    live = await add_live_user(sessionmaker, exchange_server, 939, "sk0")
    entries = 0
    for _ in range(8):
        stats = await engine.run_cycle_once()
        assert stats.errors == 0, stats.user_errors
        assert stats.symbols > 0
        entries += stats.orders_sent
        await exchange_server.advance("5m")
    assert entries > 0, "sma_cross never crossed over 8 candles of 50 symbols"
    check = await agreement(sessionmaker, exchange_server, live, "sk0")
    assert not check.duplicates and not check.lost and not check.phantom and not check.stuck
    async with sessionmaker() as s:
        for uid in paper:
            n_paper = await s.scalar(select(func.count()).select_from(Order).where(Order.user_id == uid))
            # same book, same sizes: paper and live agree
            assert n_paper == check.accepted, (uid, n_paper, check, await exchange_server.orders("sk0"))


async def test_two_targets_in_one_tick_close_in_order(exchange_server, sessionmaker, engines) -> None:
    picks = await _usdt_symbols(exchange_server, 1)
    engine = build_engine(exchange_server, sessionmaker, fixed_entries(picks))
    engines.append(engine)
    paper = await add_paper_user(sessionmaker, 950)
    await engine.run_cycle_once()
    ladder = [
        {"price": "0.00000001", "fraction": "0.3", "done": False},
        {"price": "0.00000002", "fraction": "0.3", "done": False},
    ]
    async with sessionmaker() as s, s.begin():
        await s.execute(update(Position).values(targets=ladder, stop_price=None))
        start = await s.scalar(select(PaperBalance.free).where(PaperBalance.user_id == paper))
    stats = await engine.watch_once()
    assert stats is not None and stats.orders_sent == 2 and stats.errors == 0
    async with sessionmaker() as s:
        pos = await s.scalar(select(Position).where(Position.user_id == paper))
        sells = list(await s.scalars(select(Order).where(Order.side == "sell").order_by(Order.id)))
        free = await s.scalar(select(PaperBalance.free).where(PaperBalance.user_id == paper))
    assert pos is not None and [o.leg for o in sells] == ["take_profit_1", "take_profit_2"]
    assert pos.status == PositionStatus.open
    assert pos.amount == pos.initial_amount - sum((o.filled for o in sells), Decimal(0))
    assert all(t["done"] for t in pos.targets)
    assert free == start + sum((o.cost - o.fee for o in sells), Decimal(0))
    assert pos.realized_pnl == sum(
        ((o.average - pos.entry_price) * o.filled - o.fee for o in sells), Decimal(0)
    )
