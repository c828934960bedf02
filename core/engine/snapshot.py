"""Everything the user stage reads, for every active user, in a handful of queries per cycle.

Rows are loaded as plain tuples into slotted records (no ORM identity map): 10,000 users cost a few
queries and a few megabytes, never one query per user.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import (
    BlacklistEntry,
    ExchangeAccount,
    Mode,
    Order,
    OrderStatus,
    PaperBalance,
    Position,
    PositionStatus,
    User,
)
from core.engine.bulk import select_rows, table
from core.strategy.book import BlacklistRule

ZERO = Decimal(0)
IN_FLIGHT = (OrderStatus.pending, OrderStatus.open)


@dataclass(slots=True)
class UserRow:
    id: int
    telegram_id: int
    language: str
    mode: Mode
    trading_enabled: bool
    exits_only: bool
    deposit: Decimal | None
    risk_per_trade_pct: Decimal
    max_open_positions: int
    max_symbol_share_pct: Decimal
    daily_loss_limit_pct: Decimal
    strategies: tuple[str, ...]
    daily_loss_notified_on: date | None

    @property
    def may_enter(self) -> bool:
        return self.trading_enabled and not self.exits_only


@dataclass(slots=True)
class PositionRow:
    id: int
    user_id: int
    mode: Mode
    exchange: str
    symbol: str
    side: str
    amount: Decimal
    initial_amount: Decimal
    entry_price: Decimal
    stop_price: Decimal | None
    initial_stop: Decimal | None
    targets: list[Any]
    trail_active: bool
    high_water: Decimal | None
    realized_pnl: Decimal
    fees: Decimal
    opened_at: datetime
    signal_id: str | None


@dataclass(slots=True)
class OrderRow:
    id: int
    user_id: int
    position_id: int | None
    mode: Mode
    exchange: str
    client_order_id: str
    symbol: str
    side: str
    leg: str
    signal_id: str | None
    amount: Decimal
    status: OrderStatus
    updated_at: datetime


@dataclass(slots=True)
class AccountRow:
    id: int
    user_id: int
    exchange: str
    key_version: int
    updated_at: datetime


@dataclass(slots=True)
class BalanceRow:
    id: int
    free: Decimal
    used: Decimal


@dataclass
class Snapshot:
    users: list[UserRow]
    positions: dict[int, list[PositionRow]] = field(default_factory=lambda: defaultdict(list))
    orders: dict[int, list[OrderRow]] = field(default_factory=lambda: defaultdict(list))
    balances: dict[int, dict[str, BalanceRow]] = field(default_factory=lambda: defaultdict(dict))
    accounts: dict[int, AccountRow] = field(default_factory=dict)  # live users: their trading account
    realized_today: dict[int, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    blacklist: list[BlacklistRule] = field(default_factory=list)


def _active_users() -> Any:
    return select(User.id).where(or_(User.trading_enabled.is_(True), User.exits_only.is_(True)))


def day_start(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)


USER_COLS = (
    User.id,
    User.telegram_id,
    User.language,
    User.mode,
    User.trading_enabled,
    User.exits_only,
    User.deposit,
    User.risk_per_trade_pct,
    User.max_open_positions,
    User.max_symbol_share_pct,
    User.daily_loss_limit_pct,
    User.strategies,
    User.daily_loss_notified_on,
)


ACTIVE_SQL = "(trading_enabled = 1 OR exits_only = 1)"
ACTIVE_USERS_SQL = "user_id IN (SELECT id FROM users WHERE trading_enabled = 1 OR exits_only = 1)"


def _user_row(r: Any) -> UserRow:
    return UserRow(*r[:11], tuple(r[11] or ("sma_cross",)), r[12])  # type: ignore[call-arg]


async def live_accounts(session: AsyncSession, users: Any, exchanges: Sequence[str]) -> dict[int, AccountRow]:
    """Each user's live account: the most recently updated valid one on an exchange the engine trades."""
    rows = await session.execute(
        select(
            ExchangeAccount.id,
            ExchangeAccount.user_id,
            ExchangeAccount.exchange,
            ExchangeAccount.key_version,
            ExchangeAccount.updated_at,
        )
        .where(users, ExchangeAccount.valid.is_(True), ExchangeAccount.exchange.in_(exchanges))
        .order_by(ExchangeAccount.updated_at, ExchangeAccount.id)
    )
    return {r[1]: AccountRow(*r) for r in rows}  # later (newer) rows win


