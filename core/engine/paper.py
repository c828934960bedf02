"""The paper account: fills with core.fills.FillModel at the shared market price, written in bulk.

Each user's plan becomes a `UserWrites` (orders, fills, positions, balances, outbox rows) computed in
memory; `write_batch` stores many users in one transaction with multi-row statements. A user whose
client order ids are already stored was done by an earlier run of the same cycle and is skipped, so
a retried or restarted cycle never fills twice. If a batch fails, each of its users is retried alone,
so one bad row never costs another user their fills.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.models import (
    Fill,
    Mode,
    Order,
    OrderStatus,
    OutboxMessage,
    OutboxStatus,
    PaperBalance,
    Position,
    User,
)
from core.db.types import utcnow
from core.engine.bulk import insert_rows, table, update_rows
from core.engine.ledger import Execution, entry_position, exit_effect, state_values
from core.engine.notices import fmt, outbox_values
from core.engine.planner import MarketView, Plan, Policy, unsendable_key
from core.engine.snapshot import BalanceRow, PositionRow, UserRow
from core.fills import FillModel
from core.risk import ZERO, utc_day

log = logging.getLogger(__name__)
CHUNK_IDS = 500


@dataclass(slots=True)
class UserWrites:
    user_id: int
    cids: list[str] = field(default_factory=list)
    new_positions: list[dict[str, Any]] = field(default_factory=list)
    # orders: (values, index into new_positions or None, fill values or None)
    orders: list[tuple[dict[str, Any], int | None, dict[str, Any] | None]] = field(default_factory=list)
    position_updates: list[dict[str, Any]] = field(default_factory=list)
    balance_updates: list[dict[str, Any]] = field(default_factory=list)
    balance_inserts: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    daily_notice_on: Any = None
    orders_filled: int = 0

    @property
    def empty(self) -> bool:
        return not (self.orders or self.position_updates or self.outbox)


class PaperDesk:
    def __init__(self, fill_model: FillModel, policy: Policy, exchange: str, quote: str) -> None:
        self.fm = fill_model
        self.policy = policy
        self.exchange = exchange
        self.quote = quote

    def writes_for(
        self,
        user: UserRow,
        plan: Plan,
        balances: dict[str, BalanceRow],
        market: MarketView,
        now: datetime,
    ) -> UserWrites:
        """The rows one user's plan produces (pure: the snapshot rows are not modified)."""
        w = UserWrites(user.id)
        free: dict[str, Decimal] = {c: b.free for c, b in balances.items()}
        current: dict[int, PositionRow] = {}
        merged: dict[int, dict[str, Any]] = {}
        for pos, state in plan.state_updates:
            w.position_updates.append(state_values(pos.id, state))
        for intent in plan.intents:
            rules = market.rules.get(intent.symbol)
            tick = rules.price_tick if rules else None
            fill = self.fm.market(intent.side, intent.amount, intent.ref_price, tick)
            base = intent.symbol.split("/")[0]
            if intent.side == "buy":
                need = fill.cost + fill.fee
                if free.get(self.quote, ZERO) < need:
                    continue  # sizing left room for fees; a stale balance just skips this entry
                free[self.quote] = free.get(self.quote, ZERO) - need
                free[base] = free.get(base, ZERO) + fill.amount
            else:
                free[base] = max(ZERO, free.get(base, ZERO) - fill.amount)
                free[self.quote] = free.get(self.quote, ZERO) + fill.cost - fill.fee
            execution = Execution(fill.amount, fill.price, fill.cost, fill.fee, self.quote)
            order = {
                "user_id": user.id,
                "position_id": intent.position.id if intent.position is not None else None,
                "mode": Mode.paper,
                "exchange": self.exchange,
                "client_order_id": intent.client_order_id,
                "exchange_order_id": None,
                "symbol": intent.symbol,
                "side": intent.side,
                "type": "market",
                "leg": intent.leg[:32],
                "signal_id": intent.signal_id[:64],
                "amount": intent.amount,
                "price": None,
                "stop_price": intent.stop if intent.leg == "entry" else None,
                "status": OrderStatus.closed,
                "filled": fill.amount,
                "average": fill.price,
                "cost": fill.cost,
                "fee": fill.fee,
                "fee_currency": self.quote,
                "created_at": now,
                "updated_at": now,
            }
            fill_row = {
                "user_id": user.id,
                "trade_id": f"paper-{intent.client_order_id}",
                "symbol": intent.symbol,
                "side": intent.side,
                "price": fill.price,
                "amount": fill.amount,
                "fee": fill.fee,
                "fee_currency": self.quote,
                "ts": now,
            }
            key = f"fill:{intent.client_order_id}"
            if intent.kind == "entry":
                values = entry_position(
                    user_id=user.id,
                    mode=Mode.paper,
                    exchange=self.exchange,
                    symbol=intent.symbol,
                    execution=execution,
                    stop=intent.stop,
                    rules=rules,
                    policy=self.policy,
                    signal_id=intent.signal_id,
                    strategy="+".join(user.strategies)[:64],
                    now=now,
                )
                w.new_positions.append(values)
                w.orders.append((order, len(w.new_positions) - 1, fill_row))
                w.outbox.append(
                    outbox_values(
                        user.id,
                        user.telegram_id,
                        user.language,
                        "entry",
                        key,
                        amount=fmt(fill.amount),
                        symbol=intent.symbol,
                        price=fmt(fill.price),
                        stop=fmt(values["stop_price"]),
                    )
                )
            else:
                assert intent.position is not None
                # several ladder targets in one tick: each close starts where the previous left off
                pos = current.get(intent.position.id, intent.position)
                effect = exit_effect(pos, intent.new_state, execution, intent.leg, now)
                current[pos.id] = replace(
                    pos,
                    amount=effect.values["amount"],
                    realized_pnl=effect.values["realized_pnl"],
                    fees=effect.values["fees"],
                )
                merged.setdefault(pos.id, {}).update(effect.values)
                w.orders.append((order, None, fill_row))
                kind = "exit" if effect.closed else "partial"
                w.outbox.append(
                    outbox_values(
                        user.id,
                        user.telegram_id,
                        user.language,
                        kind,
                        key,
                        symbol=intent.symbol,
                        amount=fmt(fill.amount),
                        price=fmt(fill.price),
                        reason=intent.leg,
                        pnl=fmt(effect.pnl.quantize(Decimal("0.01"))),
                        quote=self.quote,
                    )
                )
            w.cids.append(intent.client_order_id)
            w.orders_filled += 1
        w.position_updates.extend(merged.values())
        for currency, amount in free.items():
            row = balances.get(currency)
            if row is None:
                if amount > 0:
                    w.balance_inserts.append(
                        {"user_id": user.id, "currency": currency, "free": amount, "used": ZERO}
                    )
            elif amount != row.free:
                w.balance_updates.append({"id": row.id, "free": amount})
        for pos in plan.unsendable_exits:
            w.outbox.append(
                outbox_values(
                    user.id,
                    user.telegram_id,
                    user.language,
                    "market_rules",
                    unsendable_key(pos.id),
                    symbol=pos.symbol,
                )
            )
        if plan.daily_limit_notice:
            day = utc_day(now)
            w.daily_notice_on = day
            w.outbox.append(
                outbox_values(
                    user.id, user.telegram_id, user.language, "daily_loss", f"daily_loss:{user.id}:{day}"
                )
            )
        return w


