"""getUpdates long polling, offsets, allowed_updates, and a real Dispatcher receiving messages and presses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.exceptions import TelegramBadRequest, TelegramConflictError
from aiogram.filters import Command, CommandStart
from aiogram.types import (
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
)

from sandbox.telegram.control_client import ControlRequestError
from tests.fixtures.telegram import TelegramServerHandle, polling
from tests.sandbox_telegram.helpers import html_bot

USER = 2002


@pytest.fixture
async def bot(telegram_server: TelegramServerHandle) -> AsyncIterator[Bot]:
    bot = html_bot(telegram_server)
    yield bot
    await bot.session.close()


async def test_long_poll_returns_as_soon_as_a_message_arrives(
    bot: Bot, telegram_server: TelegramServerHandle
) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=20))
    await asyncio.sleep(0.2)
    assert not poll.done()  # nothing to deliver yet: the request waits
    await telegram_server.send_text(USER, "/start ref42", language_code="ru", username="bob")
    [update] = await asyncio.wait_for(poll, 5)
    assert time.monotonic() - started < 3
    message = update.message
    assert message is not None and message.from_user is not None
    assert (message.text, message.chat.id, message.chat.type) == ("/start ref42", USER, "private")
    assert (message.from_user.language_code, message.from_user.username) == ("ru", "bob")
    assert message.entities is not None and (message.entities[0].type, message.entities[0].length) == (
        "bot_command",
        6,
    )


async def test_an_empty_long_poll_ends_after_its_timeout(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert 0.9 <= time.monotonic() - started < 3
    started = time.monotonic()
    assert await bot.get_updates() == []  # timeout 0: short polling
    assert time.monotonic() - started < 0.5


async def test_offset_confirms_updates_and_limit_caps_a_batch(
    bot: Bot, telegram_server: TelegramServerHandle
) -> None:
    for text in ("one", "two", "three"):
        await telegram_server.send_text(USER, text)
    first_two = await bot.get_updates(limit=2)
    assert [u.message.text for u in first_two if u.message] == ["one", "two"]
    again = await bot.get_updates()  # nothing confirmed yet: all three are still there
    assert len(again) == 3
    rest = await bot.get_updates(offset=first_two[-1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["three"]
    assert await bot.get_updates(offset=rest[-1].update_id + 1) == []
    assert (await telegram_server.stats())["pending_updates"] == 0
    await telegram_server.send_text(USER, "four")
    await telegram_server.send_text(USER, "five")
    [last] = await bot.get_updates(offset=-1)  # negative offset: the last update only, the others forgotten
    assert last.message is not None and last.message.text == "five"


async def test_allowed_updates_drops_other_kinds(bot: Bot, telegram_server: TelegramServerHandle) -> None:
    await telegram_server.send_text(USER, "hello")
    [first] = await bot.get_updates(allowed_updates=["message"])
    await telegram_server.press(USER, 1, "anything", forge=True)  # a callback_query: not allowed now
    await telegram_server.send_text(USER, "again")
    updates = await bot.get_updates(offset=first.update_id + 1)
    assert [u.message.text for u in updates if u.message] == ["again"]
    assert all(u.callback_query is None for u in updates)


async def test_delete_webhook_can_drop_pending_updates(
    bot: Bot, telegram_server: TelegramServerHandle
) -> None:
    await telegram_server.send_text(USER, "stale")
    assert await bot.delete_webhook(drop_pending_updates=False)
    assert len(await bot.get_updates()) == 1
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == []


async def test_dispatcher_handles_messages_and_button_presses(
    bot: Bot, telegram_server: TelegramServerHandle
) -> None:
    dp = Dispatcher()
    presses: list[str] = []

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Paper", callback_data="mode:paper")]]
        )
        await message.answer(
            f"Welcome, <b>{message.from_user.first_name if message.from_user else ''}</b>",
            reply_markup=keyboard,
        )

    @dp.callback_query(F.data.startswith("mode:"))
    async def mode(callback: CallbackQuery) -> None:
        presses.append(str(callback.data))
        await callback.answer("Mode saved", show_alert=True)
        if isinstance(callback.message, Message):
            await callback.message.edit_text(f"Mode: {callback.data}")

    @dp.callback_query()
    async def other(callback: CallbackQuery) -> None:
        presses.append(f"other:{callback.data}:{isinstance(callback.message, InaccessibleMessage)}")
        await callback.answer()

    async with polling(dp, bot):
        asked = await telegram_server.send_text(USER, "/start", first_name="Ann")
        [welcome] = await telegram_server.wait_messages(USER, after_id=asked, timeout=5)
        assert welcome["text"] == "Welcome, Ann"
        pressed = await telegram_server.press(USER, welcome["message_id"], "mode:paper")
        answer = await telegram_server.callback_answer(pressed, timeout=5)
        assert (answer["answered"], answer["text"], answer["show_alert"]) == (True, "Mode saved", True)
        # a button that is not on screen cannot be pressed...
        with pytest.raises(ControlRequestError, match="no button with callback_data"):
            await telegram_server.press(USER, welcome["message_id"], "mode:live")
        # ...unless the test forges the callback, as a hostile client could
        forged = await telegram_server.press(USER, welcome["message_id"], "mode:../../admin", forge=True)
        await telegram_server.callback_answer(forged, timeout=5)
        ghost = await telegram_server.press(USER, 9999, "x" * 100, forge=True)
        await telegram_server.callback_answer(ghost, timeout=5)
    assert presses == ["mode:paper", "mode:../../admin", "other:" + "x" * 100 + ":True"]
    [shown] = await telegram_server.messages(USER)
    assert shown["text"] == "Mode: mode:../../admin" and shown["edit_count"] == 2
    with pytest.raises(ControlRequestError, match="is not shown"):
        await telegram_server.press(USER, 9999, "mode:paper")


async def test_a_callback_query_is_answered_once(bot: Bot, telegram_server: TelegramServerHandle) -> None:
    await telegram_server.send_text(USER, "hi")
    sent = await bot.send_message(
        USER,
        "Go",
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Go", callback_data="go")]]
        ),
    )
    query_id = await telegram_server.press(USER, sent.message_id, "go")
    [update] = [u for u in await bot.get_updates() if u.callback_query]
    assert update.callback_query is not None and update.callback_query.id == query_id
    assert await bot.answer_callback_query(query_id, text="ok")
    with pytest.raises(
        TelegramBadRequest, match="query is too old and response timeout expired or query ID is invalid"
    ):
        await bot.answer_callback_query(query_id)


async def test_commands_filter_sees_bot_commands(bot: Bot, telegram_server: TelegramServerHandle) -> None:
    dp = Dispatcher()

    @dp.message(Command("balance"))
    async def balance(message: Message) -> None:
        await message.answer("Balance: 100 USDT")

    async with polling(dp, bot):
        asked = await telegram_server.send_text(USER, "/balance")
        replies = await telegram_server.wait_messages(USER, after_id=asked, timeout=5)
    assert [m["text"] for m in replies] == ["Balance: 100 USDT"]


async def test_a_second_poller_ends_the_first_with_409(
    bot: Bot, telegram_server: TelegramServerHandle
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=20))
    await asyncio.sleep(0.2)
    second = asyncio.create_task(bot.get_updates(timeout=20))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 5)
    await telegram_server.send_text(USER, "for the survivor")
    [update] = await asyncio.wait_for(second, 5)
    assert update.message is not None and update.message.text == "for the survivor"


async def test_replies_carry_the_replied_message(bot: Bot, telegram_server: TelegramServerHandle) -> None:
    await telegram_server.send_text(USER, "hi")
    question = await bot.send_message(USER, "Send your API key as a reply")
    answer = await telegram_server.send_text(USER, "my-key", reply_to_message_id=question.message_id)
    [update] = [u for u in await bot.get_updates() if u.message and u.message.message_id == answer]
    assert update.message is not None and update.message.reply_to_message is not None
    assert update.message.reply_to_message.text == "Send your API key as a reply"
    thanks = await bot.send_message(USER, "Saved", reply_parameters=ReplyParameters(message_id=answer))
    assert thanks.reply_to_message is not None and thanks.reply_to_message.text == "my-key"
    with pytest.raises(ControlRequestError, match="is not in chat"):
        await telegram_server.send_text(USER, "reply to nothing", reply_to_message_id=999)
