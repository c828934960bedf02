"""/positions: open positions with entry, price, unrealised P&L, stop and targets; close by hand."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import MenuCB, PosCB
from bot.deps import BotDeps
from bot.reply import Reply
from bot.texts import price
from core.db.models import User
from core.services.deposit import signed
from core.services.positions import owned_open_position, position_views


def _targets(targets: list[Any]) -> str:
    parts = []
    for t in targets or []:
        if isinstance(t, dict) and "price" in t:
            mark = "✓" if t.get("done") else ""
            parts.append(f"{t['price']}{mark}")
    return ", ".join(parts) or "—"


async def show_positions(reply: Reply, session: AsyncSession, user: User, deps: BotDeps) -> None:
    views = await position_views(session, user.id, deps.prices)
    if not views:
        await reply.text(_("You have no open positions."))
        return
    lines = [_("Open positions:")]
    builder = InlineKeyboardBuilder()
    for v in views:
        p = v.position
        pnl = _("unknown") if v.unrealized is None else f"{signed(v.unrealized)} {deps.quote}"
        lines.append(
            _(
                "{symbol} {side}: {amount} @ {entry}, now {price}, P&L {pnl}, stop {stop}, targets {targets}"
            ).format(
                symbol=p.symbol,
                side=p.side,
                amount=format(p.amount.normalize(), "f"),
                entry=price(p.entry_price),
                price=price(v.price),
                pnl=pnl,
                stop=price(p.stop_price),
                targets=_targets(p.targets),
            )
        )
        builder.button(
            text=_("Close {symbol}").format(symbol=p.symbol), callback_data=PosCB(action="ask", id=p.id)
        )
    builder.adjust(1)
    await reply.text("\n".join(lines), builder.as_markup())


def make_router() -> Router:
    router = Router(name="positions")

    @router.message(Command("positions"))
    async def cmd_positions(
        message: Message, reply: Reply, session: AsyncSession, user: User, deps: BotDeps
    ) -> None:
        await show_positions(reply, session, user, deps)

    @router.callback_query(MenuCB.filter(F.cmd == "positions"))
    async def menu_positions(
        cb: CallbackQuery, reply: Reply, session: AsyncSession, user: User, deps: BotDeps
    ) -> None:
        await cb.answer()
        await show_positions(reply, session, user, deps)

    @router.callback_query(PosCB.filter(F.action == "ask"))
    async def ask_close(
        cb: CallbackQuery, callback_data: PosCB, reply: Reply, session: AsyncSession, user: User
    ) -> None:
        await cb.answer()
        position = await owned_open_position(session, user.id, callback_data.id)
        builder = InlineKeyboardBuilder()
        builder.button(text=_("Yes, close at market"), callback_data=PosCB(action="close", id=position.id))
        builder.button(text=_("No, keep it"), callback_data=PosCB(action="keep", id=position.id))
        await reply.text(
            _("Close {symbol} ({amount}) at market now?").format(
                symbol=position.symbol, amount=format(position.amount.normalize(), "f")
            ),
            builder.as_markup(),
        )

    @router.callback_query(PosCB.filter(F.action == "keep"))
    async def keep(cb: CallbackQuery, reply: Reply) -> None:
        await cb.answer()
        await reply.text(_("Kept. Stops and targets still apply."))

    @router.callback_query(PosCB.filter(F.action == "close"))
    async def close(
        cb: CallbackQuery,
        callback_data: PosCB,
        reply: Reply,
        session: AsyncSession,
        user: User,
        deps: BotDeps,
    ) -> None:
        await cb.answer()
        position = await owned_open_position(session, user.id, callback_data.id)
        result = await deps.closer.close(session, user, position)
        await session.commit()
        await reply.text(
            _("Closed {symbol}: sold {amount} at {price}. P&L {pnl} {quote}.").format(
                symbol=result.symbol,
                amount=format(result.amount.normalize(), "f"),
                price=price(result.price),
                pnl=signed(result.pnl),
                quote=deps.quote,
            )
        )

    return router
