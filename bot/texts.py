"""Formatting shared by the handlers: money, times, and rendering a service's UserError."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from aiogram.utils.i18n import gettext as _

from core.services.deposit import fmt_money
from core.services.errors import UserError


def money(value: Decimal | None, places: int = 2) -> str:
    return "—" if value is None else fmt_money(value, places)


def price(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return format(value.normalize(), "f") if abs(value) < 1 else fmt_money(value, 4 if value < 100 else 2)


def when(value: datetime | None) -> str:
    return _("never") if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def error_text(err: UserError) -> str:
    return _(err.msgid).format(**err.params)
