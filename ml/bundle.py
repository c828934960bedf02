"""A trained model with everything needed to use it: feature and label definitions, normalisation.

`predict_last` is the per-cycle path (one forward pass for all symbols at the newest candle);
`predict_all` scores every candle, which the backtester and the evaluation need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ml.dataset import window_ok
from ml.features import FeatureConfig, compute_features
from ml.labels import CLASS_NAMES, LabelConfig
from ml.market import IndicatorFn, MarketArrays
from ml.model import MarketNet
from ml.normalize import Normalizer

EVAL_BATCH = 2048  # larger batches fall out of the CPU caches and run several times slower


@dataclass
class Prediction:
    """Class probabilities (down, flat, up) per symbol at the newest candle; NaN rows are not valid."""

    version: str | None
    symbols: tuple[str, ...]
    probs: np.ndarray  # float32 [symbols, 3]
    valid: np.ndarray  # bool [symbols]
    time_ms: int | None = None

    def of(self, symbol: str) -> dict[str, float] | None:
        i = self.symbols.index(symbol)
        if not self.valid[i]:
            return None
        return {name: float(p) for name, p in zip(CLASS_NAMES, self.probs[i], strict=True)}


@dataclass
class ModelBundle:
    model: MarketNet
    feature_config: FeatureConfig
    label_config: LabelConfig
    normalizer: Normalizer
    version: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def window(self) -> int:
        return self.model.config.window

    def prepare(
        self, market: MarketArrays, indicator: IndicatorFn | None = None, tail: int | None = None
    ) -> np.ndarray:
        """Normalised float32 features [symbols, time, features] of the last `tail` candles; NaN: unknown."""
        return self.normalizer.transform(compute_features(market, self.feature_config, indicator, tail))

    def forward(self, windows: np.ndarray | torch.Tensor) -> np.ndarray:
        """Probabilities [batch, classes] for feature windows [batch, window, features]: one pass."""
        x = torch.as_tensor(windows, dtype=torch.float32, device=self.device)
        self.model.eval()
        with torch.inference_mode():
            out = torch.softmax(self.model(x), dim=1)
        return out.cpu().numpy()

    def predict_last(self, market: MarketArrays, indicator: IndicatorFn | None = None) -> Prediction:
        tail = self.prepare(market, indicator, tail=self.window)
        n_sym, n_t = tail.shape[:2]
        probs = np.full((n_sym, 3), np.nan, dtype=np.float32)
        valid = np.zeros(n_sym, dtype=bool)
        if n_t == self.window:
            valid = np.isfinite(tail).all(axis=(1, 2))
            if valid.any():
                probs[valid] = self.forward(tail[valid])
        times = np.asarray(market.times)
        return Prediction(self.version, tuple(market.symbols), probs, valid, int(times[-1]) if n_t else None)

    def predict_at(self, feats: np.ndarray, s_idx: np.ndarray, t_idx: np.ndarray) -> np.ndarray:
        """Probabilities [n, classes] at the given (symbol, time) samples of prepared features."""
        table = torch.from_numpy(np.nan_to_num(feats))
        offsets = torch.arange(-self.window + 1, 1)
        out = np.empty((len(s_idx), 3), dtype=np.float32)
        for lo in range(0, len(s_idx), EVAL_BATCH):
            s = torch.from_numpy(s_idx[lo : lo + EVAL_BATCH])
            t = torch.from_numpy(t_idx[lo : lo + EVAL_BATCH])
            out[lo : lo + EVAL_BATCH] = self.forward(table[s[:, None], t[:, None] + offsets])
        return out

    def predict_all(self, market: MarketArrays, indicator: IndicatorFn | None = None) -> np.ndarray:
        """Probabilities [symbols, time, classes] at every candle, NaN where the window is incomplete."""
        feats = self.prepare(market, indicator)
        ok = window_ok(feats, self.window)
        out = np.full((*ok.shape, 3), np.nan, dtype=np.float32)
        s_idx, t_idx = np.nonzero(ok)
        if len(s_idx):
            out[s_idx, t_idx] = self.predict_at(feats, s_idx, t_idx)
        return out
