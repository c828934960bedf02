"""Orders settled without the plan that sent them, and refusals that are one user's own."""

from __future__ import annotations

from decimal import Decimal

import ccxt.async_support as ccxt
import pytest
from sqlalchemy import select, update

from core.db.models import Order, OrderStatus, OutboxMessage, Position, PositionStatus, User
from core.engine.closer import EngineCloser
from core.engine.live import is_market_wide
from core.risk import MarketRules
from core.services.errors import UserError
from tests.engine.conftest import add_live_user, add_paper_user, agreement, build_engine, fixed_entries


async def test_a_take_profit_settled_by_a_later_job_is_not_sold_again(
    exchange_server, sessionmaker, engines
) -> None:
    picks = [s for s in await exchange_server.symbols() if s.endswith("/USDT")][:1]
    engine = build_engine(exchange_server, sessionmaker, fixed_entries(picks))
    engines.append(engine)
    engine.executor.lookup_attempts = 2
    uid = await add_live_user(sessionmaker, exchange_server, 970, "ltp0")
    await engine.run_cycle_once()
    # a position far in profit: the first target (half) is reached, the second is out of reach
    ladder = [
        {"price": "0.00000003", "fraction": "0.5", "done": False},
        {"price": "1000000000", "fraction": "0.5", "done": False},
    ]
    async with sessionmaker() as s, s.begin():
        await s.execute(
            update(Position).values(
                entry_price=Decimal("0.00000002"),
                stop_price=Decimal("0.00000001"),
                initial_stop=Decimal("0.00000001"),
                targets=ladder,
            )
        )
    # the sell lands but its response is lost, and the look-ups fail: the order stays pending
    await exchange_server.fault("/api/v3/order", "drop_response", count=1, method="POST")
    await exchange_server.fault("/api/v3/order", "http_500", count=2, method="GET")
    await engine.watch_once()
    async with sessionmaker() as s:
        sell = await s.scalar(select(Order).where(Order.side == "sell"))
    assert sell is not None and sell.leg == "take_profit_1" and sell.status == OrderStatus.pending

    await engine.watch_once()  # settles the order from the exchange, without the plan that sent it
    async with sessionmaker() as s:
        pos = await s.scalar(select(Position).where(Position.user_id == uid))
        sells = list(await s.scalars(select(Order).where(Order.side == "sell")))
    assert pos is not None and pos.status == PositionStatus.open
    assert [o.status for o in sells] == [OrderStatus.closed]
    assert pos.amount == pos.initial_amount - sells[0].filled
    assert [t["done"] for t in pos.targets] == [True, False]
    assert pos.stop_price is not None and pos.stop_price >= pos.entry_price  # breakeven after target 1
    log = await exchange_server.orders("ltp0")
    assert [e["side"] for e in log] == ["BUY", "SELL"]
    check = await agreement(sessionmaker, exchange_server, uid, "ltp0")
    assert not check.duplicates and not check.lost and not check.stuck


async def test_dust_exits_are_not_sent_and_refusals_stay_with_their_user(
    exchange_server, sessionmaker, engines
) -> None:
    picks = [s for s in await exchange_server.symbols() if s.endswith("/USDT")][:1]
    engine = build_engine(exchange_server, sessionmaker, fixed_entries(picks))
    engines.append(engine)
    uid = await add_live_user(sessionmaker, exchange_server, 975, "dust0")
    paper = await add_paper_user(sessionmaker, 974)
    await engine.run_cycle_once()
    market = (await engine.market.registry.get("binance"))[picks[0]]
    rules = MarketRules.from_ccxt(market)
    assert rules.amount_step is not None and rules.min_cost is not None
    # a dust position (under the market's minimum value) whose stop is crossed
    async with sessionmaker() as s, s.begin():
        await s.execute(
            update(Position).values(
                amount=rules.amount_step, stop_price=Decimal("1e9"), initial_stop=Decimal("1e9")
            )
        )
    for _ in range(2):
        await engine.watch_once()
    async with sessionmaker() as s:
        sells = list(await s.scalars(select(Order).where(Order.user_id == uid, Order.side == "sell")))
        told = list(await s.scalars(select(OutboxMessage.kind).where(OutboxMessage.user_id == uid)))
        paper_sells = list(await s.scalars(select(Order).where(Order.user_id == paper, Order.side == "sell")))
        paper_told = list(await s.scalars(select(OutboxMessage.kind).where(OutboxMessage.user_id == paper)))
    # not sent (the exchange would refuse it every tick); the user is told once; paper acts the same
    assert sells == [] and told == ["entry", "market_rules"]
    assert paper_sells == [] and paper_told == ["entry", "market_rules"]
    assert [e["side"] for e in await exchange_server.orders("dust0")] == ["BUY"]

    # the engine's copy of the rules goes stale (no minimum value): now the exchange refuses the sell
    market["limits"]["cost"]["min"] = None
    await engine.watch_once()
    async with sessionmaker() as s:
        sell = await s.scalar(select(Order).where(Order.user_id == uid, Order.side == "sell"))
    assert sell is not None and sell.status == OrderStatus.rejected
    # the refusal is about this user's order, not the market: everyone else still trades the symbol
    assert not engine.market.problematic.is_problematic("binance", picks[0])
    await add_live_user(sessionmaker, exchange_server, 976, "dust1")
    await engine.run_cycle_once()
    assert [e["side"] for e in await exchange_server.orders("dust1")] == ["BUY"]


