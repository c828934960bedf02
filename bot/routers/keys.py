"""/keys: list, add or replace, and delete exchange keys.

Each of API key, secret and passphrase is its own FSM step. The message carrying it is deleted at
once; between steps it travels only sealed by the vault (bound to this user and exchange), never as
plaintext in FSM data, logs or replies.
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import KeysCB, MenuCB
from bot.commands import COMMAND_RE
from bot.deps import BotDeps
from bot.reply import Reply
from bot.states import KeysForm
from core.db.models import User
from core.services import keys as key_service
from core.services.errors import UserError
from core.services.exchanges import EXCHANGES
from core.services.l10n import N_

log = logging.getLogger(__name__)

TRADE_ONLY_HELP = N_(
    "This key can withdraw funds, so I did not save it. Create a trade-only key instead: "
    "in Binance, open Account → API Management, create a key (or edit this one), tick "
    "“Enable Spot & Margin Trading”, leave “Enable Withdrawals” OFF, ideally restrict it to trusted IPs, "
    "then send /keys again."
)


def label(exchange: str) -> str:
    info = EXCHANGES.get(exchange)
    return info.label if info else exchange


async def show_keys(reply: Reply, session: AsyncSession, user: User) -> None:
    accounts = await key_service.list_accounts(session, user.id)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Add or replace keys"), callback_data=KeysCB(action="add"))
    if not accounts:
        text = _("You have no exchange keys yet.")
    else:
        lines = [_("Your exchange keys:")]
        for acc in accounts:
            name = label(acc.exchange)
            state = _("valid") if acc.valid else _("not working")
            lines.append(f"• {name}: {acc.api_key_masked} ({state})")
            builder.button(
                text=_("Delete {exchange}").format(exchange=name),
                callback_data=KeysCB(action="del", account=acc.id),
            )
        text = "\n".join(lines)
    builder.adjust(1)
    await reply.text(text, builder.as_markup())


def exchange_picker() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for info in EXCHANGES.values():
        builder.button(text=info.label, callback_data=KeysCB(action="pick", exchange=info.id))
    builder.button(text=_("Cancel"), callback_data=KeysCB(action="cancel"))
    builder.adjust(2, 2, 1)
    return builder.as_markup()


async def _delete_secret_message(message: Message) -> None:
    try:
        await message.delete()
    except Exception:  # never let a failed delete stop the flow; the user is told to delete it
        log.warning("could not delete a message carrying a key in chat %s", message.chat.id)
        await message.answer(_("I could not delete your message with the key: please delete it yourself."))


def make_router() -> Router:
    router = Router(name="keys")

    @router.message(Command("keys"))
    async def cmd_keys(message: Message, reply: Reply, session: AsyncSession, user: User) -> None:
        await show_keys(reply, session, user)

    @router.callback_query(MenuCB.filter(F.cmd == "keys"))
    async def menu_keys(cb: CallbackQuery, reply: Reply, session: AsyncSession, user: User) -> None:
        await cb.answer()
        await show_keys(reply, session, user)

    @router.callback_query(KeysCB.filter(F.action == "add"))
    async def add(cb: CallbackQuery, reply: Reply) -> None:
        await cb.answer()
        await reply.text(_("Which exchange?"), exchange_picker())

    @router.callback_query(KeysCB.filter(F.action == "cancel"))
    async def cancel(cb: CallbackQuery, reply: Reply, state: FSMContext) -> None:
        await cb.answer()
        await state.clear()
        await reply.text(_("Cancelled."))

    @router.callback_query(KeysCB.filter(F.action == "pick"))
    async def pick(cb: CallbackQuery, callback_data: KeysCB, reply: Reply, state: FSMContext) -> None:
        await cb.answer()
        info = key_service.exchange_info(callback_data.exchange)
        await state.clear()
        await state.set_state(KeysForm.api_key)
        await state.update_data(exchange=info.id)
        await reply.text(
            _(
                "Send the API key for {exchange}. Create a key that can trade spot but can NOT withdraw. "
                "I delete your message right away. /cancel stops."
            ).format(exchange=info.label)
        )

    async def step(
        message: Message, state: FSMContext, deps: BotDeps, user: User, field: str
    ) -> tuple[str, dict[str, object]] | None:
        """Take one credential from the message: delete it, validate, seal into FSM data."""
        if message.text is None:
            await message.answer(_("Send it as a text message, or /cancel."))
            return None
        text = message.text
        await _delete_secret_message(message)
        value = key_service.validate_key_text(text, field)
        data = await state.get_data()
        exchange = str(data.get("exchange", ""))
        key_service.exchange_info(exchange)
        sealed = key_service.seal(deps.vault, user.id, exchange, field, value)
        await state.update_data(**{field: sealed})
        return exchange, {**data, field: sealed}

    # a secret may start with "/": only a real command ends the step (UserMiddleware clears the state)
    not_command = ~F.text.regexp(COMMAND_RE)

    @router.message(KeysForm.api_key, not_command)
    async def got_api_key(
        message: Message, state: FSMContext, deps: BotDeps, user: User, reply: Reply
    ) -> None:
        if await step(message, state, deps, user, "api_key") is None:
            return
        await state.set_state(KeysForm.secret)
        await reply.text(_("Now send the API secret. I delete your message right away."))

    @router.message(KeysForm.secret, not_command)
    async def got_secret(
        message: Message, state: FSMContext, deps: BotDeps, user: User, reply: Reply, session: AsyncSession
    ) -> None:
        taken = await step(message, state, deps, user, "secret")
        if taken is None:
            return
        exchange, data = taken
        if EXCHANGES[exchange].needs_passphrase:
            await state.set_state(KeysForm.passphrase)
            await reply.text(_("Now send the API passphrase. I delete your message right away."))
            return
        await finish(state, deps, user, reply, session, exchange, data)

    @router.message(KeysForm.passphrase, not_command)
    async def got_passphrase(
        message: Message, state: FSMContext, deps: BotDeps, user: User, reply: Reply, session: AsyncSession
    ) -> None:
        taken = await step(message, state, deps, user, "passphrase")
        if taken is None:
            return
        exchange, data = taken
        await finish(state, deps, user, reply, session, exchange, data)

    async def finish(
        state: FSMContext,
        deps: BotDeps,
        user: User,
        reply: Reply,
        session: AsyncSession,
        exchange: str,
        data: dict[str, object],
    ) -> None:
        # the sealed values leave FSM storage now, whatever the check says
        await state.clear()
        sealed = {
            f: key_service.sealed_from_box(data[f])  # type: ignore[arg-type]
            for f in key_service.FIELDS
            if isinstance(data.get(f), dict)
        }
        if "api_key" not in sealed or "secret" not in sealed:
            raise UserError(N_("The key setup expired. Start again with /keys."))
        await reply.text(_("Checking the key with the exchange…"))
        plain = key_service.open_sealed(deps.vault, user.id, exchange, sealed)
        check = await key_service.check_key(
            deps.client_factory,
            exchange,
            plain["api_key"],
            plain["secret"],
            plain.get("passphrase"),
            deps.settings.exchange_api_url,
            deps.quote,
        )
        del plain
        if check.can_withdraw:
            raise UserError(TRADE_ONLY_HELP)
        if not check.can_trade:
            raise UserError(
                N_("This key cannot trade spot. Enable spot trading for it and send /keys again.")
            )
        account = await key_service.save_keys(session, deps.vault, user, exchange, sealed)
        await session.commit()
        await reply.text(
            _("Saved your {exchange} keys: {masked}. They are stored encrypted.").format(
                exchange=EXCHANGES[exchange].label, masked=account.api_key_masked
            )
        )

    @router.callback_query(KeysCB.filter(F.action == "del"))
    async def ask_delete(
        cb: CallbackQuery, callback_data: KeysCB, reply: Reply, session: AsyncSession, user: User
    ) -> None:
        await cb.answer()
        account = await key_service.owned_account(session, user.id, callback_data.account)
        builder = InlineKeyboardBuilder()
        builder.button(text=_("Yes, delete"), callback_data=KeysCB(action="delok", account=account.id))
        builder.button(text=_("Cancel"), callback_data=KeysCB(action="cancel"))
        await reply.text(
            _("Delete your {exchange} keys ({masked})?").format(
                exchange=label(account.exchange),
                masked=account.api_key_masked,
            ),
            builder.as_markup(),
        )

    @router.callback_query(KeysCB.filter(F.action == "delok"))
    async def delete(
        cb: CallbackQuery, callback_data: KeysCB, reply: Reply, session: AsyncSession, user: User
    ) -> None:
        await cb.answer()
        exchange = await key_service.delete_account(session, user, callback_data.account)
        await session.commit()
        await reply.text(_("Deleted your {exchange} keys.").format(exchange=label(exchange)))

    return router
