"""Exactly-once live orders over ccxt.

1. The order row is committed as `pending` under its client order id BEFORE anything is sent.
2. After a timeout, a 5xx, a 429 or a lost response the exchange is asked for that client order id
   (Binance: GET /api/v3/order?origClientOrderId=...) before the order is ever sent again; a
   "Duplicate order sent." reply means it is already there. Only a definite "order does not exist"
   allows sending again, with the same client order id.
3. A found order is applied in one transaction: the order, its fills, the position and the outbox.
4. A definite refusal (funds, market rules) marks the order rejected and tells the user.
If the exchange cannot be asked, the order stays `pending` and is resolved at the start of the user's
next job or by reconciliation; it is never sent blind.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import ccxt.async_support as ccxt
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.models import Fill, Mode, Order, OrderStatus, Position, PositionStatus
from core.db.types import utcnow
from core.engine.ledger import Execution, entry_position, exit_effect
from core.engine.notices import fmt, notify
from core.engine.planner import Intent, Policy, unsendable_key
from core.engine.snapshot import PositionRow, UserRow
from core.exits import PositionState, on_price
from core.risk import ZERO, MarketRules, dec
from core.services.sql import insert_ignore

log = logging.getLogger(__name__)

FINAL = (OrderStatus.closed, OrderStatus.canceled, OrderStatus.rejected)
NEVER_REACHED = "never reached the exchange"
AUTH_CODES = re.compile(r'"code"\s*:\s*-201[45]\b')
MARKET_WIDE = re.compile(r"market is closed|invalid symbol", re.IGNORECASE)


class KeysInvalid(Exception):
    """The exchange refused the account's keys; the account must be marked invalid."""


class Lookup(Enum):
    NOT_FOUND = "not_found"
    UNKNOWN = "unknown"


def is_auth_error(exc: BaseException) -> bool:
    if isinstance(exc, ccxt.AuthenticationError | ccxt.PermissionDenied | ccxt.AccountSuspended):
        return True
    # ccxt binance turns -2015 into DDoSProtection once a key has worked before ("temporary ban")
    return isinstance(exc, ccxt.DDoSProtection) and AUTH_CODES.search(str(exc)) is not None


def is_duplicate(exc: BaseException) -> bool:
    return isinstance(exc, ccxt.ExchangeError) and "Duplicate order" in str(exc)


def is_market_wide(exc: BaseException) -> bool:
    """The symbol itself is unusable (unknown, delisted, halted), not just this order's size or value.
    ccxt binance reports a halted market as BadRequest (-1013 "Market is closed."), so read the text."""
    if isinstance(exc, ccxt.BadSymbol | ccxt.MarketClosed):
        return True
    return isinstance(exc, ccxt.ExchangeError) and MARKET_WIDE.search(str(exc)) is not None


def is_ambiguous(exc: BaseException) -> bool:
    """Timeouts, 5xx, 429 and lost responses: the order may or may not be on the exchange."""
    return isinstance(exc, ccxt.NetworkError) and not is_auth_error(exc)


@dataclass
class LiveContext:
    user: UserRow
    account_id: int
    exchange: str
    client: Any
    rules: dict[str, MarketRules]


@dataclass(frozen=True)
class OrderRef:
    id: int
    client_order_id: str
    symbol: str
    side: str
    leg: str
    amount: Decimal
    position_id: int | None
    signal_id: str | None
    status: OrderStatus


def _dec(value: Any) -> Decimal | None:
    return None if value is None else dec(value if not isinstance(value, float) else float(value))


def execution_of(order: dict[str, Any]) -> Execution:
    """A ccxt unified order as an Execution (fees in the order's fee currency)."""
    filled = _dec(order.get("filled")) or ZERO
    cost = _dec(order.get("cost")) or ZERO
    average = _dec(order.get("average"))
    if average is None:
        average = cost / filled if filled > 0 else (_dec(order.get("price")) or ZERO)
    fee = ZERO
    currency = None
    trades: list[tuple[str, Decimal, Decimal, Decimal, int]] = []
    for t in order.get("trades") or []:
        tfee = t.get("fee") or {}
        fcost = _dec(tfee.get("cost")) or ZERO
        fee += fcost
        currency = tfee.get("currency") or currency
        trades.append(
            (
                str(t.get("id") or f"{order.get('id')}-{len(trades)}"),
                _dec(t.get("price")) or average,
                _dec(t.get("amount")) or ZERO,
                fcost,
                int(t.get("timestamp") or 0),
            )
        )
    if not trades:
        ofee = order.get("fee") or {}
        fee = _dec(ofee.get("cost")) or ZERO
        currency = ofee.get("currency")
        for f in order.get("fees") or []:
            if f and f.get("cost") is not None and fee == ZERO:
                fee, currency = _dec(f.get("cost")) or ZERO, f.get("currency")
    return Execution(filled, average, cost, fee, currency, tuple(trades))


