"""/status: trading on/off, mode, deposit, positions, today's P&L, the last cycle, warnings."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import MenuCB
from bot.deps import BotDeps
from bot.reply import Reply
from bot.routers.mode import mode_name
from bot.texts import money, when
from core.db.models import User
from core.services.deposit import signed
from core.services.status import user_status


async def show_status(reply: Reply, session: AsyncSession, user: User, deps: BotDeps) -> None:
    view = await user_status(session, user)
    if view.trading:
        trading = _("on")
    elif view.exits_only:
        trading = _("off (still managing exits of open positions)")
    else:
        trading = _("off")
    lines = [
        _("Trading: {state}").format(state=trading),
        _("Mode: {mode}").format(mode=mode_name(view.mode)),
        _("Deposit: {amount}").format(
            amount=f"{money(view.deposit)} {deps.quote}" if view.deposit is not None else _("not set")
        ),
        _("Open positions: {count}").format(count=view.open_positions),
        _("Today's realised P&L: {pnl} {quote}").format(pnl=signed(view.realized_today), quote=deps.quote),
        _("Last trading cycle: {time}").format(time=when(view.last_cycle)),
    ]
    if view.warnings:
        lines.append("")
        lines.append(_("Needs your attention:"))
        lines += [f"⚠ {_(msgid).format(**params)}" for msgid, params in view.warnings]
    await reply.text("\n".join(lines))


def make_router() -> Router:
    router = Router(name="status")

    @router.message(Command("status"))
    async def cmd_status(
        message: Message, reply: Reply, session: AsyncSession, user: User, deps: BotDeps
    ) -> None:
        await show_status(reply, session, user, deps)

    @router.callback_query(MenuCB.filter(F.cmd == "status"))
    async def menu_status(
        cb: CallbackQuery, reply: Reply, session: AsyncSession, user: User, deps: BotDeps
    ) -> None:
        await cb.answer()
        await show_status(reply, session, user, deps)

    return router