async def _existing_cids(session: AsyncSession, cids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(cids), CHUNK_IDS):
        part = cids[i : i + CHUNK_IDS]
        found.update(
            await session.scalars(select(Order.client_order_id).where(Order.client_order_id.in_(part)))
        )
    return found


async def reserve_ids(session: AsyncSession, table: str, n: int) -> list[int]:
    """`n` primary keys for rows about to be inserted, so multi-row INSERTs need no RETURNING
    (which SQLite would execute one row at a time). SQLite: the caller already holds the write lock
    (see `_lock_for_write`), so max(id) cannot move; PostgreSQL: taken from the table's sequence."""
    if n <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        rows = await session.execute(
            text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, :n)"),  # noqa: S608
            {"n": n},
        )
        return [int(r[0]) for r in rows]
    top = (await session.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}"))).scalar_one()  # noqa: S608
    return list(range(int(top) + 1, int(top) + 1 + n))


async def _lock_for_write(session: AsyncSession) -> None:
    """On SQLite, take the database's write lock now (any write statement does, even one that
    changes no row), so ids reserved from max(id) stay ours until commit."""
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(text("UPDATE paper_balances SET id = id WHERE id < 0"))


async def _store(session: AsyncSession, batch: Sequence[UserWrites], now: datetime) -> None:
    positions_t, orders_t, fills_t = table(Position), table(Order), table(Fill)
    positions = [p for w in batch for p in w.new_positions]
    n_orders = sum(len(w.orders) for w in batch)
    pos_ids = await reserve_ids(session, "positions", len(positions))
    order_ids = await reserve_ids(session, "orders", n_orders)
    for pid, values in zip(pos_ids, positions, strict=True):
        values["id"] = pid
    orders: list[dict[str, Any]] = []
    fill_rows: list[dict[str, Any]] = []
    offset = 0
    for w in batch:
        for values, pos_index, fill_row in w.orders:
            values["id"] = order_ids[len(orders)]
            if pos_index is not None:
                values["position_id"] = pos_ids[offset + pos_index]
            orders.append(values)
            if fill_row is not None:
                fill_row["order_id"] = values["id"]
                fill_rows.append(fill_row)
        offset += len(w.new_positions)
    await insert_rows(session, positions_t, positions)
    await insert_rows(session, orders_t, orders)
    await insert_rows(session, fills_t, fill_rows)
    # UPDATE by primary key, one statement per column set (partial and full closes differ)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for u in (u for w in batch for u in w.position_updates):
        groups.setdefault(tuple(sorted(u)), []).append(u)
    for rows in groups.values():
        await update_rows(session, positions_t, rows)
    await update_rows(session, table(PaperBalance), [b for w in batch for b in w.balance_updates])
    await insert_rows(session, table(PaperBalance), [b for w in batch for b in w.balance_inserts])
    wall = utcnow()  # delivery runs on the wall clock, whatever clock the market (a replay) is on
    outbox = [
        {**m, "status": OutboxStatus.pending, "attempts": 0, "next_attempt_at": wall, "created_at": wall}
        for w in batch
        for m in w.outbox
    ]
    await insert_rows(session, table(OutboxMessage), outbox, ignore_conflict="dedupe_key")
    notified = [
        {"id": w.user_id, "daily_loss_notified_on": w.daily_notice_on} for w in batch if w.daily_notice_on
    ]
    await update_rows(session, table(User), notified)


async def write_batch(
    sessionmaker: async_sessionmaker[AsyncSession], batch: Sequence[UserWrites], now: datetime
) -> tuple[list[UserWrites], dict[int, str]]:
    """Store a batch of users' writes. Returns (the users written, {user id: error} for failed users)."""
    batch = [w for w in batch if not w.empty]
    if not batch:
        return [], {}
    try:
        async with sessionmaker() as session, session.begin():
            await _lock_for_write(session)
            done = await _existing_cids(session, [c for w in batch for c in w.cids])
            fresh = [w for w in batch if not done.intersection(w.cids)]
            await _store(session, fresh, now)
        return fresh, {}
    except Exception as exc:
        if len(batch) == 1:
            log.warning("paper writes of user %s failed: %s", batch[0].user_id, exc)
            # only the kind goes on: it is told to the user and keys their once-a-day notice (no SQL text)
            return [], {batch[0].user_id: type(exc).__name__}
    written: list[UserWrites] = []
    errors: dict[int, str] = {}
    for w in batch:  # isolate the failing user
        ok, err = await write_batch(sessionmaker, [w], now)
        written += ok
        errors.update(err)
    return written, errors
