"""Callback data factories. Every handler re-checks ownership: data can be forged by any client."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class MenuCB(CallbackData, prefix="m"):
    cmd: str


class KeysCB(CallbackData, prefix="k"):
    action: str  # add | pick | del | delok | cancel
    exchange: str = ""
    account: int = 0


class ModeCB(CallbackData, prefix="md"):
    mode: str
    confirm: bool = False


class PosCB(CallbackData, prefix="p"):
    action: str  # ask | close | keep
    id: int


class TradeOffCB(CallbackData, prefix="to"):
    choice: str  # close | keep | cancel


class SetCB(CallbackData, prefix="s"):
    action: str  # pick | set | strategies | strat | back
    name: str = ""
    value: str = ""


class LangCB(CallbackData, prefix="l"):
    code: str


class PnlCB(CallbackData, prefix="pn"):
    period: str
