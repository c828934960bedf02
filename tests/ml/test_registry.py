"""The file registry: versions round-trip exactly; activation and roll back by version."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from ml.market import Candles
from ml.pipeline import TrainOutcome, train_version
from ml.registry import ModelRegistry, RegistryError
from tests.ml.conftest import LABELS, TINY


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory, waves: Candles
) -> tuple[ModelRegistry, list[TrainOutcome]]:
    reg = ModelRegistry(tmp_path_factory.mktemp("models"))
    outs = [
        train_version(waves, reg, replace(TINY, seed=s, epochs=1), label_config=LABELS) for s in (1, 2, 3)
    ]
    return reg, outs


def test_round_trip_gives_identical_predictions(
    trained: tuple[ModelRegistry, list[TrainOutcome]], waves: Candles
) -> None:
    reg, outs = trained
    for out in outs:
        loaded = reg.load(str(out.bundle.version))
        assert loaded.version == out.bundle.version
        assert loaded.model.config == out.bundle.model.config
        assert loaded.feature_config == out.bundle.feature_config
        assert loaded.label_config == out.bundle.label_config
        for name, t in out.bundle.model.state_dict().items():
            assert torch.equal(t, loaded.model.state_dict()[name])
        np.testing.assert_array_equal(loaded.predict_all(waves), out.bundle.predict_all(waves))


def test_metadata_describes_the_version(
    trained: tuple[ModelRegistry, list[TrainOutcome]], waves: Candles
) -> None:
    reg, outs = trained
    assert reg.versions() == ["v1", "v2", "v3"]
    meta = json.loads((reg.path_of("v2") / "meta.json").read_text())
    assert meta["version"] == "v2"
    assert meta["feature_names"] == outs[1].bundle.feature_config.names()
    assert len(meta["normalization"]["mean"]) == len(meta["feature_names"])
    assert meta["data_range"]["symbols"] == list(waves.symbols)
    split = meta["data_range"]["split"]
    assert split["train"]["end_ms"] < split["val"]["start_ms"] < split["test"]["start_ms"]
    assert {"val", "test", "kind"} <= set(meta["metrics"])
    assert meta["code"]["git_sha"] and len(meta["code"]["ml_sources_sha256"]) == 16
    assert (reg.path_of("v2") / "model.safetensors").stat().st_size > 0


def test_activate_and_roll_back(tmp_path: Path, trained: tuple[ModelRegistry, list[TrainOutcome]]) -> None:
    src, _ = trained
    reg = ModelRegistry(src.root)
    reg.deactivate()
    (reg.root / "history.json").unlink(missing_ok=True)
    assert reg.active_version() is None
    with pytest.raises(RegistryError, match="no earlier version"):
        reg.rollback()
    for v in ("v1", "v2", "v3"):
        reg.activate(v)
        assert reg.active_version() == v
    assert reg.previous_version() == "v2"
    assert reg.rollback() == "v2"
    assert reg.active_version() == "v2"
    assert reg.rollback() == "v1"
    with pytest.raises(RegistryError):
        reg.rollback()
    with pytest.raises(RegistryError, match="does not exist"):
        reg.activate("v99")
    with pytest.raises(RegistryError, match="not a version"):
        reg.activate("../etc")
    assert reg.active_version() == "v1"
    # no temporary files are left next to the pointer
    assert sorted(p.name for p in reg.root.iterdir()) == ["active", "history.json", "versions"]


def test_a_broken_version_is_a_clear_error(
    tmp_path: Path, trained: tuple[ModelRegistry, list[TrainOutcome]]
) -> None:
    src, _ = trained
    reg = ModelRegistry(tmp_path)
    reg.versions_dir.mkdir(parents=True)
    broken = reg.versions_dir / "v1"
    broken.mkdir()
    (broken / "meta.json").write_text((src.path_of("v1") / "meta.json").read_text())
    (broken / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(RegistryError, match="cannot be loaded"):
        reg.load("v1")
