"""The `ml` strategy in the backtester and in the cycle, and silent when no model is active."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from core.backtest.engine import BacktestConfig, run_backtest
from core.config import get_settings
from core.strategy.book import book_at, combine
from core.strategy.frame import MarketFrame
from core.strategy.ml_strategy import EXTRAS_KEY, MlStrategy, attach_predictions, default_service
from core.strategy.registry import create
from ml.market import Candles
from ml.pipeline import train_version
from ml.registry import ModelRegistry
from tests.ml.conftest import LABELS, TINY


def frame_of(c: Candles) -> MarketFrame:
    return MarketFrame(c.symbols, c.times, c.open, c.high, c.low, c.close, c.volume)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, waves: Candles) -> ModelRegistry:
    reg = ModelRegistry(tmp_path_factory.mktemp("models"))
    train_version(waves, reg, replace(TINY, epochs=6), label_config=LABELS)
    return reg


@pytest.fixture
def models_dir_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def use_models_dir(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.setenv("MODELS_DIR", str(path))
    get_settings.cache_clear()


def test_registered_by_name_and_silent_without_a_model(
    waves: Candles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, models_dir_env: None
) -> None:
    use_models_dir(monkeypatch, tmp_path)
    strat = create("ml")
    assert isinstance(strat, MlStrategy)
    frame = frame_of(waves)
    sig = strat.signals(frame)
    assert not sig.entry.any() and not sig.exit.any()
    assert frame.extras[EXTRAS_KEY] is None
    result = run_backtest(frame_of(waves), "ml")
    assert result.trades == []
    with pytest.raises(ValueError, match="min_up"):
        MlStrategy(min_up=0)


def test_signals_follow_the_probabilities(registry: ModelRegistry, waves: Candles) -> None:
    bundle = registry.load("v1")
    frame = frame_of(waves)
    preds = attach_predictions(frame, bundle, history=True)
    assert preds is not None and preds.version == "v1"
    strat = MlStrategy(min_up=0.45, min_down=0.45)
    sig = strat.signals(frame)
    p_down, p_up = preds.probs[..., 0], preds.probs[..., 2]
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(sig.entry, (p_up >= 0.45) & (p_up > p_down))
        np.testing.assert_array_equal(sig.exit, (p_down >= 0.45) & ~sig.entry)
    assert sig.entry.any() and sig.exit.any()
    np.testing.assert_allclose(sig.strength[sig.entry], p_up[sig.entry], rtol=1e-6)
    s, t = np.argwhere(sig.entry)[0]
    reason = strat.reason(frame, int(s), int(t), True)
    assert re.fullmatch(r"model v1: up 0\.\d\d", reason)
    assert reason.endswith(f"{p_up[s, t]:.2f}")
    s, t = np.argwhere(sig.exit)[0]
    assert re.fullmatch(r"model v1: down 0\.\d\d", strat.reason(frame, int(s), int(t), False))


def test_backtest_by_name_uses_the_active_model(
    registry: ModelRegistry, waves: Candles, monkeypatch: pytest.MonkeyPatch, models_dir_env: None
) -> None:
    use_models_dir(monkeypatch, registry.root)
    registry.activate("v1")
    config = BacktestConfig(start_ms=int(waves.times[300]))
    by_name = run_backtest(frame_of(waves), "ml", config)
    explicit_frame = frame_of(waves)
    attach_predictions(explicit_frame, registry.load("v1"), history=True)
    explicit = run_backtest(explicit_frame, MlStrategy(), config)
    assert len(by_name.trades) > 0
    assert [(t.symbol, t.entry_time, t.exit_time) for t in by_name.trades] == [
        (t.symbol, t.entry_time, t.exit_time) for t in explicit.trades
    ]


def test_cycle_path_scores_only_the_newest_candle(
    registry: ModelRegistry, waves: Candles, monkeypatch: pytest.MonkeyPatch, models_dir_env: None
) -> None:
    registry.activate("v1")
    service = default_service(registry.root)
    every = frame_of(waves)
    attach_predictions(every, registry.load("v1"), history=True)
    seen = 0
    for end in (320, 410, len(waves.times)):
        frame = frame_of(waves.slice_time(0, end))
        preds = attach_predictions(frame, service)
        assert preds is not None
        assert np.isnan(preds.probs[:, :-1]).all()
        ref = every.extras[EXTRAS_KEY].probs[:, end - 1]
        np.testing.assert_allclose(preds.probs[:, -1], ref, rtol=1e-5, atol=1e-6)
        book = book_at(frame, combine(frame, [MlStrategy()]), t=-1)
        want = MlStrategy().signals(frame)
        assert {s.symbol for s in book.entries()} == {
            waves.symbols[i] for i in np.flatnonzero(want.entry[:, -1])
        }
        for signal in book.signals:
            assert all(r.startswith("model v1: ") for r in signal.reasons)
        seen += len(book.signals)
    assert seen > 0
