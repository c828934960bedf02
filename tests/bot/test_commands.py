"""Every user command's happy path through the real Dispatcher and the sandbox Telegram server."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.app import set_commands
from bot.commands import MENU_COMMANDS, USER_COMMANDS
from core.db.models import Order, PaperBalance, Position, PositionStatus
from tests.bot.conftest import ADMIN_ID, Harness
from tests.bot.helpers import add_history, add_position

pytestmark = pytest.mark.telegram_limits(off=True)


async def test_start_registers_once_in_the_users_language(harness: Harness) -> None:
    en = harness.chat(1001)
    assert "virtual balance of 10,000.00 USDT" in await en.reply("/start")
    assert "Welcome back" in await en.reply("/start")
    ru = harness.chat(1002, "ru")
    assert "виртуальным балансом 10,000.00 USDT" in await ru.reply("/start")
    user = await harness.user(1002)
    assert user is not None and user.language == "ru" and user.mode == "paper"


async def test_help_and_set_my_commands(harness: Harness) -> None:
    chat = harness.chat(1001)
    await chat.send("/start")
    text = await chat.reply("/help")
    for name, _ in USER_COMMANDS:
        assert f"/{name} " in text
    assert "/blacklist" not in text
    admin = harness.chat(ADMIN_ID)
    await admin.send("/start")
    assert "/blacklist" in await admin.reply("/help")

    await set_commands(harness.bot, admin_ids=[ADMIN_ID])
    entries = await harness.tg.commands()
    lists = {e["language_code"]: e["commands"] for e in entries if e["scope"]["type"] == "all_private_chats"}
    assert {"", "en", "ru"} <= set(lists)
    admin_lists = {e["scope"].get("chat_id"): e["commands"] for e in entries if e["scope"]["type"] == "chat"}
    assert list(admin_lists) == [ADMIN_ID] and "blacklist" in [c["command"] for c in admin_lists[ADMIN_ID]]
    assert [c["command"] for c in lists["ru"]] == [name for name, _ in USER_COMMANDS]
    assert lists["ru"][0]["description"] == "Главное меню"
    # the admin's own list has every language too (a chat-scoped list beats the all-chats one)
    admin_ru = [e["commands"] for e in entries if e["scope"]["type"] == "chat" and e["language_code"] == "ru"]
    assert len(admin_ru) == 1 and admin_ru[0][0]["description"] == "Главное меню"
    assert "blacklist" in [c["command"] for c in admin_ru[0]]


async def test_every_menu_button_answers(harness: Harness) -> None:
    chat = harness.chat(1001)
    menu = (await chat.send("/start"))[0]
    assert sorted(b["callback_data"].split(":")[1] for row in menu["buttons"] for b in row) == sorted(
        MENU_COMMANDS
    )
    expected = {
        "help": "/keys",
        "keys": "no exchange keys",
        "mode": "Mode: paper",
        "deposit": "not set a deposit",
        "balance": "USDT: free 10,000.00",
        "status": "Trading: off",
        "positions": "no open positions",
        "pnl": "P&L for today",
        "trade_on": "Set your deposit first",
        "trade_off": "Trading is off",
        "settings": "Your settings",
        "lang": "Choose your language",
    }
    for cmd, fragment in expected.items():
        replies = await chat.press(menu, data=f"m:{cmd}")
        assert fragment in replies[-1]["text"], (cmd, replies[-1]["text"])
        await chat.send("/cancel")  # leave any question the button opened


async def test_deposit_with_argument_and_by_question(harness: Harness) -> None:
    chat = harness.chat(1001)
    await chat.send("/start")
    assert "Deposit set to 500.00 USDT" in await chat.reply("/deposit 500")
    assert "more than your balance of 10,000.00" in await chat.reply("/deposit 20000")
    assert "not an amount" in await chat.reply("/deposit five")
    assert "Your deposit is 500.00 USDT" in await chat.reply("/deposit")
    assert "not an amount" in await chat.reply("lots")  # still asked: a bad answer keeps the question open
    assert "Deposit set to 250.50 USDT" in await chat.reply("250,5")
    user = await harness.user(1001)
    assert user is not None and user.deposit == Decimal("250.5")
    assert "I did not understand" in await chat.reply("300")  # the question is over


async def test_balance_and_status(harness: Harness) -> None:
    chat = harness.chat(1001)
    await chat.send("/start")
    await chat.send("/deposit 1000")
    balance = await chat.reply("/balance")
    assert "Balance (paper)" in balance and "USDT: free 10,000.00, in orders 0.00, total 10,000.00" in balance
    assert "Deposit: 1,000.00 USDT" in balance and "In positions: 0.00 USDT" in balance
    status = await chat.reply("/status")
    assert "Trading: off" in status and "Mode: paper" in status and "Open positions: 0" in status
    assert "Last trading cycle: never" in status


async def test_trade_on_and_off_with_positions(harness: Harness) -> None:
    chat = harness.chat(1001)
    await chat.send("/start")
    assert "Set your deposit first" in await chat.reply("/trade_on")
    await chat.send("/deposit 1000")
    assert "Trading is on" in await chat.reply("/trade_on")
    assert "already on" in await chat.reply("/trade_on")
    user = await harness.user(1001)
    assert user is not None and user.trading_enabled
    await add_position(harness.sessionmaker, user)
    question = (await chat.send("/trade_off"))[0]
    assert "Keep managing exits" in str(question["buttons"])
    replies = await chat.press(question, "Keep managing exits")
    assert "keep their stops" in replies[-1]["text"]
    user = await harness.user(1001)
    assert user is not None and not user.trading_enabled and user.exits_only
    status = await chat.reply("/status")
    assert "still managing exits" in status and "Open positions: 1" in status


async def test_trade_off_closing_everything(harness: Harness) -> None:
    chat = harness.chat(1001)
    await chat.send("/start")
    await chat.send("/deposit 1000")
    await chat.send("/trade_on")
    user = await harness.user(1001)
    assert user is not None
    await add_position(harness.sessionmaker, user, "BTC/USDT")
    await add_position(harness.sessionmaker, user, "ETH/USDT", amount="0.5", entry="3000")
    question = (await chat.send("/trade_off"))[0]
    replies = await chat.press(question, "Close all positions")
    assert "Closed 2 positions" in replies[-1]["text"]
    async with harness.sessionmaker() as session:
        statuses = set(await session.scalars(select(Position.status).where(Position.user_id == user.id)))
    assert statuses == {PositionStatus.closed}


async def test_positions_and_manual_close(harness: Harness) -> None:
    chat = harness.chat(1001)
    await chat.send("/start")
    user = await harness.user(1001)
    assert user is not None
    position_id = await add_position(harness.sessionmaker, user, amount="0.01", entry="50000")
    listing = (await chat.send("/positions"))[0]
    assert "BTC/USDT long: 0.01 @ 50,000" in listing["text"] and "stop 47,500" in listing["text"]
    assert "P&L" in listing["text"] and "unknown" not in listing["text"]  # priced by the sandbox exchange
    confirm = (await chat.press(listing, "Close BTC/USDT"))[0]
    assert "Close BTC/USDT (0.01) at market now?" in confirm["text"]
    assert "Kept" in (await chat.press(confirm, "No, keep it"))[0]["text"]
    done = (await chat.press(confirm, "Yes, close at market"))[0]["text"]
    assert done.startswith("Closed BTC/USDT: sold 0.01 at ")
    price = await harness.deps.prices.last_price("BTC/USDT")
    assert price is not None
    async with harness.sessionmaker() as session:
        position = await session.get(Position, position_id)
        usdt = await session.scalar(
            select(PaperBalance.free).where(PaperBalance.user_id == user.id, PaperBalance.currency == "USDT")
        )
    assert (
        position is not None and position.status == PositionStatus.closed and position.exit_reason == "manual"
    )
    proceeds = price * Decimal("0.01")
    assert usdt == Decimal(10000) + proceeds - (proceeds * Decimal("0.001")).quantize(
        Decimal("1e-8"), "ROUND_CEILING"
    )
    # pressing the old confirmation again changes nothing
    assert "not found or is already closed" in (await chat.press(confirm, "Yes, close at market"))[0]["text"]


async def test_many_positions_do_not_overflow_one_message(harness: Harness) -> None:
    """50 open positions (the most the settings allow) list past Telegram's 4096-character limit: the
    listing comes in several messages, every position in it, the close buttons with the last one."""
    chat = harness.chat(1003)
    await chat.send("/start")
    user = await harness.user(1003)
    assert user is not None
    ids = [await add_position(harness.sessionmaker, user) for _ in range(50)]
    replies = await chat.send("/positions", count=2)
    assert all(len(r["text"]) <= 4096 for r in replies)
    text = "\n".join(r["text"] for r in replies)
    assert text.count("BTC/USDT long: 0.01 @ 50,000") == 50
    buttons = [b["callback_data"] for row in replies[-1]["buttons"] for b in row]
    assert len(buttons) == 50 and len(ids) == 50
    assert "Something went wrong" not in text


async def test_settings_by_buttons_and_by_text(harness: Harness) -> None:
    chat = harness.chat(1001)
    await chat.send("/start")
    menu = (await chat.send("/settings"))[0]
    assert "Risk per trade: 1%" in menu["text"]
    presets = (await chat.press(menu, "Risk per trade"))[0]
    assert "between 0.1% and 10%" in presets["text"]
    assert "Risk per trade set to 2%" in (await chat.press(presets, "2%"))[0]["text"]
    await chat.press(menu, "Max open positions")
    assert "whole number" in await chat.reply("2.5")
    assert "between 1 and 50" in await chat.reply("80")
    assert "Max open positions set to 7" in await chat.reply("7")
    strategies = (await chat.press(menu, "Strategies"))[0]
    assert "✅ sma_cross" in str(strategies["buttons"])
    other = next(
        b["text"].split(" ", 1)[1] for row in strategies["buttons"] for b in row if b["text"].startswith("▫")
    )
    assert f"{other} is on" in (await chat.press(strategies, other))[0]["text"]
    user = await harness.user(1001)
    assert user is not None
    assert (user.risk_per_trade_pct, user.max_open_positions) == (Decimal(2), 7)
    assert set(user.strategies) == {"sma_cross", other}
    assert f"{other} is off" in (await chat.press(strategies, other))[0]["text"]
    assert "At least one strategy must stay enabled" in (await chat.press(strategies, "sma_cross"))[0]["text"]
    user = await harness.user(1001)
    assert user is not None and user.strategies == ["sma_cross"]


async def test_pnl_sends_a_chart(harness: Harness) -> None:
    chat = harness.chat(1001)
    await chat.send("/start")
    user = await harness.user(1001)
    assert user is not None
    await add_history(harness.sessionmaker, user)
    replies = await chat.send("/pnl week", count=2)
    photo = replies[0]
    assert photo["photo"] is not None
    assert (
        "P&L for the last 7 days" in photo["text"]
        and "Realised: +12.50 USDT (1 closed trades)" in photo["text"]
    )
    png = await harness.tg.file_bytes(photo["photo"]["file_id"])
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    fresh = harness.chat(1003)
    await fresh.send("/start")
    assert "No equity history yet" in await fresh.reply("/pnl all")
    assert "Choose a period" in await chat.reply("/pnl yesterday")


async def test_language_switch(harness: Harness) -> None:
    chat = harness.chat(1001)
    await chat.send("/start")
    picker = (await chat.send("/lang"))[0]
    assert (await chat.press(picker, "Русский"))[0]["text"] == "Язык: русский."
    assert "Команды:" in await chat.reply("/help")
    assert (await chat.press(picker, "English"))[0]["text"] == "Language set to English."


async def test_mode_live_needs_keys(harness: Harness) -> None:
    chat = harness.chat(1001)
    await chat.send("/start")
    picker = (await chat.send("/mode"))[0]
    assert "needs valid exchange keys" in (await chat.press(picker, "Live"))[0]["text"]
    assert "already in paper mode" in (await chat.press(picker, "Paper"))[0]["text"]
    user = await harness.user(1001)
    assert user is not None and user.mode == "paper"


async def test_double_pressed_close_closes_once(harness: Harness) -> None:
    chat = harness.chat(1001)
    await chat.send("/start")
    user = await harness.user(1001)
    assert user is not None
    position_id = await add_position(harness.sessionmaker, user)
    listing = (await chat.send("/positions"))[0]
    confirm = (await chat.press(listing, "Close BTC/USDT"))[0]
    data = next(b["callback_data"] for row in confirm["buttons"] for b in row if b["text"].startswith("Yes"))
    after = await chat.newest()
    await harness.tg.press(1001, confirm["message_id"], data)
    await harness.tg.press(1001, confirm["message_id"], data)
    texts = sorted(m["text"] for m in await harness.tg.wait_messages(1001, after_id=after, count=2))
    assert texts[0].startswith("Closed BTC/USDT") and "already closed" in texts[1]
    async with harness.sessionmaker() as session:
        sells = await session.scalar(select(func.count(Order.id)).where(Order.position_id == position_id))
    assert sells == 1
