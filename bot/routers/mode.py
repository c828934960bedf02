"""/mode: paper or live; live needs valid keys and a confirmation."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import MenuCB, ModeCB
from bot.reply import Reply
from core.db.models import Mode, User
from core.services.errors import UserError
from core.services.l10n import N_
from core.services.users import has_valid_keys, set_mode


def mode_name(mode: Mode) -> str:
    return _("paper") if mode == Mode.paper else _("live")


async def show_mode(reply: Reply, user: User) -> None:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Paper"), callback_data=ModeCB(mode="paper"))
    builder.button(text=_("Live"), callback_data=ModeCB(mode="live"))
    await reply.text(
        _(
            "Mode: {mode}. Paper trades a virtual balance on real prices; live trades your exchange account."
        ).format(mode=mode_name(user.mode)),
        builder.as_markup(),
    )


def make_router() -> Router:
    router = Router(name="mode")

    @router.message(Command("mode"))
    async def cmd_mode(message: Message, reply: Reply, user: User) -> None:
        await show_mode(reply, user)

    @router.callback_query(MenuCB.filter(F.cmd == "mode"))
    async def menu_mode(cb: CallbackQuery, reply: Reply, user: User) -> None:
        await cb.answer()
        await show_mode(reply, user)

    @router.callback_query(ModeCB.filter())
    async def choose(
        cb: CallbackQuery, callback_data: ModeCB, reply: Reply, session: AsyncSession, user: User
    ) -> None:
        await cb.answer()
        if callback_data.mode == "cancel":
            await reply.text(_("Cancelled."))
            return
        if callback_data.mode not in (Mode.paper, Mode.live):
            raise UserError(N_("Unknown mode."))
        target = Mode(callback_data.mode)
        if target == user.mode:
            await reply.text(_("You are already in {mode} mode.").format(mode=mode_name(target)))
            return
        if target == Mode.live and not callback_data.confirm:
            if not await has_valid_keys(session, user.id):
                raise UserError(N_("Live mode needs valid exchange keys. Add them with /keys first."))
            builder = InlineKeyboardBuilder()
            builder.button(text=_("Yes, trade real money"), callback_data=ModeCB(mode="live", confirm=True))
            builder.button(text=_("Cancel"), callback_data=ModeCB(mode="cancel"))
            await reply.text(
                _(
                    "Live mode places real orders with your money on the exchange. Trading stays off until "
                    "you send /trade_on. Switch to live?"
                ),
                builder.as_markup(),
            )
            return
        await set_mode(session, user, target)
        await session.commit()
        await reply.text(
            _("Mode is now {mode}. Trading is off; send /trade_on to start.").format(mode=mode_name(target))
        )

    return router