async def load_users(session: AsyncSession, where: Any) -> list[UserRow]:
    rows = await session.execute(select(*USER_COLS).where(where).order_by(User.id))
    return [_user_row(r) for r in rows]


async def load_snapshot(session: AsyncSession, now: datetime, exchanges: tuple[str, ...]) -> Snapshot:
    """Active users (trading on, or managing exits only) with their positions, in-flight orders,
    paper balances, live accounts and today's realised P&L; and the admin blacklist."""
    active_where = or_(User.trading_enabled.is_(True), User.exits_only.is_(True))
    user_names = [c.key for c in USER_COLS]
    users = [
        _user_row(r)
        for r in await select_rows(
            session,
            table(User),
            user_names,
            f"{ACTIVE_SQL} ORDER BY t.id",
            select(*USER_COLS).where(active_where).order_by(User.id),
        )
    ]
    snap = Snapshot(users)
    active = _active_users()

    pos_names = list(PositionRow.__slots__)
    for r in await select_rows(
        session,
        table(Position),
        pos_names,
        f"status = 'open' AND {ACTIVE_USERS_SQL}",
        select(*[getattr(Position, f) for f in pos_names]).where(
            Position.status == PositionStatus.open, Position.user_id.in_(active)
        ),
    ):
        p = PositionRow(*r)
        snap.positions[p.user_id].append(p)

    order_names = list(OrderRow.__slots__)
    for r in await select_rows(
        session,
        table(Order),
        order_names,
        "status IN ('pending', 'open') AND " + ACTIVE_USERS_SQL + " ORDER BY t.id",
        select(*[getattr(Order, f) for f in order_names])
        .where(Order.status.in_(IN_FLIGHT), Order.user_id.in_(active))
        .order_by(Order.id),
    ):
        o = OrderRow(*r)
        snap.orders[o.user_id].append(o)

    bal_names = ["user_id", "currency", "id", "free", "used"]
    for uid, cur, bid, free, used in await select_rows(
        session,
        table(PaperBalance),
        bal_names,
        ACTIVE_USERS_SQL,
        select(
            PaperBalance.user_id, PaperBalance.currency, PaperBalance.id, PaperBalance.free, PaperBalance.used
        ).where(PaperBalance.user_id.in_(active)),
    ):
        snap.balances[uid][cur] = BalanceRow(bid, free, used)

    snap.accounts = await live_accounts(session, ExchangeAccount.user_id.in_(active), exchanges)

    start = day_start(now)
    for uid, pnl in await select_rows(
        session,
        table(Position),
        ["user_id", "realized_pnl"],
        f"(status = 'open' OR closed_at >= '{start:%Y-%m-%d %H:%M:%S.%f}') AND " + ACTIVE_USERS_SQL,
        select(Position.user_id, Position.realized_pnl).where(
            Position.user_id.in_(active),
            or_(Position.status == PositionStatus.open, Position.closed_at >= start),
        ),
    ):
        if pnl:
            snap.realized_today[uid] += pnl

    for symbol, reason, expires in await session.execute(
        select(BlacklistEntry.symbol, BlacklistEntry.reason, BlacklistEntry.expires_at)
    ):
        snap.blacklist.append(BlacklistRule(symbol, reason, expires))
    return snap


async def load_user_state(session: AsyncSession, user_id: int) -> tuple[list[PositionRow], list[OrderRow]]:
    """One user's open positions and in-flight orders (after their job repaired something)."""
    pos_cols = [getattr(Position, f) for f in PositionRow.__slots__]
    positions = [
        PositionRow(*r)
        for r in await session.execute(
            select(*pos_cols).where(Position.user_id == user_id, Position.status == PositionStatus.open)
        )
    ]
    order_cols = [getattr(Order, f) for f in OrderRow.__slots__]
    orders = [
        OrderRow(*r)
        for r in await session.execute(
            select(*order_cols)
            .where(Order.user_id == user_id, Order.status.in_(IN_FLIGHT))
            .order_by(Order.id)
        )
    ]
    return positions, orders
