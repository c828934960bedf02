"""One live user's job in a cycle or a watch tick: settle in-flight orders, plan, place.

Runs under the engine's per-user bound and timeout; anything it raises is that user's problem only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.models import ExchangeAccount, Mode, Order, OrderStatus, Position, User
from core.db.types import utcnow
from core.engine.accounts import ClientPool
from core.engine.ledger import state_values
from core.engine.live import KeysInvalid, LiveContext, LiveExecutor, is_auth_error, ref_of
from core.engine.notices import notify
from core.engine.planner import Intent, MarketView, Plan, Policy, plan_user, unsendable_key
from core.engine.snapshot import AccountRow, OrderRow, PositionRow, UserRow, load_user_state
from core.risk import ZERO, MarketRules, utc_day
from core.strategy.book import SignalBook

log = logging.getLogger(__name__)
EXIT_RETRY_AFTER = timedelta(minutes=15)


@dataclass
class LiveOutcome:
    orders: int = 0
    resolved: int = 0
    unresolved: int = 0


class LiveUsers:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        pool: ClientPool,
        executor: LiveExecutor,
        policy: Policy,
        quote: str,
        pending_grace: timedelta,
    ) -> None:
        self._sm = sessionmaker
        self.pool = pool
        self.executor = executor
        self.policy = policy
        self.quote = quote
        self.pending_grace = pending_grace

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        return self._sm

    async def context(self, user: UserRow, account: AccountRow, rules: dict[str, MarketRules]) -> LiveContext:
        client = await self.pool.get(account)
        return LiveContext(user, account.id, account.exchange, client, rules)

    async def settle(self, ctx: LiveContext, orders: list[OrderRow], now: datetime) -> LiveOutcome:
        """Ask the exchange about this user's pending (old enough) and open orders; apply what it says."""
        out = LiveOutcome()
        for o in orders:
            if o.mode != Mode.live:
                continue
            if o.status == OrderStatus.pending and now - o.updated_at < self.pending_grace:
                continue  # may still be in flight from another job: ask later
            status = await self.executor.resolve(ctx, ref_of(o), None, resend=False)
            if status in (OrderStatus.pending, OrderStatus.open):
                out.unresolved += 1
            else:
                out.resolved += 1
        return out

    async def run(
        self,
        user: UserRow,
        account: AccountRow,
        positions: list[PositionRow],
        orders: list[OrderRow],
        book: SignalBook | None,
        view: MarketView,
        realized_today: Decimal,
        *,
        entries: bool = True,
    ) -> LiveOutcome:
        try:
            return await self._run(user, account, positions, orders, book, view, realized_today, entries)
        except Exception as exc:
            if is_auth_error(exc):  # from any private call, e.g. the balance
                raise KeysInvalid(str(exc)[:200]) from None
            raise

    async def _run(
        self,
        user: UserRow,
        account: AccountRow,
        positions: list[PositionRow],
        orders: list[OrderRow],
        book: SignalBook | None,
        view: MarketView,
        realized_today: Decimal,
        entries: bool,
    ) -> LiveOutcome:
        ctx = await self.context(user, account, dict(view.rules))
        out = await self.settle(ctx, orders, view.now)
        if out.resolved:
            async with self._sm() as session:
                positions, orders = await load_user_state(session, user.id)
        free: Decimal | None = None
        if entries and book is not None and user.may_enter and wants_entries(book, positions, orders):
            balance: dict[str, Any] = await ctx.client.fetch_balance()
            raw = (balance.get("free") or {}).get(self.quote)
            free = Decimal(str(raw)) if raw is not None else ZERO
        plan = plan_user(
            user, book if entries else None, positions, orders, free, realized_today, view, self.policy
        )
        await self._write_plan_extras(user, plan, view.now)
        waiting = await self._refused_recently(plan.intents)
        for intent in plan.intents:
            if intent.position is not None and intent.position.id in waiting:
                continue
            await self.executor.execute(ctx, intent)
            out.orders += 1
        return out

    async def _refused_recently(self, intents: list[Intent]) -> set[int]:
        """Positions whose last exit the exchange refused a short while ago (say the coins were sold
        by hand): asking again every tick would only flood the exchange and the orders table."""
        ids = {i.position.id for i in intents if i.kind == "exit" and i.position is not None}
        if not ids:
            return set()
        async with self._sm() as session:
            rows = await session.scalars(
                select(Order.position_id).where(
                    Order.position_id.in_(ids),
                    Order.status == OrderStatus.rejected,
                    Order.updated_at >= utcnow() - EXIT_RETRY_AFTER,  # rows are stamped on the wall clock
                )
            )
            return {r for r in rows if r is not None}

    async def _write_plan_extras(self, user: UserRow, plan: Plan, now: datetime) -> None:
        if not plan.state_updates and not plan.daily_limit_notice and not plan.unsendable_exits:
            return
        async with self._sm() as session, session.begin():
            for pos in plan.unsendable_exits:
                await notify(
                    session,
                    user_id=user.id,
                    chat_id=user.telegram_id,
                    language=user.language,
                    kind="market_rules",
                    dedupe_key=unsendable_key(pos.id),
                    symbol=pos.symbol,
                )
            if plan.state_updates:
                await session.execute(
                    update(Position), [state_values(p.id, s) for p, s in plan.state_updates]
                )
            if plan.daily_limit_notice:
                day = utc_day(now)
                await session.execute(
                    update(User).where(User.id == user.id).values(daily_loss_notified_on=day)
                )
                await notify(
                    session,
                    user_id=user.id,
                    chat_id=user.telegram_id,
                    language=user.language,
                    kind="daily_loss",
                    dedupe_key=f"daily_loss:{user.id}:{day}",
                )

    async def keys_invalid(self, user: UserRow, account: AccountRow, reason: str) -> None:
        """Mark the account invalid and tell the user once (per stored key: new keys, new message)."""
        await self.pool.drop(account.id)
        async with self._sm() as session, session.begin():
            await session.execute(
                update(ExchangeAccount)
                .where(ExchangeAccount.id == account.id)
                .values(valid=False, invalid_reason=reason[:255], updated_at=utcnow())
            )
            await notify(
                session,
                user_id=user.id,
                chat_id=user.telegram_id,
                language=user.language,
                kind="invalid_keys",
                dedupe_key=f"invalid_keys:{account.id}:{int(account.updated_at.timestamp() * 1000)}",
                exchange=account.exchange,
            )
        log.warning("user %s: exchange account %s marked invalid", user.id, account.id)


def wants_entries(book: SignalBook, positions: list[PositionRow], orders: list[OrderRow]) -> bool:
    held = {p.symbol for p in positions} | {o.symbol for o in orders}
    return any(s.symbol not in held for s in book.entries())


__all__ = ["KeysInvalid", "LiveOutcome", "LiveUsers", "wants_entries"]
