"""Full cycles through the sandbox exchange with real ccxt, paper and live users together."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from core.db.models import CycleRun, Fill, Mode, Order, OrderStatus, OutboxMessage, PaperBalance, Position
from core.engine.ids import LEGAL, client_order_id
from tests.engine.conftest import add_live_user, add_paper_user, agreement, build_engine, fixed_entries

SYMBOLS = ("BTC/USDT", "ETH/USDT")


def test_client_order_ids_are_stable_and_binance_legal() -> None:
    a = client_order_id(7, "sig", "entry")
    assert a == client_order_id(7, "sig", "entry")
    assert a != client_order_id(8, "sig", "entry") != client_order_id(7, "sig", "tp1")
    assert LEGAL.match(a) and len(a) <= 36


async def test_cycle_trades_for_paper_and_live_users(exchange_server, sessionmaker, engines) -> None:
    symbols = await exchange_server._call("GET", "/sandbox/symbols")
    picks = [s for s in symbols if s.endswith("/USDT")][:2]
    engine = build_engine(exchange_server, sessionmaker, fixed_entries(picks))
    engines.append(engine)
    paper = [await add_paper_user(sessionmaker, 100 + i) for i in range(3)]
    live = {
        await add_live_user(sessionmaker, exchange_server, 200 + i, f"key{i}"): f"key{i}" for i in range(3)
    }

    stats = await engine.run_cycle_once()

    assert stats.errors == 0, stats.user_errors
    assert stats.users_processed == 6
    assert stats.orders_sent == 12  # 2 entries x 6 users
    assert set(stats.stage_seconds) >= {"market", "snapshot", "signals", "users"}
    for uid, key in live.items():
        check = await agreement(sessionmaker, exchange_server, uid, key)
        assert check.accepted == 2 and not check.duplicates and not check.lost and not check.phantom
        assert not check.stuck
    async with sessionmaker() as s:
        for uid in paper:
            positions = list(await s.scalars(select(Position).where(Position.user_id == uid)))
            assert sorted(p.symbol for p in positions) == sorted(picks)
            assert all(p.mode == Mode.paper and p.stop_price is not None for p in positions)
            spent = sum((p.entry_price * p.initial_amount + p.fees for p in positions), Decimal(0))
            bal = await s.scalar(
                select(PaperBalance.free).where(PaperBalance.user_id == uid, PaperBalance.currency == "USDT")
            )
            assert bal == Decimal(10000) - spent
        fills = await s.scalar(select(func.count()).select_from(Fill))
        assert fills == 12
        assert (
            await s.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "entry")
            )
            == 12
        )
        assert await s.scalar(select(func.count()).select_from(CycleRun)) == 1

    # the same candle again (a retried job): nothing new is sent or filled
    again = await engine.run_cycle_once()
    assert again.orders_sent == 0
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Order)) == 12
        assert (
            await s.scalar(select(func.count()).select_from(Order).where(Order.status != OrderStatus.closed))
            == 0
        )
    for uid, key in live.items():
        check = await agreement(sessionmaker, exchange_server, uid, key)
        assert check.accepted == 2 and not check.duplicates


async def test_idle_live_users_cost_no_client_and_no_request(exchange_server, sessionmaker, engines) -> None:
    engine = build_engine(exchange_server, sessionmaker, fixed_entries([]))
    engines.append(engine)
    for i in range(3):
        await add_live_user(sessionmaker, exchange_server, 260 + i, f"idle{i}")
    before = (await exchange_server.stats())["requests"]
    stats = await engine.run_cycle_once()
    after = (await exchange_server.stats())["requests"]
    assert stats.users_processed == 3 and stats.errors == 0
    assert len(engine.pool) == 0
    assert after.get("GET /api/v3/account", 0) == before.get("GET /api/v3/account", 0)


async def test_from_settings_builds_a_working_engine(exchange_server, sessionmaker, engines) -> None:
    from core.engine.app import Engine
    from core.vault import KeyVault
    from tests.engine.conftest import engine_settings

    settings = engine_settings(exchange_server)
    engine = Engine.from_settings(settings, sessionmaker, KeyVault(settings.master_key_list()))
    engines.append(engine)
    await add_paper_user(sessionmaker, 270)
    stats = await engine.run_cycle_once()
    assert stats.errors == 0 and stats.symbols > 0 and stats.users_processed == 1


async def test_market_stage_requests_do_not_grow_with_users(exchange_server, sessionmaker, engines) -> None:
    symbols = await exchange_server._call("GET", "/sandbox/symbols")
    engine = build_engine(exchange_server, sessionmaker, fixed_entries(symbols[:1]))
    engines.append(engine)
    await engine.run_cycle_once()  # warm-up: the candle history
    counts = []
    for users in (1, 25):
        for i in range(users):
            await add_paper_user(sessionmaker, 3000 + users * 100 + i)
        await exchange_server.advance("5m")
        before = (await exchange_server.stats())["requests"]
        await engine.run_cycle_once()
        after = (await exchange_server.stats())["requests"]
        counts.append(
            {
                k: after[k] - before.get(k, 0)
                for k in after
                if k.startswith("GET /api/v3/") and after[k] != before.get(k, 0)
            }
        )
    assert counts[0] == counts[1]
    assert counts[0]["GET /api/v3/klines"] <= len(symbols)


async def test_an_inactive_model_leaves_the_cycle_alone(
    exchange_server, sessionmaker, engines, tmp_path
) -> None:
    from ml.inference import InferenceService

    symbols = await exchange_server._call("GET", "/sandbox/symbols")
    engine = build_engine(
        exchange_server, sessionmaker, fixed_entries(symbols[:1]), model=InferenceService(tmp_path)
    )
    engines.append(engine)
    await add_paper_user(sessionmaker, 4000)
    stats = await engine.run_cycle_once()
    assert stats.errors == 0 and stats.orders_sent == 1
