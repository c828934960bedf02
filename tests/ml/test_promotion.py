"""Retraining: a child process does the work, the better model is promoted, a worse one is not,
the table mirrors the files, and the event loop keeps running meanwhile."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import model_registry
from core.db.models import ModelVersion
from core.training import TrainingBusy, TrainSettings, run_job, to_candles, train_and_maybe_promote
from ml.market import Candles
from ml.registry import ModelRegistry
from tests.ml.conftest import LABELS, TINY

# lr=0 leaves the model at its random initialisation: a reliably worse model than a trained one
UNTRAINED = replace(TINY, lr=0.0, kinds=("mlp",))
TRAINED = replace(TINY, epochs=4, kinds=("mlp",))


async def rows(sm: async_sessionmaker[AsyncSession]) -> dict[str, bool]:
    async with sm() as session:
        return {r.version: r.active for r in (await session.execute(select(ModelVersion))).scalars()}


def test_the_promotion_rule() -> None:
    d = model_registry.decide_promotion
    assert d(0.90, 1.00).promote  # no active model: beating the baseline is enough
    assert not d(1.01, 1.00).promote
    assert d(0.90, 1.00, 0.95, "v1").promote
    assert not d(0.96, 1.00, 0.95, "v1").promote
    assert not d(0.95, 1.00, 0.95, "v1").promote  # a tie keeps the active model
    assert not d(0.94, 1.00, 0.95, "v1", min_improvement=0.02).promote
    assert not d(1.02, 1.00, 1.05, "v1").promote  # better than a bad active model, but not than the baseline
    assert "v1" in d(0.96, 1.00, 0.95, "v1").reason
    # the test window must not say otherwise
    assert d(0.90, 1.00, test=(0.95, 1.0)).promote
    assert not d(0.90, 1.00, test=(1.01, 1.0)).promote
    assert not d(0.90, 1.00, 0.95, "v1", test=(1.0, 1.0)).promote
    assert "test window" in d(0.90, 1.00, test=(1.01, 1.0)).reason


async def test_better_is_promoted_worse_is_not(
    waves: Candles, tmp_path: Path, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    models = tmp_path / "models"
    reg = ModelRegistry(models)
    base = TrainSettings(models_dir=models, train=UNTRAINED, labels=LABELS)
    # an untrained model becomes the active one by hand (the rule would not promote it)
    first = run_job(waves, base)
    assert first["version"] == "v1"
    await model_registry.activate(sessionmaker, reg, "v1")
    assert await rows(sessionmaker) == {"v1": True}

    gaps: list[float] = []

    async def ticker() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.05)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    progress: list[dict[str, object]] = []
    better = await train_and_maybe_promote(waves, replace(base, train=TRAINED), sessionmaker, progress.append)
    tick.cancel()
    assert better.ok, better.error
    assert better.promoted and better.version == "v2" and better.active_after == "v2"
    assert better.active_before == "v1"
    assert better.active_val is not None and better.candidate_val_common is not None
    assert better.candidate_val_common["n"] == better.active_val["n"] > 0
    assert better.candidate_val_common["log_loss"] < better.active_val["log_loss"]
    assert better.backtest is not None and better.active_backtest is not None
    assert "trades" in better.backtest
    epochs = [p["epoch"] for p in progress]
    assert epochs[0] == 0 and epochs[1:] == list(range(1, len(epochs)))
    assert reg.active_version() == "v2"
    assert await rows(sessionmaker) == {"v1": False, "v2": True}
    text = better.text()
    assert "v2" in text and "promoted" in text and "log loss" in text and "Backtest" in text
    # the training ran in another process: the loop kept ticking all along (in-process, one gap would
    # have lasted the whole run; the margin allows for a machine shared with other work)
    assert len(gaps) > 10 and max(gaps) < better.seconds / 3

    worse = await train_and_maybe_promote(waves, base, sessionmaker)
    assert worse.ok and worse.version == "v3"
    assert not worse.promoted and worse.active_after == "v2"
    assert worse.candidate_val_common is not None and worse.active_val is not None
    assert worse.candidate_val_common["log_loss"] > worse.active_val["log_loss"]
    assert "does not beat v2" in worse.decision
    assert "not promoted" in worse.text()
    assert reg.active_version() == "v2"
    assert await rows(sessionmaker) == {"v1": False, "v2": False, "v3": False} | {"v2": True}
    listed = await model_registry.list_versions(sessionmaker)
    assert [v.version for v in listed][:1] == ["v3"]
    assert listed[0].metrics["val"]["log_loss"] == pytest.approx(worse.val["log_loss"])


async def test_one_run_at_a_time_and_failures_are_reported(waves: Candles, tmp_path: Path) -> None:
    cfg = TrainSettings(models_dir=tmp_path, train=UNTRAINED, labels=LABELS)
    # too little history: the child process fails, and the report says why
    running = asyncio.create_task(train_and_maybe_promote(waves.slice_time(0, 40), cfg))
    await asyncio.sleep(0)
    with pytest.raises(TrainingBusy):
        await train_and_maybe_promote(waves, cfg)
    failed = await running
    assert not failed.ok and failed.error
    assert "training process failed" in failed.error and "too little" in failed.error
    assert failed.text().startswith("Training failed")


async def test_cancelling_kills_the_training_process(waves: Candles, tmp_path: Path) -> None:
    import psutil

    started = asyncio.Event()
    cfg = TrainSettings(models_dir=tmp_path, train=replace(TINY, epochs=500, patience=500), labels=LABELS)
    task = asyncio.create_task(train_and_maybe_promote(waves, cfg, progress=lambda _: started.set()))
    await asyncio.wait_for(started.wait(), timeout=120)
    children = [p for p in psutil.Process().children() if "core.training" in " ".join(p.cmdline())]
    assert len(children) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not children[0].is_running() or children[0].status() == psutil.STATUS_ZOMBIE
    assert ModelRegistry(tmp_path).versions() == []


def test_candles_from_dataframes() -> None:
    from sandbox.exchange.synthetic import synthetic_ohlcv

    frames = synthetic_ohlcv(n_symbols=3, n_candles=50, seed=1, end_ms=1_750_000_000_000)
    c = to_candles(frames)
    assert c.symbols == tuple(frames)
    assert c.close.shape == (3, 50)
    assert c.close[1, -1] == frames[c.symbols[1]]["close"].iloc[-1]
