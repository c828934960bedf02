from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.models import Base, PaperBalance, User
from core.db.session import make_engine, make_sessionmaker

_ids = itertools.count(1)
money = st.decimals(min_value=Decimal("-1e19"), max_value=Decimal("1e19"), places=18, allow_nan=False)


async def _roundtrip(sm: async_sessionmaker[AsyncSession], value: Decimal) -> Decimal:
    async with sm() as s, s.begin():
        user = User(telegram_id=next(_ids))
        s.add(user)
        await s.flush()
        row = PaperBalance(user_id=user.id, currency="USDT", free=value)
        s.add(row)
    async with sm() as s:
        got = await s.get(PaperBalance, row.id)
        assert got is not None
        return got.free


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=money)
async def test_sqlite_money_is_exact(sessionmaker: async_sessionmaker[AsyncSession], value: Decimal) -> None:
    assert await _roundtrip(sessionmaker, value) == value


async def test_float_money_is_refused(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as s:
        s.add(User(telegram_id=5, deposit=0.1))  # type: ignore[arg-type]
        with pytest.raises(Exception, match="money must be Decimal"):
            await s.commit()


@pytest.mark.postgres
async def test_postgres_money_is_exact(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sm = make_sessionmaker(engine)
    try:
        for value in (Decimal("0.000000000000000001"), Decimal("12345678901234567890.5"), Decimal("-3.1")):
            assert await _roundtrip(sm, value) == value
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("value", "message"), [("ten", "a decimal number"), ("NaN", "finite"), (True, "not bool")]
)
async def test_non_numbers_are_refused_clearly(
    sessionmaker: async_sessionmaker[AsyncSession], value: object, message: str
) -> None:
    async with sessionmaker() as s:
        s.add(User(telegram_id=6, deposit=value))  # type: ignore[arg-type]
        with pytest.raises(Exception, match=f"money must be .*{message}"):
            await s.commit()
