"""One user's keys revoked mid-run: the others trade on, that user is told once."""

from __future__ import annotations

from sqlalchemy import func, select

from core.db.models import ExchangeAccount, OutboxMessage
from tests.engine.conftest import add_live_user, add_paper_user, agreement, build_engine, rotating_entries


async def test_revoked_keys_stop_only_that_user(exchange_server, sessionmaker, engines) -> None:
    symbols = await exchange_server._call("GET", "/sandbox/symbols")
    picks = [s for s in symbols if s.endswith("/USDT")][:3]
    engine = build_engine(exchange_server, sessionmaker, rotating_entries(picks))
    engines.append(engine)
    keys = {await add_live_user(sessionmaker, exchange_server, 500 + i, f"rk{i}"): f"rk{i}" for i in range(3)}
    paper = await add_paper_user(sessionmaker, 599)
    victim = next(iter(keys))

    first = await engine.run_cycle_once()
    assert first.errors == 0 and first.orders_sent == 4

    await exchange_server.revoke(keys[victim])
    for _ in range(2):  # two more candles: new signals each time
        await exchange_server.advance("5m")
        stats = await engine.run_cycle_once()
        assert set(stats.user_errors) <= {victim}

    for uid, key in keys.items():
        check = await agreement(sessionmaker, exchange_server, uid, key)
        assert not check.duplicates and not check.lost and not check.stuck
        assert check.accepted == (1 if uid == victim else 3)
    async with sessionmaker() as s:
        account = await s.scalar(select(ExchangeAccount).where(ExchangeAccount.user_id == victim))
        assert account is not None and account.valid is False
        told = await s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.user_id == victim, OutboxMessage.kind == "invalid_keys")
        )
        assert told == 1
        others = await s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.user_id != victim, OutboxMessage.kind == "invalid_keys")
        )
        assert others == 0
        paper_entries = await s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.user_id == paper)
        )
        assert paper_entries == 3
