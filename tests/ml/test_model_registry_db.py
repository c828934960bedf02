"""core.model_registry: the model_versions table follows the files through activation, roll back, sync."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import model_registry
from core.db.models import Base, ModelVersion
from core.db.session import make_engine, make_sessionmaker
from ml.bundle import ModelBundle
from ml.features import FeatureConfig
from ml.labels import LabelConfig
from ml.model import MarketNet, ModelConfig
from ml.normalize import Normalizer
from ml.registry import ModelRegistry, RegistryError


def fill_registry(root: Path, n: int) -> ModelRegistry:
    reg = ModelRegistry(root)
    names = FeatureConfig().names()
    for i in range(n):
        bundle = ModelBundle(
            MarketNet(ModelConfig(len(names), kind="mlp", window=4, hidden=8)),
            FeatureConfig(),
            LabelConfig(),
            Normalizer(np.zeros(len(names)), np.ones(len(names))),
        )
        meta = {
            "kind": "mlp",
            "metrics": {"val": {"n": 10, "log_loss": 1.0 - i / 10}},
            "data_range": {"n_symbols": 3},
        }
        reg.save(bundle, meta)
    return reg


async def table(sm: async_sessionmaker[AsyncSession]) -> dict[str, bool]:
    async with sm() as session:
        return {r.version: r.active for r in (await session.execute(select(ModelVersion))).scalars()}


async def run_lifecycle(sm: async_sessionmaker[AsyncSession], root: Path) -> None:
    reg = fill_registry(root, 3)
    await model_registry.sync(sm, reg)
    assert await table(sm) == {"v1": False, "v2": False, "v3": False}

    await model_registry.activate(sm, reg, "v1")
    await model_registry.activate(sm, reg, "v3")
    assert await table(sm) == {"v1": False, "v2": False, "v3": True}
    assert reg.active_version() == "v3"

    assert await model_registry.rollback(sm, reg) == "v1"
    assert await table(sm) == {"v1": True, "v2": False, "v3": False}
    assert reg.active_version() == "v1"
    with pytest.raises(RegistryError):
        await model_registry.rollback(sm, reg)
    with pytest.raises(RegistryError):
        await model_registry.activate(sm, reg, "v9")
    assert await table(sm) == {"v1": True, "v2": False, "v3": False}

    # the files changed behind the table's back (for example `run_bot.py train` without a database)
    reg.activate("v2")
    fill_registry(root, 1)  # v4
    await model_registry.sync(sm, reg)
    assert await table(sm) == {"v1": False, "v2": True, "v3": False, "v4": False}

    listed = await model_registry.list_versions(sm, limit=2)
    assert len(listed) == 2
    row = next(v for v in await model_registry.list_versions(sm) if v.version == "v2")
    assert row.active and row.activated_at is not None and row.kind == "mlp"
    assert row.metrics["val"]["log_loss"] == pytest.approx(0.9)
    assert row.data_range == {"n_symbols": 3}


async def test_lifecycle_on_sqlite(sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    await run_lifecycle(sessionmaker, tmp_path)


@pytest.mark.postgres
async def test_lifecycle_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    engine = make_engine(postgres_url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    try:
        await run_lifecycle(make_sessionmaker(engine), tmp_path)
    finally:
        await engine.dispose()
