"""The control API: waiting for the bot without sleeping, events, validation, files, stats, the CLI."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiogram import Bot
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from sandbox.telegram.control_client import ControlRequestError, TelegramControl
from tests.fixtures.telegram import TelegramServerHandle
from tests.sandbox_telegram.helpers import html_bot

USER = 5005
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def bot(telegram_server: TelegramServerHandle) -> AsyncIterator[Bot]:
    bot = html_bot(telegram_server)
    yield bot
    await bot.session.close()


async def test_wait_messages_returns_when_the_bot_speaks(
    bot: Bot, telegram_server: TelegramServerHandle
) -> None:
    asked = await telegram_server.send_text(USER, "ping")

    async def reply_later() -> None:
        await asyncio.sleep(0.3)
        await bot.send_message(USER, "pong 1")
        await bot.send_message(USER, "pong 2")

    started = time.monotonic()
    replying = asyncio.create_task(reply_later())
    replies = await telegram_server.wait_messages(USER, after_id=asked, timeout=10, count=2)
    await replying
    assert [m["text"] for m in replies] == ["pong 1", "pong 2"]
    assert time.monotonic() - started < 3
    started = time.monotonic()
    assert await telegram_server.wait_messages(USER, after_id=replies[-1]["message_id"], timeout=0.5) == []
    assert 0.4 <= time.monotonic() - started < 2


async def test_events_follow_sends_edits_deletes_and_answers(
    bot: Bot, telegram_server: TelegramServerHandle
) -> None:
    await telegram_server.send_text(USER, "hi")
    _, seq = await telegram_server.events(USER)
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="OK", callback_data="ok")]])
    sent = await bot.send_message(USER, "Question", reply_markup=keyboard)
    await bot.edit_message_text("Question (answered)", chat_id=USER, message_id=sent.message_id)
    await bot.delete_message(USER, sent.message_id)
    events, new_seq = await telegram_server.events(USER, after_seq=seq)
    assert [e["kind"] for e in events] == ["message", "edited", "deleted"]
    assert events[1]["message"]["text"] == "Question (answered)"
    assert new_seq == events[-1]["seq"] > seq
    waiting = asyncio.create_task(telegram_server.events(USER, after_seq=new_seq, wait=10))
    await asyncio.sleep(0.1)
    await bot.send_chat_action(USER, "typing")
    later, _ = await asyncio.wait_for(waiting, 5)
    assert [e["kind"] for e in later] == ["chat_action"]


async def test_control_requests_are_validated(telegram_server: TelegramServerHandle) -> None:
    with pytest.raises(ControlRequestError, match="has no chat with the bot") as info:
        await telegram_server.press(USER, 1, "x")
    assert info.value.status == 400
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{telegram_server.url}/sandbox/users/{USER}/messages", json={"text": ""}) as r:
            assert r.status == 400 and (await r.json())["ok"] is False
        async with http.post(f"{telegram_server.url}/sandbox/users/abc/messages", json={"text": "x"}) as r:
            assert r.status == 400
    with pytest.raises(ControlRequestError) as missing:
        await telegram_server.file_bytes("nope")
    assert missing.value.status == 404
    with pytest.raises(ControlRequestError, match="no such callback query"):
        await telegram_server.callback_answer("123", timeout=0)


async def test_an_unanswered_press_is_reported_as_such(telegram_server: TelegramServerHandle) -> None:
    await telegram_server.send_text(USER, "hi")
    query = await telegram_server.press(USER, 1, "x", forge=True)
    answer = await telegram_server.callback_answer(query, timeout=0.2)
    assert (answer["answered"], answer["data"]) == (False, "x")


async def test_stopping_the_server_ends_pending_long_polls(telegram_server: TelegramServerHandle) -> None:
    bot = html_bot(telegram_server)
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    waiting = asyncio.create_task(telegram_server.wait_messages(USER, timeout=30))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await telegram_server.server.stop()
    assert await asyncio.wait_for(poll, 5) == []
    assert await asyncio.wait_for(waiting, 5) == []
    assert time.monotonic() - started < 3
    await bot.session.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_command_line_server(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox.telegram",
            "--port",
            str(port),
            "--token",
            "42:CLI",
            "--no-rate-limits",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 20)
        assert f"http://127.0.0.1:{port}" in banner
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/bot42:CLI/getMe") as r:
            assert (await r.json())["result"]["id"] == 42
        async with TelegramControl(f"http://127.0.0.1:{port}", token="42:CLI") as control:
            message_id = await control.send_text(USER, "from the CLI test")
            assert message_id == 1
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
