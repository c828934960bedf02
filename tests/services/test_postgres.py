"""The same services on the real PostgreSQL (scale-out): registration races, outbox dedupe and order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import load_settings
from core.db.models import Base, OutboxMessage, PaperBalance, User
from core.db.session import make_engine, make_sessionmaker
from core.services import outbox
from core.services.users import register

pytestmark = pytest.mark.postgres


@pytest.fixture
async def pg(postgres_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(postgres_url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def test_concurrent_registration_makes_one_user(pg: async_sessionmaker[AsyncSession]) -> None:
    settings = load_settings(redis_url=None)

    async def one() -> bool:
        async with pg() as session:
            _, created = await register(session, settings, 77, "bob", "en")
            await session.commit()
            return created

    created = await asyncio.gather(*(one() for _ in range(5)))
    assert created.count(True) == 1
    async with pg() as session:
        assert await session.scalar(select(func.count(User.id))) == 1
        assert await session.scalar(select(func.count(PaperBalance.id))) == 1


async def test_outbox_dedupe_and_due_order(pg: async_sessionmaker[AsyncSession]) -> None:
    settings = load_settings(redis_url=None)
    async with pg() as session:
        user, _ = await register(session, settings, 78, None, "en")
        results = [
            await outbox.enqueue(
                session, user_id=user.id, chat_id=78, kind="k", text=f"m{i % 2}", dedupe_key=f"k{i % 2}"
            )
            for i in range(4)
        ]
        await session.commit()
        assert results == [True, True, False, False]
        assert [m.text for m in await outbox.due_messages(session)] == ["m0", "m1"]
        assert await session.scalar(select(func.count(OutboxMessage.id))) == 2
