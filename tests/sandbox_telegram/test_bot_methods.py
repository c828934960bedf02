"""Every Bot API method of the sandbox, called by a real aiogram Bot over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiogram import Bot
from aiogram.enums import ChatAction, ParseMode
from aiogram.exceptions import TelegramBadRequest, TelegramUnauthorizedError
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyParameters,
)

from tests.fixtures.telegram import TelegramServerHandle, make_bot
from tests.sandbox_telegram.helpers import html_bot, open_chat, png

USER = 1001


def _keyboard(*datas: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=d.upper(), callback_data=d) for d in datas]]
    )


@pytest.fixture
async def bot(telegram_server: TelegramServerHandle) -> AsyncIterator[Bot]:
    bot = html_bot(telegram_server)
    yield bot
    await bot.session.close()


async def test_get_me_describes_the_bot_of_the_token(telegram_bot: Bot) -> None:
    me = await telegram_bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "sandbox_bot")


async def test_a_wrong_token_is_unauthorized(telegram_server: TelegramServerHandle) -> None:
    telegram_server.token = "654321:WRONG"
    stranger = make_bot(telegram_server)
    with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
        await stranger.get_me()
    await stranger.session.close()
    assert (await telegram_server.stats())["errors"] == {"401": 1}


async def test_send_message_returns_a_real_message_and_the_chat_shows_it(
    bot: Bot, telegram_server: TelegramServerHandle
) -> None:
    await open_chat(telegram_server, USER)
    sent = await bot.send_message(USER, "<b>Balance</b>: 10 &lt; 20", reply_markup=_keyboard("buy", "sell"))
    assert sent.text == "Balance: 10 < 20"
    assert sent.from_user is not None and sent.from_user.is_bot
    assert sent.chat.id == USER and sent.chat.type == "private"
    assert sent.entities is not None and sent.entities[0].type == "bold" and sent.entities[0].length == 7
    assert isinstance(sent.reply_markup, InlineKeyboardMarkup)
    assert sent.reply_markup.inline_keyboard[0][1].callback_data == "sell"
    [shown] = await telegram_server.messages(USER)
    assert shown["message_id"] == sent.message_id
    assert (shown["text"], shown["raw_text"], shown["parse_mode"]) == (
        "Balance: 10 < 20",
        "<b>Balance</b>: 10 &lt; 20",
        "HTML",
    )
    assert shown["buttons"] == [
        [{"text": "BUY", "callback_data": "buy"}, {"text": "SELL", "callback_data": "sell"}]
    ]


@pytest.mark.parametrize(
    ("text", "mode", "description"),
    [
        ("1 < 2", ParseMode.HTML, 'can\'t parse entities: Unsupported start tag "" at byte offset 2'),
        (
            "<b>open",
            ParseMode.HTML,
            "can't parse entities: Can't find end tag corresponding to start tag \"b\"",
        ),
        (
            "Price 1.5",
            ParseMode.MARKDOWN_V2,
            "can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'",
        ),
        (
            "*open",
            ParseMode.MARKDOWN_V2,
            "can't parse entities: Can't find end of Bold entity at byte offset 0",
        ),
    ],
)
async def test_malformed_markup_is_rejected_like_telegram(
    bot: Bot, telegram_server: TelegramServerHandle, text: str, mode: str, description: str
) -> None:
    await open_chat(telegram_server, USER)
    with pytest.raises(TelegramBadRequest) as info:
        await bot.send_message(USER, text, parse_mode=mode)
    assert info.value.message == f"Bad Request: {description}"
    assert await telegram_server.messages(USER) == []


async def test_markdown_v2_that_is_well_formed_is_accepted(
    bot: Bot, telegram_server: TelegramServerHandle
) -> None:
    await open_chat(telegram_server, USER)
    sent = await bot.send_message(USER, "*PnL* \\+1\\.5%", parse_mode=ParseMode.MARKDOWN_V2)
    assert sent.text == "PnL +1.5%"
    assert sent.entities is not None and [e.type for e in sent.entities] == ["bold"]


async def test_message_length_limit_is_4096_characters(
    bot: Bot, telegram_server: TelegramServerHandle
) -> None:
    await open_chat(telegram_server, USER)
    await bot.send_message(USER, "x" * 4096)
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(USER, "x" * 4097)
    # the limit applies to the visible text, after markup
    await bot.send_message(USER, "<b>" + "y" * 4096 + "</b>")


async def test_callback_data_limit_is_64_bytes(bot: Bot, telegram_server: TelegramServerHandle) -> None:
    await open_chat(telegram_server, USER)
    await bot.send_message(USER, "ok", reply_markup=_keyboard("é" * 32))  # 64 bytes in UTF-8
    with pytest.raises(TelegramBadRequest, match="Bad Request: BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "too long", reply_markup=_keyboard("a" * 65))
    with pytest.raises(TelegramBadRequest, match="Bad Request: BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "multibyte", reply_markup=_keyboard("é" * 33))


async def test_unknown_chat_is_not_found(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="Bad Request: chat not found"):
        await bot.send_message(424242, "hello?")
    with pytest.raises(TelegramBadRequest, match="Bad Request: chat not found"):
        await bot.get_chat(424242)


async def test_edits_are_reflected_and_unchanged_edits_refused(
    bot: Bot, telegram_server: TelegramServerHandle
) -> None:
    await open_chat(telegram_server, USER)
    sent = await bot.send_message(USER, "Choose", reply_markup=_keyboard("a", "b"))
    edited = await bot.edit_message_text("Chosen: <i>a</i>", chat_id=USER, message_id=sent.message_id)
    assert not isinstance(edited, bool)
    assert edited.text == "Chosen: a" and edited.edit_date is not None
    assert (
        edited.reply_markup is None
    )  # leaving reply_markup out of an edit removes the keyboard, as on Telegram
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("Chosen: <i>a</i>", chat_id=USER, message_id=sent.message_id)
    await bot.edit_message_reply_markup(
        chat_id=USER, message_id=sent.message_id, reply_markup=_keyboard("undo")
    )
    [shown] = await telegram_server.messages(USER)
    assert shown["text"] == "Chosen: a"
    assert shown["buttons"] == [[{"text": "UNDO", "callback_data": "undo"}]]
    assert shown["edited"] and shown["edit_count"] == 2
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=999)
    first = (await telegram_server.chat(USER))["user_messages"][0]["message_id"]
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("x", chat_id=USER, message_id=first)


async def test_deleted_messages_leave_the_chat(bot: Bot, telegram_server: TelegramServerHandle) -> None:
    keys_message = await telegram_server.send_text(USER, "api-key secret")
    sent = await bot.send_message(USER, "Saved")
    kept = await bot.send_message(USER, "Still here")
    assert await bot.delete_message(USER, sent.message_id)
    assert await bot.delete_message(
        USER, keys_message
    )  # bots may delete the user's messages in private chats
    view = await telegram_server.chat(USER)
    assert [m["message_id"] for m in view["messages"]] == [kept.message_id]
    assert sorted(m["message_id"] for m in view["deleted"]) == sorted([keys_message, sent.message_id])
    assert view["user_messages"] == []
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER, sent.message_id)


async def test_reply_keyboard_and_reply_to(bot: Bot, telegram_server: TelegramServerHandle) -> None:
    asked = await open_chat(telegram_server, USER, "menu")
    keyboard = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="Balance"), KeyboardButton(text="Settings")]]
    )
    sent = await bot.send_message(
        USER, "Menu", reply_markup=keyboard, reply_parameters=ReplyParameters(message_id=asked)
    )
    assert sent.reply_markup is None  # Telegram returns only inline keyboards with the message
    [shown] = await telegram_server.messages(USER)
    assert shown["keyboard"] == [["Balance", "Settings"]]
    assert shown["reply_to_message_id"] == asked
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(USER, "x", reply_parameters=ReplyParameters(message_id=777))


async def test_photo_upload_is_kept_and_readable_back(
    bot: Bot, telegram_server: TelegramServerHandle, tmp_path: Path
) -> None:
    await open_chat(telegram_server, USER)
    image = png(300, 200)
    sent = await bot.send_photo(USER, BufferedInputFile(image, "chart.png"), caption="<b>Equity</b> curve")
    assert sent.photo is not None
    assert (sent.photo[-1].width, sent.photo[-1].height) == (300, 200)
    assert sent.photo[0].width <= 90  # a thumbnail size comes first, as on Telegram
    assert sent.caption == "Equity curve" and sent.caption_entities is not None
    [shown] = await telegram_server.messages(USER)
    assert shown["photo"]["file_id"] == sent.photo[-1].file_id
    assert (shown["photo"]["width"], shown["photo"]["height"]) == (300, 200)
    assert shown["text"] == "Equity curve"
    assert await telegram_server.file_bytes(sent.photo[-1].file_id) == image
    # the bot's own download path: getFile + /file/bot<token>/<path>
    target = tmp_path / "back.png"
    await bot.download(sent.photo[-1].file_id, destination=target)
    assert target.read_bytes() == image
    again = await bot.send_photo(USER, sent.photo[-1].file_id)  # re-sending by file_id
    assert again.photo is not None and again.photo[-1].file_id == sent.photo[-1].file_id
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(USER, BufferedInputFile(b"not an image", "x.png"))
    with pytest.raises(TelegramBadRequest, match="wrong file identifier/HTTP URL specified"):
        await bot.send_photo(USER, "no-such-file-id")


async def test_document_upload_is_kept_and_readable_back(
    bot: Bot, telegram_server: TelegramServerHandle, tmp_path: Path
) -> None:
    await open_chat(telegram_server, USER)
    report = tmp_path / "trades.csv"
    report.write_bytes(b"symbol,qty\nBTC/USDT,0.01\n")
    sent = await bot.send_document(USER, FSInputFile(report), caption="Your trades")
    assert sent.document is not None
    assert (sent.document.file_name, sent.document.mime_type) == ("trades.csv", "text/csv")
    [shown] = await telegram_server.messages(USER)
    assert shown["document"]["file_name"] == "trades.csv"
    assert await telegram_server.file_bytes(sent.document.file_id) == report.read_bytes()
    with pytest.raises(TelegramBadRequest, match="there is no text in the message to edit"):
        await bot.edit_message_text("x", chat_id=USER, message_id=sent.message_id)
    await bot.edit_message_caption(chat_id=USER, message_id=sent.message_id, caption="Trades of <i>today</i>")
    assert (await telegram_server.messages(USER))[0]["text"] == "Trades of today"


async def test_chat_action_and_get_chat(bot: Bot, telegram_server: TelegramServerHandle) -> None:
    await telegram_server.send_text(USER, "hi", username="alice", first_name="Alice")
    assert await bot.send_chat_action(USER, ChatAction.UPLOAD_PHOTO)
    events, _ = await telegram_server.events(USER)
    assert [(e["kind"], e["action"]) for e in events] == [("chat_action", "upload_photo")]
    chat = await bot.get_chat(USER)
    assert (chat.id, chat.type, chat.username, chat.first_name) == (USER, "private", "alice", "Alice")


async def test_commands_are_kept_per_scope_and_language(
    bot: Bot, telegram_server: TelegramServerHandle
) -> None:
    await bot.set_my_commands(
        [BotCommand(command="start", description="Start"), BotCommand(command="help", description="Help")]
    )
    await bot.set_my_commands([BotCommand(command="start", description="Начать")], language_code="ru")
    await bot.set_my_commands(
        [BotCommand(command="admin", description="Admin panel")], scope=BotCommandScopeChat(chat_id=USER)
    )
    stored = {
        (c["scope"]["type"], c["language_code"]): c["commands"] for c in await telegram_server.commands()
    }
    assert stored[("default", "")] == [
        {"command": "start", "description": "Start"},
        {"command": "help", "description": "Help"},
    ]
    assert stored[("default", "ru")] == [{"command": "start", "description": "Начать"}]
    assert stored[("chat", "")] == [{"command": "admin", "description": "Admin panel"}]
    assert [c.command for c in await bot.get_my_commands(language_code="ru")] == ["start"]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])
    await bot.delete_my_commands(language_code="ru")
    assert await bot.get_my_commands(language_code="ru") == []
    assert await bot.set_my_description("Trades for you", language_code="en")
    async with aiohttp.ClientSession() as http, http.get(f"{telegram_server.url}/sandbox/commands") as r:
        profile = (await r.json())["profile"]
    assert profile == [{"method": "setMyDescription", "description": "Trades for you", "language_code": "en"}]


async def test_json_bodies_query_strings_and_unknown_methods(telegram_server: TelegramServerHandle) -> None:
    await open_chat(telegram_server, USER)
    base = f"{telegram_server.url}/bot{telegram_server.token}"
    async with aiohttp.ClientSession() as http:
        markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
        async with http.post(
            f"{base}/sendmessage", json={"chat_id": USER, "text": "json", "reply_markup": markup}
        ) as r:
            body = await r.json()
            assert r.status == 200 and body["result"]["reply_markup"] == markup
        async with http.get(f"{base}/sendMessage", params={"chat_id": str(USER), "text": "query"}) as r:
            assert (await r.json())["result"]["text"] == "query"
        async with http.post(f"{base}/noSuchMethod") as r:
            assert r.status == 404 and await r.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
        async with http.post(f"{base}/sendMessage", data={"chat_id": USER}) as r:
            assert r.status == 400 and (await r.json())["description"] == "Bad Request: message text is empty"
    stats = await telegram_server.stats()
    assert stats["requests"]["sendMessage"] == 3 and stats["requests"]["noSuchMethod"] == 1
    assert stats["errors"] == {"404": 1, "400": 1}
