"""Registration, the outbox writer and its delivery query, on a real SQLite file."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import load_settings
from core.db.models import OutboxMessage, PaperBalance, User
from core.services import outbox
from core.services.notifications import notify, render
from core.services.users import register, user_counts


async def test_register_is_idempotent_and_bootstraps_paper(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    settings = load_settings(redis_url=None)
    async with sessionmaker() as session:
        user, created = await register(session, settings, 42, "alice", "ru-RU")
        await session.commit()
        again, created_again = await register(session, settings, 42, "alice", "en")
        await session.commit()
    assert created and not created_again and again.id == user.id
    assert user.language == "ru" and user.mode == "paper"
    async with sessionmaker() as session:
        balances = list(await session.scalars(select(PaperBalance).where(PaperBalance.user_id == user.id)))
        counts = await user_counts(session)
    assert [(b.currency, b.free) for b in balances] == [("USDT", Decimal("10000"))]
    assert (counts.total, counts.paper, counts.live, counts.trading) == (1, 1, 0, 0)


async def test_enqueue_dedupes_and_localises(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    settings = load_settings(redis_url=None)
    async with sessionmaker() as session:
        user, _ = await register(session, settings, 7, None, "ru")
        first = await notify(
            session,
            user,
            "exit",
            "exit:1",
            symbol="BTC/USDT",
            price="1",
            reason="stop",
            pnl="-1",
            quote="USDT",
        )
        second = await notify(
            session,
            user,
            "exit",
            "exit:1",
            symbol="BTC/USDT",
            price="1",
            reason="stop",
            pnl="-1",
            quote="USDT",
        )
        await session.commit()
        rows = list(await session.scalars(select(OutboxMessage)))
    assert (first, second) == (True, False)
    assert len(rows) == 1 and rows[0].text.startswith("Позиция BTC/USDT закрыта")
    assert render("exit", "en", symbol="X", price="1", reason="r", pnl="0", quote="USDT").startswith(
        "Closed X"
    )


async def test_due_messages_keep_each_chat_in_order(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    settings = load_settings(redis_url=None)
    async with sessionmaker() as session:
        a, _ = await register(session, settings, 1, None, "en")
        b, _ = await register(session, settings, 2, None, "en")
        for i in range(3):
            await outbox.enqueue(session, user_id=a.id, chat_id=1, kind="t", text=f"a{i}")
            await outbox.enqueue(session, user_id=b.id, chat_id=2, kind="t", text=f"b{i}")
        await session.commit()
        due = await outbox.due_messages(session)
        assert [m.text for m in due] == ["a0", "b0", "a1", "b1", "a2", "b2"]
        # a's first message waits for a retry: nothing of chat 1 may overtake it
        await outbox.mark_retry(session, due[0].id, timedelta(seconds=60), "429", count_attempt=False)
        await session.commit()
        due = await outbox.due_messages(session)
        assert [m.text for m in due] == ["b0", "b1", "b2"]
        await outbox.mark_blocked(session, due[0].id, b.id)
        await session.commit()
        assert await outbox.due_messages(session) == []
        blocked = await session.scalar(select(func.count()).where(OutboxMessage.status == "blocked"))
        assert blocked == 3
        assert (await session.get(User, b.id)).is_active is False  # type: ignore[union-attr]
