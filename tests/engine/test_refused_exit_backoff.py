"""An exit the exchange refuses (the coins were sold by hand) is not re-sent every candle: the
engine waits before trying that position again, so it neither floods the exchange nor the orders
table, and the user is told once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select

from core.db.models import Order, OrderStatus, OutboxMessage
from core.exchange.ccxt_factory import make_client
from core.strategy.book import BlacklistRule, Signal, SignalBook, signal_id
from core.strategy.frame import MarketFrame
from tests.engine.conftest import add_live_user, build_engine, fixed_entries


def exits_of(symbols: Sequence[str]):
    def build(
        frame: MarketFrame, names: tuple[str, ...], blacklist: Sequence[BlacklistRule], now: datetime
    ) -> SignalBook:
        t = int(frame.times[-1])
        return SignalBook(
            t, tuple(Signal(s, "exit", "long", 1.0, ("test exit",), t, signal_id("x", s, t)) for s in symbols)
        )

    return build


async def test_a_refused_exit_waits_before_it_is_sent_again(exchange_server, sessionmaker, engines) -> None:
    symbol = next(s for s in await exchange_server._call("GET", "/sandbox/symbols") if s.endswith("/USDT"))
    engine = build_engine(exchange_server, sessionmaker, fixed_entries([symbol]))
    engines.append(engine)
    uid = await add_live_user(sessionmaker, exchange_server, 930, "bo-live")
    assert (await engine.run_cycle_once()).orders_sent == 1

    # the user sells the coins on the exchange by hand
    client = make_client(
        "binance",
        api_key="bo-live",
        secret="secret-bo-live-0123456789",
        api_url=exchange_server.url,
        rate_limit=False,
    )
    try:
        base = symbol.split("/")[0]
        held = (await client.fetch_balance())["free"][base]
        await client.create_order(symbol, "market", "sell", held)
    finally:
        await client.close()

    engine.builder = exits_of([symbol])
    for _ in range(4):  # four candles in a row ask to exit
        await exchange_server.advance("5m")
        await engine.run_cycle_once()
    async with sessionmaker() as s:
        refused = await s.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.user_id == uid, Order.status == OrderStatus.rejected)
        )
        told = await s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "insufficient_funds")
        )
    assert refused == 1
    assert told == 1
