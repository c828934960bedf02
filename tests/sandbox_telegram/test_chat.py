"""The terminal chat, fed through a real pipe, against a real aiogram bot with buttons and photos."""

from __future__ import annotations

import asyncio
import io
import os
import re
from pathlib import Path

from aiogram import Dispatcher, F
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from sandbox.chat import run_chat
from tests.fixtures.telegram import TelegramServerHandle, polling
from tests.sandbox_telegram.helpers import html_bot, png

USER = 6006
CHART = png(64, 32)


def _echo_dispatcher() -> Dispatcher:
    dp = Dispatcher()

    @dp.message(F.text == "chart")
    async def chart(message: Message) -> None:
        await message.answer_photo(BufferedInputFile(CHART, "chart.png"), caption="Equity")

    @dp.message()
    async def echo(message: Message) -> None:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(text="Buy", callback_data="buy"),
                    InlineKeyboardButton(text="Sell", callback_data="sell"),
                ],
                [InlineKeyboardButton(text="Docs", url="https://example.org/docs")],
            ]
        )
        await message.answer(f"<b>echo</b>: {message.text}", reply_markup=keyboard)

    @dp.callback_query()
    async def pressed(callback: CallbackQuery) -> None:
        await callback.answer(f"you chose {callback.data}")
        if isinstance(callback.message, Message):
            await callback.message.edit_text(
                f"Chosen: {callback.data}", reply_markup=callback.message.reply_markup
            )

    return dp


async def test_terminal_chat_over_a_pipe(telegram_server: TelegramServerHandle, tmp_path: Path) -> None:
    bot = html_bot(telegram_server)
    read_fd, write_fd = os.pipe()
    lines = "hello\n/press 2\n/press 3\n/press 9\nchart\n/quit\n"
    os.write(write_fd, lines.encode())
    os.close(write_fd)
    out = io.StringIO()
    with os.fdopen(read_fd) as stdin:
        async with polling(_echo_dispatcher(), bot):
            await asyncio.wait_for(
                run_chat(
                    telegram_server.url, USER, "en", tmp_path / "files", stdin=stdin, stdout=out, settle=0.2
                ),
                30,
            )
    await bot.session.close()
    text = out.getvalue()
    assert "bot> echo: hello\n     [1] Buy  [2] Sell\n     [3] Docs -> https://example.org/docs\n" in text
    assert "bot (notice)> you chose sell" in text
    assert "bot (edited #2)> Chosen: sell" in text
    assert "(opens https://example.org/docs)" in text
    assert "! choose a button 1..3" in text
    match = re.search(r"bot> \[photo\] saved to (\S+)\n +Equity", text)
    assert match is not None, text
    assert Path(match.group(1)).read_bytes() == CHART
    # the order of the conversation is kept: the press came after the echo, the photo after the press
    assert text.index("echo: hello") < text.index("Chosen: sell") < text.index("[photo]")
    [shown_user_message, *_] = (await telegram_server.chat(USER))["user_messages"]
    assert (shown_user_message["text"], shown_user_message["sender"]) == ("hello", "user")


async def test_terminal_chat_without_buttons_says_so(
    telegram_server: TelegramServerHandle, tmp_path: Path
) -> None:
    out = io.StringIO()
    await asyncio.wait_for(
        run_chat(telegram_server.url, USER, "en", tmp_path, stdin=io.StringIO("/press 1\n"), stdout=out), 10
    )
    assert "! no message with buttons" in out.getvalue()
