"""/pnl [day|week|month|all]: realised and unrealised P&L, with a PNG equity chart."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import MenuCB, PnlCB
from bot.charts import equity_png
from bot.deps import BotDeps
from bot.reply import Reply
from core.db.models import User
from core.services.deposit import signed
from core.services.parsing import Period, parse_period
from core.services.pnl import pnl_summary


def period_name(period: Period) -> str:
    return {
        Period.day: _("today"),
        Period.week: _("the last 7 days"),
        Period.month: _("the last 30 days"),
        Period.all: _("all time"),
    }[period]


def periods_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for period in Period:
        builder.button(text=period_name(period), callback_data=PnlCB(period=period.value))
    builder.adjust(4)
    return builder.as_markup()


async def show_pnl(reply: Reply, session: AsyncSession, user: User, deps: BotDeps, period: Period) -> None:
    summary = await pnl_summary(session, user.id, period, deps.prices, base=user.deposit or Decimal(0))
    lines = [
        _("P&L for {period}:").format(period=period_name(period)),
        _("Realised: {pnl} {quote} ({count} closed trades)").format(
            pnl=signed(summary.realized), quote=deps.quote, count=summary.closed_trades
        ),
        _("Unrealised: {pnl} {quote}").format(pnl=signed(summary.unrealized), quote=deps.quote),
    ]
    if summary.unpriced:
        lines.append(
            _("{count} open positions have no current price and are not counted.").format(
                count=summary.unpriced
            )
        )
    text = "\n".join(lines)
    if len(summary.equity) < 2:
        await reply.text(text + "\n" + _("No equity history yet for a chart."), periods_keyboard())
        return
    title = _("Equity, {period}").format(period=period_name(period))
    png = await asyncio.to_thread(equity_png, summary.equity, title, deps.quote)
    await reply.photo(png, text, filename="pnl.png")
    await reply.text(_("Other periods:"), periods_keyboard())


def make_router() -> Router:
    router = Router(name="pnl")

    @router.message(Command("pnl"))
    async def cmd_pnl(
        message: Message,
        command: CommandObject,
        reply: Reply,
        session: AsyncSession,
        user: User,
        deps: BotDeps,
    ) -> None:
        await show_pnl(reply, session, user, deps, parse_period(command.args))

    @router.callback_query(MenuCB.filter(F.cmd == "pnl"))
    async def menu_pnl(
        cb: CallbackQuery, reply: Reply, session: AsyncSession, user: User, deps: BotDeps
    ) -> None:
        await cb.answer()
        await show_pnl(reply, session, user, deps, Period.day)

    @router.callback_query(PnlCB.filter())
    async def pick(
        cb: CallbackQuery,
        callback_data: PnlCB,
        reply: Reply,
        session: AsyncSession,
        user: User,
        deps: BotDeps,
    ) -> None:
        await cb.answer()
        await show_pnl(reply, session, user, deps, parse_period(callback_data.period))

    return router
