"""/trade_on and /trade_off (which asks whether to close open positions or keep managing exits)."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import MenuCB, TradeOffCB
from bot.deps import BotDeps
from bot.reply import Reply
from bot.texts import error_text
from core.db.models import User
from core.services.errors import UserError
from core.services.l10n import N_
from core.services.positions import open_positions, owned_open_position
from core.services.users import open_position_count, trade_off, trade_on

log = logging.getLogger(__name__)


async def turn_on(reply: Reply, session: AsyncSession, user: User) -> None:
    if user.trading_enabled:
        await reply.text(_("Trading is already on."))
        return
    await trade_on(session, user)
    await session.commit()
    await reply.text(_("Trading is on. I will report every fill and exit here."))


async def turn_off(reply: Reply, session: AsyncSession, user: User) -> None:
    if await open_position_count(session, user.id) == 0:
        trade_off(user, keep_exits=False)
        await session.commit()
        await reply.text(_("Trading is off."))
        return
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Close all positions"), callback_data=TradeOffCB(choice="close"))
    builder.button(text=_("Keep managing exits"), callback_data=TradeOffCB(choice="keep"))
    builder.button(text=_("Cancel"), callback_data=TradeOffCB(choice="cancel"))
    builder.adjust(1)
    await reply.text(
        _(
            "You have open positions. Close them all now, or keep managing their stops and targets without "
            "opening new ones?"
        ),
        builder.as_markup(),
    )


def make_router() -> Router:
    router = Router(name="trading")

    @router.message(Command("trade_on"))
    async def cmd_on(message: Message, reply: Reply, session: AsyncSession, user: User) -> None:
        await turn_on(reply, session, user)

    @router.callback_query(MenuCB.filter(F.cmd == "trade_on"))
    async def menu_on(cb: CallbackQuery, reply: Reply, session: AsyncSession, user: User) -> None:
        await cb.answer()
        await turn_on(reply, session, user)

    @router.message(Command("trade_off"))
    async def cmd_off(message: Message, reply: Reply, session: AsyncSession, user: User) -> None:
        await turn_off(reply, session, user)

    @router.callback_query(MenuCB.filter(F.cmd == "trade_off"))
    async def menu_off(cb: CallbackQuery, reply: Reply, session: AsyncSession, user: User) -> None:
        await cb.answer()
        await turn_off(reply, session, user)

    @router.callback_query(TradeOffCB.filter())
    async def off_choice(
        cb: CallbackQuery,
        callback_data: TradeOffCB,
        reply: Reply,
        session: AsyncSession,
        user: User,
        deps: BotDeps,
    ) -> None:
        await cb.answer()
        if callback_data.choice == "cancel":
            await reply.text(_("Cancelled. Nothing changed."))
            return
        if callback_data.choice == "keep":
            trade_off(user, keep_exits=True)
            await session.commit()
            await reply.text(
                _("Trading is off. Open positions keep their stops and targets until they close.")
            )
            return
        if callback_data.choice != "close":
            raise UserError(N_("This button is not valid."))
        trade_off(user, keep_exits=False)
        await session.commit()
        closed, failed = 0, []
        for position_id in [p.id for p in await open_positions(session, user.id)]:
            symbol = "?"
            try:
                position = await owned_open_position(session, user.id, position_id)
                symbol = position.symbol
                await deps.closer.close(session, user, position)
                await session.commit()
                closed += 1
            except UserError as err:
                await session.rollback()
                await session.refresh(user)
                failed.append(f"{symbol}: {error_text(err)}")
        lines = [_("Trading is off. Closed {count} positions.").format(count=closed)]
        if failed:
            lines.append(_("Could not close:"))
            lines += failed
        await reply.text("\n".join(lines))

    return router
