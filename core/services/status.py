"""What /status shows: switches, deposit, positions, today's P&L, the last cycle, and warnings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import CycleRun, ExchangeAccount, Mode, User
from core.db.types import utcnow
from core.services.exchanges import EXCHANGES
from core.services.l10n import N_
from core.services.parsing import Period
from core.services.pnl import period_start, realized_since
from core.services.users import has_valid_keys, open_position_count


@dataclass(frozen=True)
class StatusView:
    trading: bool
    exits_only: bool
    mode: Mode
    deposit: Decimal | None
    open_positions: int
    realized_today: Decimal
    last_cycle: datetime | None
    warnings: list[tuple[str, dict[str, object]]] = field(default_factory=list)  # (msgid, params)


async def last_cycle_time(session: AsyncSession) -> datetime | None:
    return await session.scalar(
        select(CycleRun.finished_at)
        .where(CycleRun.finished_at.is_not(None))
        .order_by(CycleRun.finished_at.desc())
        .limit(1)
    )


async def user_status(session: AsyncSession, user: User) -> StatusView:
    warnings: list[tuple[str, dict[str, object]]] = []
    invalid = list(
        await session.scalars(
            select(ExchangeAccount.exchange).where(
                ExchangeAccount.user_id == user.id, ExchangeAccount.valid.is_(False)
            )
        )
    )
    for exchange in invalid:
        info = EXCHANGES.get(exchange)
        msgid = N_("Your {exchange} keys stopped working. Add new ones with /keys.")
        warnings.append((msgid, {"exchange": info.label if info else exchange}))
    if user.daily_loss_notified_on == utcnow().date():
        warnings.append((N_("The daily loss limit was hit today: no new entries until tomorrow (UTC)."), {}))
    if user.deposit is None:
        warnings.append((N_("No deposit set yet: use /deposit."), {}))
    if user.mode == Mode.live and not await has_valid_keys(session, user.id):
        warnings.append((N_("Live mode without valid keys: add them with /keys."), {}))
    realized, _ = await realized_since(session, user.id, period_start(Period.day))
    return StatusView(
        trading=user.trading_enabled,
        exits_only=user.exits_only,
        mode=user.mode,
        deposit=user.deposit,
        open_positions=await open_position_count(session, user.id),
        realized_today=realized,
        last_cycle=await last_cycle_time(session),
        warnings=warnings,
    )
