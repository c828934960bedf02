"""/settings: risk per trade, max open positions, max share per symbol, daily loss limit, strategies."""

from __future__ import annotations

from decimal import Decimal

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import MenuCB, SetCB
from bot.deps import BotDeps
from bot.reply import Reply
from bot.secret_guard import delete_if_secret
from bot.states import SettingForm
from core.db.models import User
from core.services.errors import UserError
from core.services.l10n import N_
from core.services.user_settings import SETTINGS, SettingSpec, apply_setting, toggle_strategy


def value_text(spec: SettingSpec, value: object) -> str:
    if isinstance(value, Decimal):
        value = format(value.normalize(), "f")
    return f"{value}{spec.unit}"


def settings_text(user: User) -> str:
    lines = [_("Your settings:")]
    for spec in SETTINGS.values():
        lines.append(f"• {_(spec.label)}: {value_text(spec, getattr(user, spec.name))}")
    lines.append(_("Strategies: {names}").format(names=", ".join(user.strategies or []) or "—"))
    lines.append(_("Choose what to change:"))
    return "\n".join(lines)


def settings_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for spec in SETTINGS.values():
        builder.button(text=_(spec.label), callback_data=SetCB(action="pick", name=spec.name))
    builder.button(text=_("Strategies"), callback_data=SetCB(action="strategies"))
    builder.adjust(2)
    return builder.as_markup()


def strategies_keyboard(user: User, known: tuple[str, ...]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    enabled = set(user.strategies or [])
    for name in known:
        mark = "✅" if name in enabled else "▫️"
        builder.button(text=f"{mark} {name}", callback_data=SetCB(action="strat", name=name))
    builder.button(text=_("Back"), callback_data=SetCB(action="back"))
    builder.adjust(1)
    return builder.as_markup()


def spec_of(name: str) -> SettingSpec:
    spec = SETTINGS.get(name)
    if spec is None:
        raise UserError(N_("Unknown setting."))
    return spec


def make_router() -> Router:
    router = Router(name="settings")

    @router.message(Command("settings"))
    async def cmd_settings(message: Message, reply: Reply, user: User) -> None:
        await reply.text(settings_text(user), settings_keyboard())

    @router.callback_query(MenuCB.filter(F.cmd == "settings"))
    async def menu_settings(cb: CallbackQuery, reply: Reply, user: User) -> None:
        await cb.answer()
        await reply.text(settings_text(user), settings_keyboard())

    @router.callback_query(SetCB.filter(F.action == "back"))
    async def back(cb: CallbackQuery, reply: Reply, user: User, state: FSMContext) -> None:
        await cb.answer()
        await state.clear()
        await reply.text(settings_text(user), settings_keyboard())

    @router.callback_query(SetCB.filter(F.action == "pick"))
    async def pick(
        cb: CallbackQuery, callback_data: SetCB, reply: Reply, user: User, state: FSMContext
    ) -> None:
        await cb.answer()
        spec = spec_of(callback_data.name)
        builder = InlineKeyboardBuilder()
        for preset in spec.presets:
            builder.button(
                text=f"{preset}{spec.unit}", callback_data=SetCB(action="set", name=spec.name, value=preset)
            )
        builder.button(text=_("Back"), callback_data=SetCB(action="back"))
        builder.adjust(len(spec.presets), 1)
        await state.set_state(SettingForm.value)
        await state.update_data(setting=spec.name)
        await reply.text(
            _("{label} is {value}. Pick a value or send one between {low} and {high}.").format(
                label=_(spec.label),
                value=value_text(spec, getattr(user, spec.name)),
                low=value_text(spec, spec.minimum),
                high=value_text(spec, spec.maximum),
            ),
            builder.as_markup(),
        )

    async def save(name: str, text: str, reply: Reply, session: AsyncSession, user: User) -> None:
        spec = spec_of(name)
        value = apply_setting(user, spec.name, text)
        await session.commit()
        await reply.text(
            _("{label} set to {value}.").format(label=_(spec.label), value=value_text(spec, value)),
            settings_keyboard(),
        )

    @router.callback_query(SetCB.filter(F.action == "set"))
    async def set_value(
        cb: CallbackQuery,
        callback_data: SetCB,
        reply: Reply,
        session: AsyncSession,
        user: User,
        state: FSMContext,
    ) -> None:
        await cb.answer()
        await save(callback_data.name, callback_data.value, reply, session, user)
        await state.clear()

    @router.message(SettingForm.value, ~F.text.startswith("/"))
    async def typed_value(
        message: Message, reply: Reply, session: AsyncSession, user: User, state: FSMContext
    ) -> None:
        if await delete_if_secret(message, reply):  # never echoed in a "not a number" reply
            return
        name = str((await state.get_data()).get("setting", ""))
        await save(name, message.text or "", reply, session, user)
        await state.clear()

    @router.callback_query(SetCB.filter(F.action == "strategies"))
    async def strategies(cb: CallbackQuery, reply: Reply, user: User, deps: BotDeps) -> None:
        await cb.answer()
        await reply.text(
            _("Tap a strategy to turn it on or off:"), strategies_keyboard(user, deps.strategies)
        )

    @router.callback_query(SetCB.filter(F.action == "strat"))
    async def toggle(
        cb: CallbackQuery,
        callback_data: SetCB,
        reply: Reply,
        session: AsyncSession,
        user: User,
        deps: BotDeps,
    ) -> None:
        await cb.answer()
        enabled = toggle_strategy(user, callback_data.name, deps.strategies)
        await session.commit()
        text = (_("{name} is on.") if enabled else _("{name} is off.")).format(name=callback_data.name)
        await reply.text(text, strategies_keyboard(user, deps.strategies))

    return router
