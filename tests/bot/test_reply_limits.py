"""Interactive replies under Telegram's real per-chat limit: a 429 is waited out, no reply is lost."""

from __future__ import annotations

from tests.bot.conftest import Harness


async def test_replies_survive_429(harness: Harness) -> None:
    await harness.chat(8001).send("/start")
    first = await harness.tg.send_text(8001, "/status", "en")
    for _ in range(4):
        await harness.tg.send_text(8001, "/status", "en")
    replies = await harness.tg.wait_messages(8001, after_id=first - 1, timeout=20, count=5)
    assert len(replies) == 5
    assert sum("Trading: off" in (r["text"] or "") for r in replies) == 5
    assert (await harness.tg.stats())["too_many_requests"] > 0