def status_of(order: dict[str, Any]) -> OrderStatus:
    raw = order.get("status")
    if raw == "closed":
        return OrderStatus.closed
    if raw == "open":
        return OrderStatus.open
    if raw in ("canceled", "expired"):
        return OrderStatus.canceled
    if raw == "rejected":
        return OrderStatus.rejected
    return OrderStatus.open


class LiveExecutor:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        policy: Policy,
        quote: str,
        *,
        send_attempts: int = 3,
        lookup_attempts: int = 5,
        retry_delay: float = 0.5,
        on_market_error: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self._sm = sessionmaker
        self.policy = policy
        self.quote = quote
        self.send_attempts = send_attempts
        self.lookup_attempts = lookup_attempts
        self.retry_delay = retry_delay
        self._on_market_error = on_market_error
        self.sent = 0  # create_order requests made, for the cycle's counters

    # ---------------------------------------------------------------- placing
    async def execute(self, ctx: LiveContext, intent: Intent) -> OrderStatus:
        """Place one planned order exactly once. Returns its status afterwards (pending: unresolved)."""
        ref, created = await self._write_pending(ctx, intent)
        if ref.status in FINAL:
            return ref.status  # done by an earlier run of this cycle
        if not created:  # an earlier attempt may have reached the exchange: ask before sending
            return await self.resolve(ctx, ref, intent, resend=ref.status == OrderStatus.pending)
        return await self._send(ctx, ref, intent)

    async def _write_pending(self, ctx: LiveContext, intent: Intent) -> tuple[OrderRef, bool]:
        """The order row, committed as pending before anything is sent; (row, whether it is new)."""
        async with self._sm() as session, session.begin():
            created = await insert_ignore(
                session,
                Order,
                {
                    "user_id": ctx.user.id,
                    "position_id": intent.position.id if intent.position is not None else None,
                    "mode": Mode.live,
                    "exchange": ctx.exchange,
                    "client_order_id": intent.client_order_id,
                    "symbol": intent.symbol,
                    "side": intent.side,
                    "type": "market",
                    "leg": intent.leg[:32],
                    "signal_id": intent.signal_id[:64],
                    "amount": intent.amount,
                    "stop_price": intent.stop if intent.leg == "entry" else None,
                    "status": OrderStatus.pending,
                    "filled": ZERO,
                    "cost": ZERO,
                    "fee": ZERO,
                    "created_at": utcnow(),
                    "updated_at": utcnow(),
                },
                ["client_order_id"],
            )
            row = await session.scalar(select(Order).where(Order.client_order_id == intent.client_order_id))
            assert row is not None
            return _ref(row), created

    async def _send(self, ctx: LiveContext, ref: OrderRef, intent: Intent | None) -> OrderStatus:
        ambiguous = False  # once a send may have landed, auth errors no longer prove "not placed"
        for _attempt in range(self.send_attempts):
            try:
                self.sent += 1
                result = await ctx.client.create_order(
                    ref.symbol,
                    "market",
                    ref.side,
                    str(ref.amount),
                    None,
                    {"newClientOrderId": ref.client_order_id},
                )
            except Exception as exc:
                if is_auth_error(exc):
                    if not ambiguous:
                        await self._reject(ctx, ref, "the exchange refused the API keys", notify_kind=None)
                    raise KeysInvalid(str(exc)[:200]) from None
                if is_duplicate(exc) or is_ambiguous(exc):
                    found = await self.lookup(ctx, ref)
                    if isinstance(found, dict):
                        return await self.apply(ctx, ref, found, intent)
                    if found is Lookup.UNKNOWN:
                        log.warning(
                            "order %s unresolved after %s; stays pending",
                            ref.client_order_id,
                            type(exc).__name__,
                        )
                        return OrderStatus.pending
                    ambiguous = ambiguous or not is_duplicate(exc)
                    continue  # definitely not there: send again, same client order id
                if isinstance(exc, ccxt.InsufficientFunds):
                    await self._reject(ctx, ref, "insufficient funds", notify_kind="insufficient_funds")
                    return OrderStatus.rejected
                if isinstance(exc, ccxt.InvalidOrder | ccxt.BadSymbol | ccxt.BadRequest | ccxt.MarketClosed):
                    # only a fault of the market itself skips the symbol for everyone; a refusal of this
                    # order (a filter failure on its amount or value) stays this user's own
                    if self._on_market_error is not None and is_market_wide(exc):
                        self._on_market_error(ctx.exchange, ref.symbol, f"{type(exc).__name__}: {exc}"[:200])
                    await self._reject(ctx, ref, f"{type(exc).__name__}", notify_kind="market_rules")
                    return OrderStatus.rejected
                if isinstance(exc, ccxt.ExchangeError):
                    await self._reject(ctx, ref, f"{type(exc).__name__}", notify_kind="order_error")
                    return OrderStatus.rejected
                raise
            return await self.apply(ctx, ref, result, intent)
        return OrderStatus.pending

    # ---------------------------------------------------------------- asking the exchange
    async def lookup(self, ctx: LiveContext, ref: OrderRef) -> dict[str, Any] | Lookup:
        """The exchange's order for this client order id, NOT_FOUND, or UNKNOWN (could not ask)."""
        delay = self.retry_delay
        for _ in range(self.lookup_attempts):
            try:
                order: dict[str, Any] = await ctx.client.fetch_order(
                    None, ref.symbol, {"origClientOrderId": ref.client_order_id}
                )
                return order
            except ccxt.OrderNotFound:
                return Lookup.NOT_FOUND
            except Exception as exc:
                if is_auth_error(exc):
                    raise KeysInvalid(str(exc)[:200]) from None
                if not is_ambiguous(exc):
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        return Lookup.UNKNOWN

    async def resolve(
        self, ctx: LiveContext, ref: OrderRef, intent: Intent | None = None, *, resend: bool = False
    ) -> OrderStatus:
        """Settle an order the database has as pending/open. Not on the exchange: resent when `resend`,
        else canceled as never having reached it (reconciliation)."""
        found = await self.lookup(ctx, ref)
        if isinstance(found, dict):
            return await self.apply(ctx, ref, found, intent)
        if found is Lookup.UNKNOWN:
            return ref.status
        if resend:
            return await self._send(ctx, ref, intent)
        async with self._sm() as session, session.begin():
            await session.execute(
                update(Order)
                .where(Order.id == ref.id, Order.status.in_((OrderStatus.pending, OrderStatus.open)))
                .values(status=OrderStatus.canceled, error=NEVER_REACHED, updated_at=utcnow())
            )
        return OrderStatus.canceled

    # ---------------------------------------------------------------- recording
    async def _reject(self, ctx: LiveContext, ref: OrderRef, reason: str, notify_kind: str | None) -> None:
        async with self._sm() as session, session.begin():
            await session.execute(
                update(Order)
                .where(Order.id == ref.id, Order.status == OrderStatus.pending)
                .values(status=OrderStatus.rejected, error=reason[:500], updated_at=utcnow())
            )
            if notify_kind is not None:
                # an exit is decided again every tick (a new client order id each time): tell the user
                # once per position and kind of refusal, not every 15 seconds
                if ref.position_id is None:
                    key = f"rejected:{ref.client_order_id}"
                elif notify_kind == "market_rules":
                    key = unsendable_key(ref.position_id)
                else:
                    key = f"rejected:pos{ref.position_id}:{notify_kind}"
                await notify(
                    session,
                    user_id=ctx.user.id,
                    chat_id=ctx.user.telegram_id,
                    language=ctx.user.language,
                    kind=notify_kind,
                    dedupe_key=key,
                    symbol=ref.symbol,
                    reason=reason,
                )

    async def apply(
        self, ctx: LiveContext, ref: OrderRef, found: dict[str, Any], intent: Intent | None
    ) -> OrderStatus:
        """Apply the exchange's view of an order: order, fills, position and outbox in one transaction."""
        status = status_of(found)
        ex = execution_of(found)
        now = utcnow()
        async with self._sm() as session, session.begin():
            row = await session.get(Order, ref.id, with_for_update=True)
            assert row is not None
            delta = ex.filled - row.filled
            if row.status in FINAL and delta <= 0:
                return row.status
            row.status = status
            row.exchange_order_id = (
                str(found.get("id")) if found.get("id") is not None else row.exchange_order_id
            )
            row.filled, row.average, row.cost, row.fee = ex.filled, ex.average, ex.cost, ex.fee
            row.fee_currency = ex.fee_currency
            row.updated_at = now
            for trade_id, price, amount, fee, ts in ex.trades:
                await insert_ignore(
                    session,
                    Fill,
                    {
                        "user_id": row.user_id,
                        "order_id": row.id,
                        "trade_id": trade_id[:64],
                        "symbol": row.symbol,
                        "side": row.side,
                        "price": price,
                        "amount": amount,
                        "fee": fee,
                        "fee_currency": ex.fee_currency,
                        "ts": now if not ts else _ms(ts),
                    },
                    ["order_id", "trade_id"],
                )
            if delta > 0:
                part = Execution(
                    delta, ex.average, ex.average * delta, ex.fee * delta / ex.filled, ex.fee_currency
                )
                await self._position_effect(session, ctx, row, part, intent, now)
        return status

    async def _position_effect(
        self,
        session: AsyncSession,
        ctx: LiveContext,
        row: Order,
        part: Execution,
        intent: Intent | None,
        now: datetime,
    ) -> None:
        user = ctx.user
        key = f"fill:{row.client_order_id}"
        if row.leg == "entry":
            if row.position_id is not None:  # a later partial fill of the same entry
                pos = await session.get(Position, row.position_id)
                if pos is not None:
                    pos.amount += part.filled
                    pos.initial_amount += part.filled
                    pos.fees += part.fee
                return
            values = entry_position(
                user_id=user.id,
                mode=Mode.live,
                exchange=row.exchange,
                symbol=row.symbol,
                execution=part,
                stop=intent.stop if intent is not None else row.stop_price,
                rules=ctx.rules.get(row.symbol),
                policy=self.policy,
                signal_id=row.signal_id,
                strategy="+".join(user.strategies)[:64],
                now=now,
            )
            pos = Position(**values)
            session.add(pos)
            await session.flush()
            row.position_id = pos.id
            await notify(
                session,
                user_id=user.id,
                chat_id=user.telegram_id,
                language=user.language,
                kind="entry",
                dedupe_key=key,
                amount=fmt(pos.amount),
                symbol=row.symbol,
                price=fmt(part.average),
                stop=fmt(pos.stop_price),
            )
            return
        pos = await session.get(Position, row.position_id) if row.position_id is not None else None
        if pos is None or pos.status != PositionStatus.open:
            log.warning("exit order %s filled for a position that is not open", row.client_order_id)
            return
        prow = PositionRow(
            pos.id,
            pos.user_id,
            pos.mode,
            pos.exchange,
            pos.symbol,
            pos.side,
            pos.amount,
            pos.initial_amount,
            pos.entry_price,
            pos.stop_price,
            pos.initial_stop,
            list(pos.targets or []),
            pos.trail_active,
            pos.high_water,
            pos.realized_pnl,
            pos.fees,
            pos.opened_at,
            pos.signal_id,
        )
        new_state: PositionState | None
        if intent is not None and intent.new_state is not None:
            new_state = intent.new_state
        elif row.leg.startswith("take_profit") and pos.amount - part.filled > 0:
            rules = ctx.rules.get(row.symbol) or MarketRules(row.symbol)
            new_state = after_target(PositionState.from_db(pos), row.leg, part.average, self.policy, rules)
        else:
            new_state = None
        effect = exit_effect(prow, new_state, part, row.leg, now)
        for name, value in effect.values.items():
            if name != "id":
                setattr(pos, name, value)
        await notify(
            session,
            user_id=user.id,
            chat_id=user.telegram_id,
            language=user.language,
            kind="exit" if effect.closed else "partial",
            dedupe_key=key,
            symbol=row.symbol,
            amount=fmt(part.filled),
            price=fmt(part.average),
            reason=row.leg,
            pnl=fmt(effect.pnl.quantize(Decimal("0.01"))),
            quote=self.quote,
        )


