"""/start (registration and the menu), /help and /cancel."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import MenuCB
from bot.commands import ADMIN_COMMANDS, USER_COMMANDS
from bot.deps import BotDeps
from bot.keyboards import main_menu
from bot.reply import Reply
from bot.texts import money
from core.services.users import register


def help_text(is_admin: bool) -> str:
    lines = [_("Commands:")]
    lines += [f"/{name} — {_(desc)}" for name, desc in USER_COMMANDS]
    if is_admin:
        lines.append("")
        lines.append(_("Admin commands:"))
        lines += [f"/{name} — {_(desc)}" for name, desc in ADMIN_COMMANDS]
    return "\n".join(lines)


def make_router() -> Router:
    router = Router(name="start")

    @router.message(CommandStart())
    async def cmd_start(
        message: Message, session: AsyncSession, deps: BotDeps, reply: Reply, i18n: I18n
    ) -> None:
        tg = message.from_user
        if tg is None:
            return
        user, created = await register(session, deps.settings, tg.id, tg.username, tg.language_code)
        await session.commit()
        with i18n.use_locale(user.language):
            if created:
                text = _(
                    "Welcome! You are in paper mode with a virtual balance of {amount} {quote}. "
                    "Set your deposit with /deposit, then start trading with /trade_on."
                ).format(amount=money(deps.settings.paper_start_balance), quote=deps.quote)
            else:
                text = _("Welcome back! Choose what to do:")
            await reply.text(text, main_menu())

    @router.message(Command("help"))
    async def cmd_help(message: Message, reply: Reply, deps: BotDeps) -> None:
        is_admin = message.from_user is not None and message.from_user.id in deps.admin_ids
        await reply.text(help_text(is_admin))

    @router.callback_query(MenuCB.filter(F.cmd == "help"))
    async def menu_help(cb: CallbackQuery, reply: Reply, deps: BotDeps) -> None:
        await cb.answer()
        await reply.text(help_text(cb.from_user.id in deps.admin_ids))

    @router.message(Command("cancel"))
    async def cmd_cancel(message: Message, state: FSMContext, reply: Reply) -> None:
        had_state = await state.get_state() is not None
        await state.clear()
        await reply.text(_("Cancelled.") if had_state else _("Nothing to cancel."), main_menu())

    return router
