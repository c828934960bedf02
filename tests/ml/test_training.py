"""Training: deterministic under a seed, quick on a small market, honest metrics."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from ml.market import Candles
from ml.pipeline import TrainOutcome, train_version
from ml.registry import ModelRegistry
from tests.ml.conftest import LABELS, TINY


def _train(market: Candles, root: Path, **changes: Any) -> TrainOutcome:
    return train_version(market, ModelRegistry(root), replace(TINY, **changes), label_config=LABELS)


def _state(outcome: TrainOutcome) -> dict[str, torch.Tensor]:
    return outcome.bundle.model.state_dict()


def test_same_seed_same_weights(waves: Candles, tmp_path: Path) -> None:
    a = _train(waves, tmp_path / "a")
    b = _train(waves, tmp_path / "b")
    assert a.bundle.model.config == b.bundle.model.config
    for name, tensor in _state(a).items():
        assert torch.equal(tensor, _state(b)[name]), name
    assert a.metrics["val"]["log_loss"] == b.metrics["val"]["log_loss"]
    c = _train(waves, tmp_path / "c", seed=TINY.seed + 1)
    assert any(not torch.equal(t, _state(c)[n]) for n, t in _state(a).items())


def test_learns_a_predictable_market_and_reports_baselines(waves: Candles, tmp_path: Path) -> None:
    out = _train(waves, tmp_path, epochs=6)
    val, test = out.metrics["val"], out.metrics["test"]
    for m in (val, test):
        assert m["n"] > 100
        assert {"accuracy", "macro_f1", "log_loss", "ece", "reliability", "confusion"} <= set(m)
        assert 0 <= m["ece"] <= 1
        assert sum(b["n"] for b in m["reliability"]) == m["n"]
    # the waves are predictable: the model must beat always-the-majority and always-the-prior
    assert test["accuracy"] > test["baseline_accuracy"] + 0.1
    assert test["macro_f1"] > test["baseline_macro_f1"]
    assert test["log_loss"] < test["baseline_log_loss"]
    # the chosen kind is the candidate with the lowest validation log loss
    best = min(out.candidates, key=lambda c: c["val_log_loss"])
    assert out.metrics["kind"] == best["kind"] == out.bundle.model.config.kind


def test_random_walk_market_is_not_dressed_up(sandbox_candles: Candles, tmp_path: Path) -> None:
    """The sandbox market is a random walk: the metrics say the model is near the baseline."""
    out = _train(sandbox_candles, tmp_path)
    test = out.metrics["test"]
    assert abs(test["accuracy"] - test["baseline_accuracy"]) < 0.1
    assert abs(test["log_loss"] - test["baseline_log_loss"]) < 0.1


def test_too_little_history_is_a_clear_error(waves: Candles, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="too few|too little|no usable"):
        _train(waves.slice_time(0, 40), tmp_path)


def test_predict_all_matches_the_per_cycle_path(waves: Candles, tmp_path: Path) -> None:
    """Scoring every candle at once gives what the cycle computes at the newest candle."""
    out = _train(waves, tmp_path)
    every = out.bundle.predict_all(waves)
    for end in (200, 350, len(waves.times)):
        last = out.bundle.predict_last(waves.slice_time(0, end))
        assert last.valid.all()
        np.testing.assert_allclose(last.probs, every[:, end - 1], rtol=1e-5, atol=1e-6)
