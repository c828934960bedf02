"""Inline keyboards shared by several routers."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import MenuCB
from bot.commands import MENU_BUTTONS


def main_menu() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for name, label in MENU_BUTTONS:
        builder.button(text=_(label), callback_data=MenuCB(cmd=name))
    builder.adjust(3)
    return builder.as_markup()


def single(text: str, callback_data: object) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=text, callback_data=callback_data)  # type: ignore[arg-type]
    return builder.as_markup()
