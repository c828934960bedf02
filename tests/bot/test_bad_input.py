"""Bad input end to end: a clear localised reply, and nothing changes. Plus the per-user throttle."""

from __future__ import annotations

import pytest

from tests.bot.conftest import Harness

pytestmark = pytest.mark.telegram_limits(off=True)


async def test_strangers_are_pointed_to_start(harness: Harness) -> None:
    chat = harness.chat(5001, "ru")
    assert await chat.reply("/balance") == "Добро пожаловать! Отправьте /start, чтобы начать."
    assert await harness.user(5001) is None


async def test_unknown_commands_and_stray_text(harness: Harness) -> None:
    chat = harness.chat(5002)
    await chat.send("/start")
    assert "Unknown command" in await chat.reply("/sudo")
    assert "I did not understand" in await chat.reply("buy me some bitcoin")
    ru = harness.chat(5003, "ru")
    await ru.send("/start")
    assert "Неизвестная команда" in await ru.reply("/sudo")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/deposit -5", "is not an amount"),
        ("/deposit 0", "greater than zero"),
        ("/deposit 1e9", "is not an amount"),
        ("/deposit 10.123456789", "is not an amount"),
        ("/deposit 99999999999999", "is not an amount"),
        ("/deposit NaN", "is not an amount"),
        ("/pnl forever", "Choose a period"),
    ],
)
async def test_bad_arguments_change_nothing(harness: Harness, text: str, expected: str) -> None:
    chat = harness.chat(5004)
    await chat.send("/start")
    assert expected in await chat.reply(text)
    user = await harness.user(5004)
    assert user is not None and user.deposit is None


async def test_russian_errors_are_translated(harness: Harness) -> None:
    chat = harness.chat(5005, "ru")
    await chat.send("/start")
    assert await chat.reply("/deposit abc") == "«abc» — не сумма. Отправьте число, например 500 или 250.5."


@pytest.mark.throttle(throttle_rate=0.2, throttle_burst=3)
async def test_commands_are_throttled_per_user(harness: Harness) -> None:
    neighbour = harness.chat(5007)
    first = await harness.tg.send_text(5006, "/start", "en")
    for _ in range(6):
        await harness.tg.send_text(5006, "/status", "en")
    replies = await harness.tg.wait_messages(5006, after_id=first, timeout=5, count=4)
    texts = [r["text"] for r in replies]
    assert texts.count("Too many requests. Please wait a few seconds.") == 1
    # the neighbour is not slowed down by the spammer
    assert "virtual balance" in await neighbour.reply("/start")
    # burst of 3 handled (start + 2 status), one notice, the rest dropped
    settled = await harness.tg.wait_messages(5006, after_id=first, timeout=1, count=10)
    assert len(settled) == 4


async def test_a_secret_pasted_outside_the_key_steps_is_deleted(harness: Harness) -> None:
    chat = harness.chat(5010)
    await chat.send("/start")
    secret = "Zq8fK2mP9xR4tV7wY1bN3cD6eG0hJ5kL8nQ2sU4v"
    assert "looked like an API key or secret" in await chat.reply(secret)
    assert secret in [m.get("text") for m in await harness.tg.deleted(5010)]
    shown = [m.get("text") or "" for m in await chat.all_messages()]
    assert not any(secret in text for text in shown)
    # ordinary words are not mistaken for keys
    assert "I did not understand" in await chat.reply("hello there, what can you do")


@pytest.mark.parametrize("question", ["/deposit", "/settings"])
async def test_a_secret_sent_as_an_answer_is_deleted_not_echoed(harness: Harness, question: str) -> None:
    """Pasting a key where an amount or a setting is expected: the "not a number" reply would quote
    it back; instead it is deleted, nothing changes, and the question stays open."""
    chat = harness.chat(5011)
    await chat.send("/start")
    asked = (await chat.send(question))[0]
    if question == "/settings":
        await chat.press(asked, "Max open positions")
    secret = "Zq8fK2mP9xR4tV7wY1bN3cD6eG0hJ5kL8nQ2sU4v"
    assert "looked like an API key or secret" in await chat.reply(secret)
    assert secret in [m.get("text") for m in await harness.tg.deleted(5011)]
    assert not any(secret[:12] in (m.get("text") or "") for m in await chat.all_messages())
    user = await harness.user(5011)
    assert user is not None and user.deposit is None and user.max_open_positions == 5
    # the question is still open: a proper answer is taken
    if question == "/deposit":
        assert "Deposit set to 500.00 USDT" in await chat.reply("500")
    else:
        assert "Max open positions set to 7" in await chat.reply("7")
