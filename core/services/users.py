"""Registration, language, mode and trading switches, and user counts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.db.models import AuditLog, ExchangeAccount, Mode, Position, PositionStatus, User
from core.services.errors import UserError
from core.services.l10n import LANGUAGES, N_, language_from_code
from core.services.paper import bootstrap_paper_balance
from core.services.sql import insert_ignore


async def get_user(session: AsyncSession, telegram_id: int) -> User | None:
    return await session.scalar(select(User).where(User.telegram_id == telegram_id))


async def register(
    session: AsyncSession,
    settings: Settings,
    telegram_id: int,
    username: str | None,
    language_code: str | None,
) -> tuple[User, bool]:
    """Find or create the user (idempotent, safe under a concurrent duplicate); returns (user, created).

    A new user starts in paper mode with the configured virtual balance. A returning user who had
    blocked the bot is active again, since they are talking to it.
    """
    user = await get_user(session, telegram_id)
    if user is not None:
        if not user.is_active:
            user.is_active = True
        if username and user.username != username:
            user.username = username[:64]
        return user, False
    added = await insert_ignore(
        session,
        User,
        {
            "telegram_id": telegram_id,
            "username": username[:64] if username else None,
            "language": language_from_code(language_code),
            "mode": Mode(settings.default_mode),
            "strategies": ["sma_cross"],
            "risk_per_trade_pct": Decimal("1"),
            "max_open_positions": 5,
            "max_symbol_share_pct": Decimal("25"),
            "daily_loss_limit_pct": Decimal("5"),
        },
        ["telegram_id"],
    )
    user = await get_user(session, telegram_id)
    if user is None:  # pragma: no cover - the row exists after the insert
        raise RuntimeError("user row missing after insert")
    if not added:  # another update of the same person registered them first
        return user, False
    await bootstrap_paper_balance(session, user.id, settings.quote_currency, settings.paper_start_balance)
    session.add(AuditLog(user_id=user.id, actor=telegram_id, action="register", details={}))
    return user, True


def set_language(user: User, language: str) -> None:
    if language not in LANGUAGES:
        raise UserError(N_("Unknown language."))
    user.language = language


async def has_valid_keys(session: AsyncSession, user_id: int) -> bool:
    found = await session.scalar(
        select(ExchangeAccount.id).where(ExchangeAccount.user_id == user_id, ExchangeAccount.valid.is_(True))
    )
    return found is not None


async def open_position_count(session: AsyncSession, user_id: int, mode: Mode | None = None) -> int:
    query = select(func.count(Position.id)).where(
        Position.user_id == user_id, Position.status == PositionStatus.open
    )
    if mode is not None:
        query = query.where(Position.mode == mode)
    return int(await session.scalar(query) or 0)


async def set_mode(session: AsyncSession, user: User, mode: str) -> None:
    """Switch paper/live. Live needs valid keys; no switch while positions of the current mode are open."""
    try:
        target = Mode(mode)
    except ValueError:
        raise UserError(N_("Unknown mode.")) from None
    if target == user.mode:
        return
    if target == Mode.live and not await has_valid_keys(session, user.id):
        raise UserError(N_("Live mode needs valid exchange keys. Add them with /keys first."))
    if await open_position_count(session, user.id, user.mode):
        raise UserError(N_("Close your open positions before switching mode."))
    user.mode = target
    user.trading_enabled = False
    user.exits_only = False
    session.add(AuditLog(user_id=user.id, actor=user.telegram_id, action="set_mode", details={"mode": mode}))


async def trade_on(session: AsyncSession, user: User) -> None:
    if user.deposit is None:
        raise UserError(N_("Set your deposit first with /deposit."))
    if user.mode == Mode.live and not await has_valid_keys(session, user.id):
        raise UserError(N_("Live mode needs valid exchange keys. Add them with /keys first."))
    user.trading_enabled = True
    user.exits_only = False
    session.add(AuditLog(user_id=user.id, actor=user.telegram_id, action="trade_on", details={}))


def trade_off(user: User, keep_exits: bool) -> None:
    user.trading_enabled = False
    user.exits_only = keep_exits


@dataclass(frozen=True)
class UserCounts:
    total: int
    active: int
    trading: int
    paper: int
    live: int


async def user_counts(session: AsyncSession) -> UserCounts:
    row = (
        await session.execute(
            select(
                func.count(User.id),
                func.count(User.id).filter(User.is_active.is_(True)),
                func.count(User.id).filter(User.trading_enabled.is_(True)),
                func.count(User.id).filter(User.mode == Mode.paper),
                func.count(User.id).filter(User.mode == Mode.live),
            )
        )
    ).one()
    return UserCounts(*(int(v or 0) for v in row))
