"""Start-up reconciliation: every live user's in-flight orders and open positions against the exchange.

By client order id: an order the exchange has is applied (fills, position, outbox); one it does not
have is canceled as "never reached the exchange"; an open order that filled meanwhile is applied. A
pending order younger than the grace period may still be travelling, so it is asked about only once
the grace has passed. Open positions are compared with the exchange's balance of their base
currency; a shortfall is reported (never silently "fixed"). Each user is told what was repaired.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.models import ExchangeAccount, Mode, Order, OrderStatus, Position, PositionStatus, User
from core.db.types import utcnow
from core.engine.live import KeysInvalid, ref_of
from core.engine.live_user import LiveUsers
from core.engine.notices import notify
from core.engine.snapshot import IN_FLIGHT, AccountRow, OrderRow, live_accounts, load_users

log = logging.getLogger(__name__)


@dataclass
class Repair:
    applied: list[str] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    position_gaps: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.applied or self.canceled or self.position_gaps)

    def summary(self) -> str:
        parts = []
        if self.applied:
            parts.append(f"{len(self.applied)} order(s) found filled and recorded")
        if self.canceled:
            parts.append(f"{len(self.canceled)} order(s) never reached the exchange and were dropped")
        if self.unresolved:
            parts.append(f"{len(self.unresolved)} order(s) could not be checked yet")
        parts.extend(self.position_gaps)
        return "; ".join(parts)


async def reconcile(
    sessionmaker: async_sessionmaker[AsyncSession],
    live: LiveUsers,
    exchanges: tuple[str, ...],
    *,
    concurrency: int = 16,
    check_positions: bool = True,
) -> dict[int, Repair]:
    """Reconcile every live user with in-flight orders or open live positions; returns repairs by user."""
    async with sessionmaker() as session:
        order_cols = [getattr(Order, f) for f in OrderRow.__slots__]
        orders: dict[int, list[OrderRow]] = defaultdict(list)
        for r in await session.execute(
            select(*order_cols)
            .where(Order.mode == Mode.live, Order.status.in_(IN_FLIGHT), Order.exchange.in_(exchanges))
            .order_by(Order.id)
        ):
            o = OrderRow(*r)
            orders[o.user_id].append(o)
        holders = set(
            await session.scalars(
                select(Position.user_id).where(
                    Position.mode == Mode.live, Position.status == PositionStatus.open
                )
            )
        )
        user_ids = set(orders) | (holders if check_positions else set())
        if not user_ids:
            return {}
        users = {u.id: u for u in await load_users(session, User.id.in_(user_ids))}
        accounts = await live_accounts(session, ExchangeAccount.user_id.in_(user_ids), exchanges)

    bound = asyncio.Semaphore(concurrency)
    stamp = int(utcnow().timestamp())
    results: dict[int, Repair] = {}

    async def one(user_id: int) -> None:
        user, account = users.get(user_id), accounts.get(user_id)
        if user is None or account is None:
            return
        repair = results[user_id] = Repair()
        async with bound:
            try:
                await _reconcile_user(live, user, account, orders.get(user_id, []), repair, check_positions)
            except KeysInvalid as exc:
                await live.keys_invalid(user, account, str(exc))
                repair.error = "keys invalid"
                return
            except Exception as exc:
                log.warning("reconciliation of user %s failed: %s", user_id, type(exc).__name__)
                repair.error = f"{type(exc).__name__}"
                return
        if repair.changed:
            async with sessionmaker() as session, session.begin():
                await notify(
                    session,
                    user_id=user.id,
                    chat_id=user.telegram_id,
                    language=user.language,
                    kind="reconciled",
                    dedupe_key=f"reconciled:{user.id}:{stamp}",
                    exchange=account.exchange,
                    details=repair.summary(),
                )
            log.info("user %s reconciled: %s", user_id, repair.summary())

    await asyncio.gather(*(one(uid) for uid in sorted(user_ids)))
    return results


async def _reconcile_user(
    live: LiveUsers,
    user: Any,
    account: AccountRow,
    orders: list[OrderRow],
    repair: Repair,
    check_positions: bool,
) -> None:
    ctx = await live.context(user, account, {})
    for o in orders:
        if o.status == OrderStatus.pending:
            age = utcnow() - o.updated_at
            if age < live.pending_grace:  # it may still be travelling: let it land first
                await asyncio.sleep((live.pending_grace - age).total_seconds())
        status = await live.executor.resolve(ctx, ref_of(o), None, resend=False)
        if status in (OrderStatus.closed,) or (
            status == OrderStatus.open and o.status == OrderStatus.pending
        ):
            repair.applied.append(o.client_order_id)
        elif status == OrderStatus.canceled:
            repair.canceled.append(o.client_order_id)
        elif status in (OrderStatus.pending, OrderStatus.open):
            repair.unresolved.append(o.client_order_id)
    if check_positions:
        await _compare_positions(live, ctx, user.id, repair)


async def _compare_positions(live: LiveUsers, ctx: Any, user_id: int, repair: Repair) -> None:
    async with live.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Position.symbol, Position.amount).where(
                    Position.user_id == user_id,
                    Position.mode == Mode.live,
                    Position.status == PositionStatus.open,
                )
            )
        ).all()
    if not rows:
        return
    balance: dict[str, Any] = await ctx.client.fetch_balance()
    totals = balance.get("total") or {}
    held: dict[str, Decimal] = defaultdict(Decimal)
    for symbol, amount in rows:
        held[symbol.split("/")[0]] += amount
    for base, amount in sorted(held.items()):
        raw = totals.get(base)
        have = Decimal(str(raw)) if raw is not None else Decimal(0)
        if have < amount:
            repair.position_gaps.append(f"{base}: the exchange holds {have}, open positions need {amount}")


__all__ = ["Repair", "reconcile"]
