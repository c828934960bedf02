"""Whatever no feature router took: unknown commands, stray text, and stale or forged buttons."""

from __future__ import annotations

import contextlib

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.keyboards import main_menu
from bot.reply import Reply
from core.services.keys import looks_like_secret
from core.vault import REDACTOR


def make_router() -> Router:
    router = Router(name="fallback")

    @router.message(F.text.startswith("/"))
    async def unknown_command(message: Message, reply: Reply) -> None:
        await reply.text(_("Unknown command. Send /help to see what I can do."))

    @router.message()
    async def stray(message: Message, reply: Reply) -> None:
        if looks_like_secret(message.text):
            # a key pasted outside the /keys steps must not stay in the chat history
            REDACTOR.remember((message.text or "").strip())
            with contextlib.suppress(TelegramAPIError):
                await message.delete()
            await reply.text(
                _("That looked like an API key or secret, so I deleted it. To add keys, use /keys."),
                main_menu(),
            )
            return
        await reply.text(_("I did not understand that. Use the menu or /help."), main_menu())

    @router.callback_query()
    async def stale_button(cb: CallbackQuery, reply: Reply) -> None:
        text = _("This button is not valid (any more). Open the menu again with /start.")
        await cb.answer(text)
        await reply.text(text)

    return router
