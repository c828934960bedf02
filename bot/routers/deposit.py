"""/deposit [amount]: the capital the bot may use, in the quote currency."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import MenuCB
from bot.deps import BotDeps
from bot.reply import Reply
from bot.secret_guard import delete_if_secret
from bot.states import DepositForm
from bot.texts import money
from core.db.models import User
from core.services.balances import user_balance
from core.services.deposit import set_deposit, validate_deposit
from core.services.parsing import parse_amount


async def apply_deposit(text: str, reply: Reply, session: AsyncSession, user: User, deps: BotDeps) -> None:
    amount = parse_amount(text, deps.quote)
    balance = await user_balance(
        session,
        user,
        vault=deps.vault,
        factory=deps.client_factory,
        api_url=deps.settings.exchange_api_url,
        prices=deps.prices,
        quote=deps.quote,
    )
    validate_deposit(amount, balance.total_value, deps.quote)
    session.add_all(set_deposit(user, amount))
    await session.commit()
    await reply.text(
        _("Deposit set to {amount} {quote}. The bot sizes trades from this amount.").format(
            amount=money(amount), quote=deps.quote
        )
    )


async def ask_deposit(reply: Reply, state: FSMContext, user: User, deps: BotDeps) -> None:
    current = (
        _("Your deposit is {amount} {quote}.").format(amount=money(user.deposit), quote=deps.quote)
        if user.deposit is not None
        else _("You have not set a deposit yet.")
    )
    await state.set_state(DepositForm.amount)
    await reply.text(
        current
        + "\n"
        + _("Send the amount the bot may use, in {quote} (for example 500). /cancel stops.").format(
            quote=deps.quote
        )
    )


def make_router() -> Router:
    router = Router(name="deposit")

    @router.message(Command("deposit"))
    async def cmd_deposit(
        message: Message,
        command: CommandObject,
        reply: Reply,
        session: AsyncSession,
        user: User,
        deps: BotDeps,
        state: FSMContext,
    ) -> None:
        if command.args is None or not command.args.strip():
            await ask_deposit(reply, state, user, deps)
            return
        await apply_deposit(command.args, reply, session, user, deps)

    @router.callback_query(MenuCB.filter(F.cmd == "deposit"))
    async def menu_deposit(
        cb: CallbackQuery, reply: Reply, user: User, deps: BotDeps, state: FSMContext
    ) -> None:
        await cb.answer()
        await ask_deposit(reply, state, user, deps)

    @router.message(DepositForm.amount, ~F.text.startswith("/"))
    async def got_amount(
        message: Message, reply: Reply, session: AsyncSession, user: User, deps: BotDeps, state: FSMContext
    ) -> None:
        # a bad amount keeps the question open (the error reply says why); a good one ends it
        if await delete_if_secret(message, reply):  # never echoed in a "not an amount" reply
            return
        await apply_deposit(message.text or "", reply, session, user, deps)
        await state.clear()

    return router
