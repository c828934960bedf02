"""A bad row costs only its own user; a key change replaces the user's exchange client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, update

from core.db.models import ExchangeAccount, Mode, Order
from core.engine.paper import UserWrites, write_batch
from core.engine.snapshot import AccountRow
from tests.engine.conftest import add_live_user, add_paper_user, build_engine

NOW = datetime(2026, 1, 2, tzinfo=UTC)


def _writes(user_id: int, cid: str) -> UserWrites:
    order = {
        "user_id": user_id, "position_id": None, "mode": Mode.paper, "exchange": "binance",
        "client_order_id": cid, "exchange_order_id": None, "symbol": "BTC/USDT", "side": "buy",
        "type": "market", "leg": "entry", "signal_id": "s", "amount": Decimal(1), "price": None,
        "status": "closed", "filled": Decimal(1), "average": Decimal(1), "cost": Decimal(1),
        "fee": Decimal(0), "fee_currency": "USDT", "created_at": NOW, "updated_at": NOW,
    }  # fmt: skip
    w = UserWrites(user_id)
    w.orders.append((order, None, None))
    w.cids.append(cid)
    return w


async def test_a_failing_user_does_not_cost_the_batch(sessionmaker) -> None:
    good = await add_paper_user(sessionmaker, 1)
    written, errors = await write_batch(
        sessionmaker, [_writes(good, "tbgood"), _writes(999_999, "tbbad")], NOW
    )
    assert [w.user_id for w in written] == [good]
    assert set(errors) == {999_999}  # no such user: the foreign key refuses only that row
    # what the user is told (and their once-a-day notice key): the kind, never SQL or row values
    assert errors[999_999] == "IntegrityError"
    async with sessionmaker() as s:
        assert list(await s.scalars(select(Order.client_order_id))) == ["tbgood"]
    again, errors = await write_batch(sessionmaker, [_writes(good, "tbgood")], NOW)
    assert again == [] and errors == {}  # already stored: skipped, never filled twice
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Order)) == 1


async def test_key_change_replaces_the_client(exchange_server, sessionmaker, engines) -> None:
    engine = build_engine(exchange_server, sessionmaker)
    engines.append(engine)
    uid = await add_live_user(sessionmaker, exchange_server, 2, "kc0")
    async with sessionmaker() as s:
        acc = await s.scalar(select(ExchangeAccount).where(ExchangeAccount.user_id == uid))
    assert acc is not None
    row = AccountRow(acc.id, uid, acc.exchange, acc.key_version, acc.updated_at)
    await engine.market.registry.get("binance")
    first = await engine.pool.get(row)
    assert await engine.pool.get(row) is first  # same keys: the same client
    later = acc.updated_at + timedelta(seconds=1)
    async with sessionmaker() as s, s.begin():
        await s.execute(update(ExchangeAccount).where(ExchangeAccount.id == acc.id).values(updated_at=later))
    second = await engine.pool.get(AccountRow(acc.id, uid, acc.exchange, acc.key_version, later))
    assert second is not first and len(engine.pool) == 1
    assert second.markets is not None and "BTC/USDT" in second.markets  # shared markets, no load
    balance = await second.fetch_balance()
    assert Decimal(str(balance["free"]["USDT"])) == Decimal(10000)
