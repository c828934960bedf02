"""One user can never act on another's keys, positions or settings: forged callback data with the
other user's ids gets a clear refusal and changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.callbacks import KeysCB, LangCB, ModeCB, PosCB, SetCB, TradeOffCB
from core.db.models import ExchangeAccount, Position, PositionStatus
from tests.bot.conftest import Harness
from tests.bot.helpers import add_position
from tests.bot.test_keys import API_KEY, SECRET, start_onboarding

pytestmark = pytest.mark.telegram_limits(off=True)


async def test_forged_callbacks_with_another_users_ids_change_nothing(harness: Harness) -> None:
    await harness.exchange.create_account(API_KEY, SECRET, {"USDT": "100"})
    alice, mallory = harness.chat(3001), harness.chat(3002)
    await start_onboarding(alice)
    await alice.send(API_KEY)
    await alice.send(SECRET, count=2)
    alice_user = await harness.user(3001)
    assert alice_user is not None
    position_id = await add_position(harness.sessionmaker, alice_user)
    async with harness.sessionmaker() as session:
        account_id = await session.scalar(select(ExchangeAccount.id))
    assert account_id is not None

    menu = (await mallory.send("/start"))[0]
    forged = {
        PosCB(action="ask", id=position_id).pack(): "not found or is already closed",
        PosCB(action="close", id=position_id).pack(): "not found or is already closed",
        KeysCB(action="del", account=account_id).pack(): "keys were not found",
        KeysCB(action="delok", account=account_id).pack(): "keys were not found",
        KeysCB(action="pick", exchange="kraken").pack(): "Unknown exchange",
        ModeCB(mode="live", confirm=True).pack(): "needs valid exchange keys",
        ModeCB(mode="margin").pack(): "Unknown mode",
        SetCB(action="set", name="max_open_positions", value="9999").pack(): "between 1 and 50",
        SetCB(action="set", name="deposit", value="1").pack(): "Unknown setting",
        SetCB(action="strat", name="martingale").pack(): "Unknown strategy",
        LangCB(code="de").pack(): "Unknown language",
        TradeOffCB(choice="sell_everything").pack(): "not valid",
        "p:close:not-a-number": "not valid",
        "totally:random": "not valid",
    }
    for data, expected in forged.items():
        replies = await mallory.press(menu, data=data, forge=True)
        assert expected in replies[-1]["text"], (data, replies[-1]["text"])

    async with harness.sessionmaker() as session:
        position = await session.get(Position, position_id)
        account = await session.get(ExchangeAccount, account_id)
    assert (
        position is not None and position.status == PositionStatus.open and position.amount == Decimal("0.01")
    )
    assert account is not None and account.user_id == alice_user.id
    mallory_user = await harness.user(3002)
    assert mallory_user is not None
    assert (mallory_user.mode, mallory_user.language, mallory_user.max_open_positions) == ("paper", "en", 5)
    # and Alice's view is her own: Mallory sees none of it
    assert "no open positions" in await mallory.reply("/positions")
    assert "no exchange keys" in await mallory.reply("/keys")
    assert "BTC/USDT" in await alice.reply("/positions")
