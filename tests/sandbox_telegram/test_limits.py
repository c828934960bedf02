"""Flood control (429 with retry_after) and blocked users (403), seen through real aiogram exceptions."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter
from hypothesis import given
from hypothesis import strategies as st

from sandbox.telegram.control_client import ControlRequestError
from sandbox.telegram.limits import FloodControl, RateLimits
from tests.fixtures.telegram import TelegramServerHandle
from tests.sandbox_telegram.helpers import html_bot, open_chat

USER, OTHER = 3003, 3004


@pytest.fixture
async def bot(telegram_server: TelegramServerHandle) -> AsyncIterator[Bot]:
    bot = html_bot(telegram_server)
    yield bot
    await bot.session.close()


@pytest.mark.telegram_limits(global_per_second=None, chat_per_second=0.5, chat_burst=3)
async def test_a_chat_gets_a_burst_then_429_with_retry_after(
    bot: Bot, telegram_server: TelegramServerHandle
) -> None:
    await open_chat(telegram_server, USER)
    await open_chat(telegram_server, OTHER)
    for n in range(3):
        await bot.send_message(USER, f"burst {n}")
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(USER, "one too many")
    assert info.value.retry_after == 2  # one token per 2 s at 0.5 msg/s
    assert info.value.message.endswith("Original description: Too Many Requests: retry after 2")
    await bot.send_message(OTHER, "another chat has its own budget")
    stats = await telegram_server.stats()
    assert (stats["too_many_requests"], stats["messages_sent"]) == (1, 4)
    assert len(await telegram_server.messages(USER)) == 3


@pytest.mark.telegram_limits(global_per_second=5, global_burst=5, chat_per_second=None)
async def test_the_bot_as_a_whole_is_limited_too(bot: Bot, telegram_server: TelegramServerHandle) -> None:
    users = list(range(4000, 4006))
    for user in users:
        await open_chat(telegram_server, user)
    for user in users[:5]:
        await bot.send_message(user, "news")
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(users[5], "news")
    assert info.value.retry_after == 1


@pytest.mark.telegram_limits(off=True)
async def test_limits_can_be_switched_off(bot: Bot, telegram_server: TelegramServerHandle) -> None:
    await open_chat(telegram_server, USER)
    for n in range(40):
        await bot.send_message(USER, f"fast {n}")
    assert (await telegram_server.stats())["too_many_requests"] == 0


async def test_a_user_who_blocked_the_bot_answers_403(
    bot: Bot, telegram_server: TelegramServerHandle
) -> None:
    await open_chat(telegram_server, USER)
    sent = await bot.send_message(USER, "before")
    await telegram_server.block(USER)
    with pytest.raises(TelegramForbiddenError) as info:
        await bot.send_message(USER, "after")
    assert info.value.message == "Forbidden: bot was blocked by the user"
    with pytest.raises(TelegramForbiddenError):
        await bot.edit_message_text("edited", chat_id=USER, message_id=sent.message_id)
    with pytest.raises(ControlRequestError, match="has blocked the bot"):
        await telegram_server.send_text(USER, "I cannot write while the bot is blocked")
    member_updates = [u.my_chat_member for u in await bot.get_updates() if u.my_chat_member]
    assert [(m.old_chat_member.status, m.new_chat_member.status) for m in member_updates] == [
        ("member", "kicked")
    ]
    await telegram_server.unblock(USER)
    await bot.send_message(USER, "welcome back")
    stats = await telegram_server.stats()
    assert stats["forbidden"] == 2


def test_flood_control_recovers_at_the_sustained_rate() -> None:
    now = [0.0]
    flood = FloodControl(
        RateLimits(global_per_second=None, chat_per_second=1.0, chat_burst=3), lambda: now[0]
    )
    assert [flood.admit(1) for _ in range(3)] == [None, None, None]
    assert flood.admit(1) == 1
    now[0] = 0.5
    assert flood.admit(1) == 1  # half a token: still wait (rounded up to whole seconds)
    now[0] = 1.0
    assert flood.admit(1) is None
    assert flood.admit(1) == 1
    now[0] = 100.0
    assert [flood.admit(1) for _ in range(4)] == [
        None,
        None,
        None,
        1,
    ]  # the bucket never holds more than the burst


@given(
    rate=st.floats(0.2, 40),
    burst=st.integers(1, 30),
    gaps=st.lists(st.floats(0, 0.5), min_size=1, max_size=200),
)
def test_admitted_messages_never_exceed_burst_plus_rate(rate: float, burst: int, gaps: list[float]) -> None:
    now = [0.0]
    flood = FloodControl(
        RateLimits(global_per_second=None, chat_per_second=rate, chat_burst=burst), lambda: now[0]
    )
    admitted: list[float] = []
    for gap in gaps:
        now[0] += gap
        retry_after = flood.admit(7)
        if retry_after is None:
            admitted.append(now[0])
        else:
            assert retry_after >= 1 and retry_after == math.ceil(retry_after)
    # in any window [t0, t1] at most burst + rate * (t1 - t0) messages go through
    for i, start in enumerate(admitted):
        for j in range(i, len(admitted)):
            assert j - i + 1 <= burst + rate * (admitted[j] - start) + 1e-6
