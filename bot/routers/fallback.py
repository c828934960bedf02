"""Whatever no feature router took: unknown commands, stray text, and stale or forged buttons."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.commands import COMMAND_RE
from bot.keyboards import main_menu
from bot.reply import Reply
from bot.secret_guard import delete_if_secret


def make_router() -> Router:
    router = Router(name="fallback")

    @router.message(F.text.regexp(COMMAND_RE))
    async def unknown_command(message: Message, reply: Reply) -> None:
        await reply.text(_("Unknown command. Send /help to see what I can do."))

    @router.message()
    async def stray(message: Message, reply: Reply) -> None:
        if await delete_if_secret(message, reply):  # a key pasted outside the /keys steps
            return
        await reply.text(_("I did not understand that. Use the menu or /help."), main_menu())

    @router.callback_query()
    async def stale_button(cb: CallbackQuery, reply: Reply) -> None:
        text = _("This button is not valid (any more). Open the menu again with /start.")
        await cb.answer(text)
        await reply.text(text)

    return router
