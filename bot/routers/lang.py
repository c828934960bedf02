"""/lang: English or Russian."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import LangCB, MenuCB
from bot.keyboards import main_menu
from bot.reply import Reply
from core.db.models import User
from core.services.users import set_language

NAMES = {"en": "English", "ru": "Русский"}


def languages_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code, name in NAMES.items():
        builder.button(text=name, callback_data=LangCB(code=code))
    return builder.as_markup()


def make_router() -> Router:
    router = Router(name="lang")

    @router.message(Command("lang"))
    async def cmd_lang(message: Message, reply: Reply) -> None:
        await reply.text(_("Choose your language:"), languages_keyboard())

    @router.callback_query(MenuCB.filter(F.cmd == "lang"))
    async def menu_lang(cb: CallbackQuery, reply: Reply) -> None:
        await cb.answer()
        await reply.text(_("Choose your language:"), languages_keyboard())

    @router.callback_query(LangCB.filter())
    async def choose(
        cb: CallbackQuery, callback_data: LangCB, reply: Reply, session: AsyncSession, user: User, i18n: I18n
    ) -> None:
        await cb.answer()
        set_language(user, callback_data.code)
        await session.commit()
        with i18n.use_locale(user.language):
            await reply.text(_("Language set to English."), main_menu())

    return router