def after_target(
    state: PositionState, leg: str, price: Decimal, policy: Policy, rules: MarketRules
) -> PositionState:
    """The position after its take-profit `leg` filled, when the plan that sent it is gone (settled by a
    later job or by reconciliation): the ladder replayed at that target marks it done and moves the
    stop (breakeven, trail) as the original decision did, so the target is never sold twice."""
    try:
        index = int(leg.rsplit("_", 1)[1]) - 1
        target = state.targets[index]
    except (ValueError, IndexError):
        return state
    new, _ = on_price(state, max(target.price, price), state.opened_at, policy.exits, rules)
    if new is not None:
        return new
    done = tuple(replace(t, done=True) if i <= index else t for i, t in enumerate(state.targets))
    return replace(state, targets=done)


def _ref(row: Order) -> OrderRef:
    return OrderRef(
        row.id,
        row.client_order_id,
        row.symbol,
        row.side,
        row.leg,
        row.amount,
        row.position_id,
        row.signal_id,
        row.status,
    )


def ref_of(o: Any) -> OrderRef:
    """An OrderRef from an Order row or a snapshot OrderRow."""
    return OrderRef(
        o.id, o.client_order_id, o.symbol, o.side, o.leg, o.amount, o.position_id, o.signal_id, o.status
    )


def _ms(ts: int) -> datetime:
    from core.engine.ledger import ms_to_dt

    return ms_to_dt(ts)
