"""FSM states for multi-step input."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class KeysForm(StatesGroup):
    api_key = State()
    secret = State()
    passphrase = State()


class DepositForm(StatesGroup):
    amount = State()


class SettingForm(StatesGroup):
    value = State()
