"""A trading engine over the real sandbox exchange (real ccxt over HTTP) and a real SQLite file."""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings, load_settings
from core.db.models import ExchangeAccount, Mode, Order, OrderStatus, PaperBalance, User
from core.engine.app import Engine
from core.exchange.ccxt_factory import make_client
from core.market.stage import MarketStage, build_stage
from core.strategy.book import BlacklistRule, Signal, SignalBook, signal_id
from core.strategy.frame import MarketFrame
from core.vault import KeyVault, mask
from tests.fixtures.exchange import ExchangeServer

MASTER = base64.urlsafe_b64encode(bytes(range(32))).decode()
QUOTE = "USDT"


def fixed_entries(symbols: Sequence[str]) -> Callable[..., SignalBook]:
    """A signal book that enters `symbols` on the last closed candle (the strategies are tested elsewhere)."""

    def build(
        frame: MarketFrame, names: tuple[str, ...], blacklist: Sequence[BlacklistRule], now: datetime
    ) -> SignalBook:
        t = int(frame.times[-1])
        key = "fixed:" + "+".join(names)
        sigs = tuple(
            Signal(s, "enter", "long", 1.0, ("test entry",), t, signal_id(key, s, t))
            for s in symbols
            if s in frame.symbols
        )
        return SignalBook(t, sigs)

    return build


def rotating_entries(symbols: Sequence[str]) -> Callable[..., SignalBook]:
    """Each candle enters the next symbol of `symbols` (so every candle brings a new entry)."""

    def build(
        frame: MarketFrame, names: tuple[str, ...], blacklist: Sequence[BlacklistRule], now: datetime
    ) -> SignalBook:
        t = int(frame.times[-1])
        pick = symbols[(t // frame.timeframe_ms) % len(symbols)]
        return fixed_entries([pick])(frame, names, blacklist, now)

    return build


def engine_settings(server: ExchangeServer, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "exchange_api_url": server.url,
        "master_keys": MASTER,
        "timeframe": "5m",
        "quote_currency": QUOTE,
        "user_timeout_seconds": 20.0,
        "user_concurrency": 8,
        "database_url": "sqlite+aiosqlite:///unused",
    }
    values.update(overrides)
    return load_settings(**values)


def market_stage(server: ExchangeServer) -> MarketStage:
    return build_stage({"binance": make_client("binance", api_url=server.url, rate_limit=False)})


def build_engine(
    server: ExchangeServer,
    sessionmaker: async_sessionmaker[AsyncSession],
    builder: Callable[..., SignalBook | None] | None = None,
    **kwargs: Any,
) -> Engine:
    settings = engine_settings(server, **kwargs.pop("settings", {}))
    kwargs.setdefault("client_timeout_ms", 1500)
    kwargs.setdefault("pending_grace_seconds", 0.0)
    engine = Engine(
        settings,
        sessionmaker,
        KeyVault(settings.master_key_list()),
        market_stage(server),
        builder,
        make_client=partial(make_client, rate_limit=False),
        history=120,
        **kwargs,
    )
    engine.executor.retry_delay = 0.05
    return engine


@pytest.fixture
async def engines() -> AsyncIterator[list[Engine]]:
    """Engines a test builds register here and are stopped (clients closed) afterwards."""
    made: list[Engine] = []
    yield made
    for engine in made:
        await engine.stop()


async def add_paper_user(
    sm: async_sessionmaker[AsyncSession], telegram_id: int, deposit: str = "1000", balance: str = "10000"
) -> int:
    async with sm() as session, session.begin():
        user = User(telegram_id=telegram_id, mode=Mode.paper, trading_enabled=True, deposit=Decimal(deposit))
        session.add(user)
        await session.flush()
        session.add(PaperBalance(user_id=user.id, currency=QUOTE, free=Decimal(balance), used=Decimal(0)))
        return user.id


async def add_live_user(
    sm: async_sessionmaker[AsyncSession],
    server: ExchangeServer,
    telegram_id: int,
    api_key: str,
    deposit: str = "1000",
    balance: str = "10000",
) -> int:
    secret = f"secret-{api_key}-0123456789"
    await server.create_account(api_key, secret, {QUOTE: balance})
    vault = KeyVault([base64.urlsafe_b64decode(MASTER)])
    async with sm() as session, session.begin():
        user = User(telegram_id=telegram_id, mode=Mode.live, trading_enabled=True, deposit=Decimal(deposit))
        session.add(user)
        await session.flush()
        k = vault.encrypt(api_key, user_id=user.id, exchange="binance", field="api_key")
        s = vault.encrypt(secret, user_id=user.id, exchange="binance", field="secret")
        session.add(
            ExchangeAccount(
                user_id=user.id,
                exchange="binance",
                api_key_enc=k.ciphertext,
                secret_enc=s.ciphertext,
                key_version=k.version,
                api_key_masked=mask(api_key),
            )
        )
        return user.id


@dataclass
class Agreement:
    accepted: int
    duplicates: dict[str, int]
    lost: list[str]  # on the exchange (filled) but not closed in the database
    phantom: list[str]  # closed in the database but not filled on the exchange
    stuck: list[str]  # still pending in the database


async def agreement(
    sm: async_sessionmaker[AsyncSession], server: ExchangeServer, user_id: int, api_key: str
) -> Agreement:
    """Compare one live user's orders in the database with the sandbox's order log."""
    log = await server.orders(api_key)
    accepted = [e for e in log if e["status"] != "REJECTED"]
    counts = Counter(e["clientOrderId"] for e in accepted)
    async with sm() as session:
        rows = list(await session.scalars(select(Order).where(Order.user_id == user_id)))
    closed = {o.client_order_id: o for o in rows if o.status == OrderStatus.closed}
    filled = {e["clientOrderId"]: e for e in accepted if e["status"] == "FILLED"}
    lost = sorted(c for c in filled if c not in closed)
    phantom = sorted(c for c in closed if c not in filled)
    for cid, order in closed.items():
        if cid in filled:
            assert Decimal(filled[cid]["executedQty"]) == order.filled, cid
    stuck = sorted(o.client_order_id for o in rows if o.status == OrderStatus.pending)
    return Agreement(len(accepted), {c: n for c, n in counts.items() if n > 1}, lost, phantom, stuck)
