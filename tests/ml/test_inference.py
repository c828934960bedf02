"""The inference service: one pass for all symbols, and a hot switch when another version is activated."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ml.inference import InferenceService
from ml.market import Candles
from ml.pipeline import train_version
from ml.registry import ModelRegistry
from tests.ml.conftest import LABELS, TINY


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, waves: Candles) -> ModelRegistry:
    reg = ModelRegistry(tmp_path_factory.mktemp("models"))
    for seed in (1, 2):
        train_version(waves, reg, replace(TINY, seed=seed, epochs=1, kinds=("conv",)), label_config=LABELS)
    return reg


def test_no_active_model_means_no_prediction(tmp_path: Path, waves: Candles) -> None:
    service = InferenceService(tmp_path)
    assert service.predict(waves) is None
    assert service.version is None


def test_hot_switch_without_restart(registry: ModelRegistry, waves: Candles) -> None:
    registry.activate("v1")
    service = InferenceService(registry.root, device="cpu")
    first = service.predict(waves)
    assert first is not None and first.version == "v1"
    assert first.valid.all() and first.probs.shape == (len(waves.symbols), 3)
    np.testing.assert_allclose(first.probs.sum(axis=1), 1.0, rtol=1e-5)
    again = service.predict(waves)
    assert again is not None
    np.testing.assert_array_equal(again.probs, first.probs)

    registry.activate("v2")
    switched = service.predict(waves)
    assert switched is not None and switched.version == "v2"
    expected = registry.load("v2").predict_last(waves)
    np.testing.assert_array_equal(switched.probs, expected.probs)
    assert not np.array_equal(switched.probs, first.probs)

    registry.rollback()
    back = service.predict(waves)
    assert back is not None and back.version == "v1"
    np.testing.assert_array_equal(back.probs, first.probs)

    registry.deactivate()
    assert service.predict(waves) is None


def test_a_version_that_fails_to_load_keeps_the_old_one_serving(
    registry: ModelRegistry, waves: Candles, tmp_path: Path
) -> None:
    registry.activate("v1")
    service = InferenceService(registry.root, device="cpu")
    assert service.version == "v1"
    # point at a version whose weights are damaged
    broken = registry.versions_dir / "v3"
    broken.mkdir()
    (broken / "meta.json").write_text((registry.path_of("v1") / "meta.json").read_text())
    (broken / "model.safetensors").write_bytes(b"garbage")
    try:
        registry.activate("v3")
        pred = service.predict(waves)
        assert pred is not None and pred.version == "v1"
    finally:
        registry.activate("v1")
        for f in broken.iterdir():
            f.unlink()
        os.rmdir(broken)


def test_symbols_without_enough_history_are_marked_invalid(registry: ModelRegistry, waves: Candles) -> None:
    bundle = registry.load("v1")
    close = waves.close.copy()
    arrays = {c: getattr(waves, c).copy() for c in ("open", "high", "low", "close", "volume")}
    for a in arrays.values():
        a[0, :-10] = np.nan  # symbol 0 listed 10 candles ago
    young = Candles(waves.symbols, waves.times, **arrays)
    pred = bundle.predict_last(young)
    assert not pred.valid[0] and pred.valid[1:].all()
    assert np.isnan(pred.probs[0]).all()
    assert pred.of(waves.symbols[0]) is None
    probs = pred.of(waves.symbols[1])
    assert probs is not None and set(probs) == {"down", "flat", "up"}
    assert close.shape == waves.close.shape
