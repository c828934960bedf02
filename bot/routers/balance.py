"""/balance: balances (free, in orders, total) and their value, the deposit, and what is in positions."""

from __future__ import annotations

from decimal import Decimal

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import MenuCB
from bot.deps import BotDeps
from bot.reply import Reply
from bot.routers.mode import mode_name
from bot.texts import money
from core.db.models import User
from core.services.balances import user_balance
from core.services.positions import position_views


async def show_balance(reply: Reply, session: AsyncSession, user: User, deps: BotDeps) -> None:
    view = await user_balance(
        session,
        user,
        vault=deps.vault,
        factory=deps.client_factory,
        api_url=deps.settings.exchange_api_url,
        prices=deps.prices,
        quote=deps.quote,
    )
    if view.exchange:
        head = _("Balance ({mode}, {exchange}):").format(mode=mode_name(view.mode), exchange=view.exchange)
    else:
        head = _("Balance ({mode}):").format(mode=mode_name(view.mode))
    lines = [head]
    for a in view.assets:
        value = money(a.value) if a.value is not None else _("no price")
        lines.append(
            _("{currency}: free {free}, in orders {used}, total {total} (≈ {value} {quote})").format(
                currency=a.currency,
                free=money(a.free, 8 if a.currency != deps.quote else 2),
                used=money(a.used, 8 if a.currency != deps.quote else 2),
                total=money(a.total, 8 if a.currency != deps.quote else 2),
                value=value,
                quote=deps.quote,
            )
        )
    if not view.assets:
        lines.append(_("No funds."))
    in_positions = Decimal(0)
    for pv in await position_views(session, user.id, deps.prices):
        in_positions += pv.position.amount * (pv.price if pv.price is not None else pv.position.entry_price)
    lines.append(_("Total value: {value} {quote}").format(value=money(view.total_value), quote=deps.quote))
    lines.append(
        _("Deposit: {amount}").format(
            amount=f"{money(user.deposit)} {deps.quote}" if user.deposit is not None else _("not set")
        )
    )
    lines.append(_("In positions: {value} {quote}").format(value=money(in_positions), quote=deps.quote))
    await reply.text("\n".join(lines))


def make_router() -> Router:
    router = Router(name="balance")

    @router.message(Command("balance"))
    async def cmd_balance(
        message: Message, reply: Reply, session: AsyncSession, user: User, deps: BotDeps
    ) -> None:
        await show_balance(reply, session, user, deps)

    @router.callback_query(MenuCB.filter(F.cmd == "balance"))
    async def menu_balance(
        cb: CallbackQuery, reply: Reply, session: AsyncSession, user: User, deps: BotDeps
    ) -> None:
        await cb.answer()
        await show_balance(reply, session, user, deps)

    return router
