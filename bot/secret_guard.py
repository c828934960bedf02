"""A message that looks like an API key or secret, sent where no key is expected (stray text, or the
answer to a deposit or settings question), is deleted and never echoed back in an error reply."""

from __future__ import annotations

import contextlib

from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.keyboards import main_menu
from bot.reply import Reply
from core.services.keys import looks_like_secret
from core.vault import REDACTOR


async def delete_if_secret(message: Message, reply: Reply) -> bool:
    """True when the message looked like a key and was taken out of the chat (the caller stops there)."""
    if not looks_like_secret(message.text):
        return False
    REDACTOR.remember((message.text or "").strip())
    with contextlib.suppress(TelegramAPIError):
        await message.delete()
    await reply.text(
        _("That looked like an API key or secret, so I deleted it. To add keys, use /keys."), main_menu()
    )
    return True
