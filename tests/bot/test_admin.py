"""Admin commands: work for ADMIN_IDS, do not exist for anyone else."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db.models import BlacklistEntry, CycleRun, ModelVersion
from core.db.types import utcnow
from tests.bot.conftest import ADMIN_ID, Harness

pytestmark = pytest.mark.telegram_limits(off=True)

ADMIN_COMMANDS = ["/blacklist", "/blacklist add BTC/USDT", "/retrain", "/users", "/stats", "/broadcast hi"]


async def test_admin_commands_do_not_exist_for_others(harness: Harness) -> None:
    chat = harness.chat(4001)
    await chat.send("/start")
    for command in ADMIN_COMMANDS:
        assert "Unknown command" in await chat.reply(command), command
    async with harness.sessionmaker() as session:
        assert await session.scalar(select(BlacklistEntry)) is None


async def test_blacklist_add_list_remove(harness: Harness) -> None:
    admin = harness.chat(ADMIN_ID)
    await admin.send("/start")
    assert "The blacklist is empty" in await admin.reply("/blacklist")
    added = await admin.reply("/blacklist add btcusdt pump and dump 7d")
    assert added.startswith("BTC/USDT is blacklisted (until ")
    assert "ETH/USDT is blacklisted (no expiry)" in await admin.reply("/blacklist add ETH/USDT")
    listing = await admin.reply("/blacklist")
    assert "• BTC/USDT — pump and dump (until" in listing and "• ETH/USDT — — (no expiry)" in listing
    async with harness.sessionmaker() as session:
        entry = await session.scalar(select(BlacklistEntry).where(BlacklistEntry.symbol == "BTC/USDT"))
    assert entry is not None and entry.created_by == ADMIN_ID and entry.expires_at is not None
    assert timedelta(days=6, hours=23) < entry.expires_at - utcnow() <= timedelta(days=7)
    assert "BTC/USDT is no longer blacklisted" in await admin.reply("/blacklist remove BTC/USDT")
    assert "BTC/USDT is not on the blacklist" in await admin.reply("/blacklist remove BTC/USDT")
    assert "Usage: /blacklist" in await admin.reply("/blacklist drop BTC/USDT")
    assert "not a market symbol" in await admin.reply("/blacklist add $$$")
    assert "between 1 minute and 365 days" in await admin.reply("/blacklist add SOL/USDT 400d")


async def test_users_stats_and_retrain(harness: Harness) -> None:
    admin = harness.chat(ADMIN_ID)
    await admin.send("/start")
    other = harness.chat(4002)
    await other.send("/start")
    await other.send("/deposit 100")
    await other.send("/trade_on")
    assert "Users: 2 (active 2), trading 1, paper 2, live 0." in await admin.reply("/users")

    now = utcnow()
    async with harness.sessionmaker() as session:
        session.add(
            CycleRun(
                started_at=now - timedelta(seconds=3),
                finished_at=now,
                stage_seconds={"market": 1.25},
                users_processed=2,
                orders_sent=0,
                errors=1,
            )
        )
        session.add(ModelVersion(version="m-2026-11-20", path="x", kind="mlp", active=True))
        await session.commit()
    stats = await admin.reply("/stats")
    assert "Cycles today: 1, average 3.00 s" in stats and "cycle errors today: 1" in stats
    assert "Model version: m-2026-11-20" in stats and "market 1.25s" in stats

    assert "Retraining is not built yet" in await admin.reply("/retrain")

    async def start_retrain() -> str:
        return "job-17"

    harness.deps.retrain = start_retrain
    assert "Retraining started: job-17" in await admin.reply("/retrain")


async def test_broadcast_reports_sent_and_blocked(harness: Harness) -> None:
    admin = harness.chat(ADMIN_ID)
    await admin.send("/start")
    for uid in (4101, 4102, 4103):
        await harness.chat(uid).send("/start")
    await harness.tg.block(4103)
    replies = await admin.send("/broadcast Maintenance at 02:00 UTC", count=3)
    assert [r["text"] for r in replies][-1] == "Broadcast done: sent 3, blocked 1, failed 0."
    for uid in (4101, 4102):
        assert (await harness.tg.messages(uid))[-1]["text"] == "Maintenance at 02:00 UTC"
    blocked = await harness.user(4103)
    assert blocked is not None and blocked.is_active is False
    assert "Usage: /broadcast TEXT" in await admin.reply("/broadcast")