def test_only_faults_of_the_market_itself_are_market_wide() -> None:
    assert is_market_wide(ccxt.BadSymbol('binance {"code":-1121,"msg":"Invalid symbol."}'))
    assert is_market_wide(ccxt.BadRequest('binance {"code": -1013, "msg": "Market is closed."}'))
    assert not is_market_wide(ccxt.BadRequest('binance {"code": -1013, "msg": "Filter failure: NOTIONAL"}'))
    assert not is_market_wide(
        ccxt.InvalidOrder("binance amount must be greater than minimum amount precision")
    )


async def test_a_refused_exit_is_told_once_not_every_tick(exchange_server, sessionmaker, engines) -> None:
    picks = [s for s in await exchange_server.symbols() if s.endswith("/USDT")][:1]
    engine = build_engine(exchange_server, sessionmaker, fixed_entries(picks))
    engines.append(engine)
    uid = await add_live_user(sessionmaker, exchange_server, 980, "gone0")
    await engine.run_cycle_once()
    # the user sold the coins on the exchange by hand; then the stop is crossed
    await exchange_server.create_account("gone0", "secret-gone0-0123456789", {"USDT": "10000"})
    async with sessionmaker() as s, s.begin():
        await s.execute(update(Position).values(stop_price=Decimal("1e9"), initial_stop=Decimal("1e9")))
    for _ in range(3):
        await engine.watch_once()
    async with sessionmaker() as s:
        sells = list(await s.scalars(select(Order.status).where(Order.user_id == uid, Order.side == "sell")))
        told = list(
            await s.scalars(
                select(OutboxMessage.kind).where(
                    OutboxMessage.user_id == uid, OutboxMessage.kind == "insufficient_funds"
                )
            )
        )
    # tried once; the next ticks wait (core.engine.live_user.EXIT_RETRY_AFTER) instead of asking again
    assert sells == [OrderStatus.rejected]
    assert told == ["insufficient_funds"]  # and the user hears about it once


async def test_a_manual_close_never_races_an_exit_in_flight(exchange_server, sessionmaker, engines) -> None:
    picks = [s for s in await exchange_server.symbols() if s.endswith("/USDT")][:1]
    engine = build_engine(exchange_server, sessionmaker, fixed_entries(picks))
    engines.append(engine)
    engine.executor.lookup_attempts = 2
    uid = await add_live_user(sessionmaker, exchange_server, 985, "race0")
    await engine.run_cycle_once()
    [position] = await _open(sessionmaker, uid)
    # the account holds more of the coin than the position (bought by hand): a second sell would fill
    base = picks[0].split("/")[0]
    await exchange_server.create_account(
        "race0", "secret-race0-0123456789", {"USDT": "10000", base: str(position.amount * 3)}
    )
    # the stop's sell lands but nobody learns it: the order stays pending
    async with sessionmaker() as s, s.begin():
        await s.execute(update(Position).values(stop_price=Decimal("1e9"), initial_stop=Decimal("1e9")))
    await exchange_server.fault("/api/v3/order", "drop_response", count=1, method="POST")
    await exchange_server.fault("/api/v3/order", "http_500", count=2, method="GET")
    await engine.watch_once()

    closer = EngineCloser(engine, _Tickers(exchange_server))
    async with sessionmaker() as s:
        user = await s.get(User, uid)
        assert user is not None
        with pytest.raises(UserError):
            await closer.close(s, user, position)
    assert [e["side"] for e in await exchange_server.orders("race0")] == ["BUY", "SELL"]


class _Tickers:
    def __init__(self, server) -> None:
        self.server = server

    async def last_price(self, symbol: str) -> Decimal | None:
        tickers = await self.server._call("GET", "/api/v3/ticker/price")
        return next((Decimal(t["price"]) for t in tickers if t["symbol"] == symbol.replace("/", "")), None)


async def _open(sessionmaker, uid: int) -> list[Position]:
    async with sessionmaker() as s:
        return list(
            await s.scalars(
                select(Position).where(Position.user_id == uid, Position.status == PositionStatus.open)
            )
        )
