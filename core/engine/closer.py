"""Closing a position by hand (the bot's close buttons), done by the engine itself.

It holds the engine's cycle lock, so a manual close and a cycle or watch tick never act on the same
position at once, and it re-reads the position first: a position the engine closed a moment ago is
refused instead of sold twice. Live closes go through the engine's exactly-once executor (client order
id from the position and its amount, pending row before sending); paper closes through the paper
closer, committed before the lock is released.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import ExchangeAccount, Mode, OrderStatus, Position, User
from core.engine.ids import client_order_id
from core.engine.market_view import rules_for
from core.engine.planner import Intent
from core.engine.snapshot import live_accounts, load_user_state, load_users
from core.services.errors import UserError
from core.services.l10n import N_
from core.services.positions import CloseResult, PaperPositionCloser, owned_open_position
from core.services.prices import PriceSource

if TYPE_CHECKING:
    from core.engine.app import Engine


class EngineCloser:
    def __init__(self, engine: Engine, prices: PriceSource) -> None:
        self._engine = engine
        self._prices = prices
        self._paper = PaperPositionCloser(prices, engine.fill_model, engine.quote)

    async def close(self, session: AsyncSession, user: User, position: Position) -> CloseResult:
        """Close the whole position at market. Works in its own transactions: `session` is left alone."""
        async with self._engine.exclusive():
            if position.mode == Mode.paper:
                async with self._engine.sessionmaker() as fresh, fresh.begin():
                    current = await owned_open_position(fresh, user.id, position.id)
                    owner = await fresh.get(User, user.id)
                    assert owner is not None
                    return await self._paper.close(fresh, owner, current)
            return await self._close_live(user.id, position.id)

    async def _close_live(self, user_id: int, position_id: int) -> CloseResult:
        engine = self._engine
        async with engine.sessionmaker() as s:
            [user_row] = await load_users(s, User.id == user_id)
            positions, in_flight = await load_user_state(s, user_id)
            pos = next((p for p in positions if p.id == position_id), None)
            if pos is None:
                raise UserError(N_("This position was not found or is already closed."))
            if any(o.position_id == position_id for o in in_flight):
                # an exit (a stop, a target) is on its way or unresolved: a second sell could sell twice
                raise UserError(
                    N_("The close order for {symbol} was not filled yet; you will get the fill here."),
                    symbol=pos.symbol,
                )
            accounts = await live_accounts(s, ExchangeAccount.user_id == user_id, [pos.exchange])
            account = accounts.get(user_id)
            if account is None:
                raise UserError(N_("Live mode needs valid exchange keys. Add them with /keys first."))
        rules = rules_for(await engine.market.registry.get(pos.exchange), [pos.symbol])
        ctx = await engine.live.context(user_row, account, rules)
        price = await self._prices.last_price(pos.symbol) or pos.entry_price
        signal = f"manual:{pos.id}:{pos.amount}"  # what is left after a partial close is a new order
        intent = Intent(
            user_id=user_id,
            kind="exit",
            symbol=pos.symbol,
            side="sell",
            amount=pos.amount,
            ref_price=price,
            signal_id=signal,
            leg="manual",
            client_order_id=client_order_id(user_id, signal, "manual"),
            position=pos,
            new_state=None,
            reasons=("closed by hand",),
            closes=True,
        )
        status = await engine.executor.execute(ctx, intent)
        if status in (OrderStatus.rejected, OrderStatus.canceled):
            raise UserError(
                N_("The exchange refused to close {symbol}. Check your balance there with /balance."),
                symbol=pos.symbol,
            )
        if status != OrderStatus.closed:
            raise UserError(
                N_("The close order for {symbol} was not filled yet; you will get the fill here."),
                symbol=pos.symbol,
            )
        async with engine.sessionmaker() as s:
            closed = await s.get(Position, pos.id)
            assert closed is not None
            sold = pos.amount - closed.amount
            pnl = closed.realized_pnl - pos.realized_pnl
        return CloseResult(pos.symbol, closed.exit_price or price, sold, pnl.quantize(Decimal("0.00000001")))
