"""The paper account's balance rows."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import PaperBalance


async def bootstrap_paper_balance(
    session: AsyncSession, user_id: int, currency: str, amount: Decimal
) -> bool:
    """Give a new user their virtual quote balance once; returns whether a row was created."""
    existing = await session.scalar(
        select(PaperBalance.id).where(PaperBalance.user_id == user_id, PaperBalance.currency == currency)
    )
    if existing is not None:
        return False
    session.add(PaperBalance(user_id=user_id, currency=currency, free=amount, used=Decimal(0)))
    await session.flush()
    return True


async def paper_balances(session: AsyncSession, user_id: int) -> list[PaperBalance]:
    rows = await session.scalars(
        select(PaperBalance).where(PaperBalance.user_id == user_id).order_by(PaperBalance.currency)
    )
    return list(rows)
