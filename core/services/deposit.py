"""The deposit: the capital the bot may use, in the quote currency."""

from __future__ import annotations

from decimal import Decimal

from core.db.models import AuditLog, User
from core.services.errors import UserError
from core.services.l10n import N_


def validate_deposit(amount: Decimal, available: Decimal, quote: str) -> Decimal:
    """A parsed (positive) amount must not exceed what the account holds."""
    if amount > available:
        raise UserError(
            N_("{amount} {quote} is more than your balance of {available} {quote}."),
            amount=fmt_money(amount),
            available=fmt_money(available),
            quote=quote,
        )
    return amount


def set_deposit(user: User, amount: Decimal) -> list[AuditLog]:
    user.deposit = amount
    return [
        AuditLog(
            user_id=user.id, actor=user.telegram_id, action="set_deposit", details={"amount": str(amount)}
        )
    ]


def fmt_money(value: Decimal, places: int = 2) -> str:
    """12345.678 -> "12,345.68"; tiny non-zero values keep their significant digits."""
    if value != 0 and abs(value) < Decimal(1).scaleb(-places):
        return format(value.normalize(), "f")
    return f"{value.quantize(Decimal(1).scaleb(-places)):,f}"


def signed(value: Decimal) -> str:
    """fmt_money with an explicit sign for gains: "+12.50", "-3.00"."""
    text = fmt_money(value)
    return text if value < 0 else f"+{text}"
