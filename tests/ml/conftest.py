"""Markets for the model tests: a predictable one (noisy waves) and the sandbox's random-walk one."""

from __future__ import annotations

import numpy as np
import pytest

from ml.features import FeatureConfig
from ml.labels import LabelConfig
from ml.market import Candles
from ml.train import TrainConfig

TF_MS = 300_000


def wave_market(n_symbols: int = 6, n_candles: int = 500, seed: int = 0, period: int = 40) -> Candles:
    """Prices oscillating around a level with noise: the next move is predictable from the recent ones."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_candles)
    phase = rng.uniform(0, 2 * np.pi, size=(n_symbols, 1))
    level = rng.uniform(1, 1000, size=(n_symbols, 1))
    log_close = np.log(level) + 0.03 * np.sin(2 * np.pi * t / period + phase)
    log_close += rng.normal(0, 0.002, size=log_close.shape)
    close = np.exp(log_close)
    open_ = np.concatenate([close[:, :1], close[:, :-1]], axis=1)
    spread = np.abs(rng.normal(0, 0.002, size=close.shape)) * close
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    volume = rng.lognormal(3, 0.5, size=close.shape)
    times = 1_700_000_000_000 + t * TF_MS
    return Candles(tuple(f"S{i}/USDT" for i in range(n_symbols)), times, open_, high, low, close, volume)


def sandbox_market(n_symbols: int = 8, n_candles: int = 600) -> Candles:
    from sandbox.exchange.synthetic import synthetic_ohlcv

    frames = synthetic_ohlcv(n_symbols=n_symbols, n_candles=n_candles, seed=42, end_ms=1_750_000_000_000)
    names = list(frames)
    cols = {
        c: np.stack([frames[s][c].to_numpy(np.float64) for s in names])
        for c in ("open", "high", "low", "close", "volume")
    }
    times = frames[names[0]]["date"].astype("datetime64[ms, UTC]").astype("int64").to_numpy()
    return Candles(tuple(names), times, **cols)


# small and quick: the tests check behaviour, not model quality
TINY = TrainConfig(
    seed=3,
    kinds=("mlp", "conv"),
    window=8,
    hidden=16,
    channels=8,
    epochs=3,
    patience=2,
    batch_size=256,
    threads=1,
)
LABELS = LabelConfig(horizon=4, threshold_k=0.5, vol_window=24)
FEATURES = FeatureConfig()


@pytest.fixture(scope="session")
def waves() -> Candles:
    return wave_market()


@pytest.fixture(scope="session")
def sandbox_candles() -> Candles:
    return sandbox_market()
