"""The `ml` strategy in the live cycle: the active model scores every symbol once per cycle, its
probabilities make the user's signal book, and only its entries can become orders."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from core.db.models import Order, User
from core.engine.market_view import default_book_builder
from core.strategy.book import BlacklistRule, SignalBook
from core.strategy.frame import MarketFrame
from core.strategy.ml_strategy import EXTRAS_KEY, MlProbabilities
from ml.inference import InferenceService
from ml.pipeline import train_version
from ml.registry import ModelRegistry
from tests.engine.conftest import add_paper_user, build_engine
from tests.ml.conftest import LABELS, TINY, wave_market


async def test_the_active_model_trades_through_the_cycle(
    exchange_server, sessionmaker, engines, tmp_path
) -> None:
    registry = ModelRegistry(tmp_path / "models")
    outcome = train_version(wave_market(), registry, replace(TINY, kinds=("mlp",)), label_config=LABELS)
    assert outcome.version is not None
    version = outcome.version.version
    registry.activate(version)

    seen: list[tuple[tuple[str, ...], MarketFrame, SignalBook | None]] = []

    def recording(
        frame: MarketFrame, names: tuple[str, ...], blacklist: list[BlacklistRule], now: datetime
    ) -> SignalBook | None:
        book = default_book_builder(frame, names, blacklist, now)
        seen.append((names, frame, book))
        return book

    engine = build_engine(exchange_server, sessionmaker, recording, model=InferenceService(registry.root))
    engines.append(engine)
    uid = await add_paper_user(sessionmaker, 4100)
    async with sessionmaker() as s, s.begin():
        await s.execute(update(User).where(User.id == uid).values(strategies=["ml"]))

    stats = await engine.run_cycle_once()
    assert stats.errors == 0
    [(names, frame, book)] = seen
    assert names == ("ml",)
    probs: Any = frame.extras[EXTRAS_KEY]
    assert isinstance(probs, MlProbabilities) and probs.version == version
    last = probs.probs[:, -1]
    assert last.shape == (frame.n_symbols, 3)
    assert abs(float(last.sum(axis=1).mean()) - 1.0) < 1e-4  # one softmax per symbol, this candle
    assert book is not None and book.signals  # a model trained on waves has views on a random walk
    entries = [sig for sig in book.signals if sig.action == "enter"]
    for sig in book.signals:
        assert any(version in reason for reason in sig.reasons), sig.reasons
    async with sessionmaker() as s:
        orders = list(await s.scalars(select(Order).where(Order.user_id == uid)))
    assert {o.symbol for o in orders} <= {sig.symbol for sig in entries}
    assert stats.orders_sent == len(orders)
