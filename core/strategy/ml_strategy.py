"""The `ml` strategy: the model's class probabilities as long entries and exits.

Entry where p(up) >= `min_up` and p(up) > p(down), with strength p(up); exit where p(down) >=
`min_down`. The probabilities come from `frame.extras["ml"]` (an `MlProbabilities`), which the cycle
fills once per cycle with `attach_predictions(frame, service)`: one forward pass for all symbols at
the newest candle. Without them the strategy asks the active model in MODELS_DIR for every candle of
the frame (what a backtest needs). With no active model it gives no signals at all.

torch is imported only when a model is actually used, so registering the strategy costs nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.strategy.base import Strategy, StrategySignals
from core.strategy.frame import MarketFrame
from core.strategy.registry import register

if TYPE_CHECKING:
    from ml.bundle import ModelBundle
    from ml.inference import InferenceService

log = logging.getLogger(__name__)
EXTRAS_KEY = "ml"
DOWN, FLAT, UP = 0, 1, 2


@dataclass(frozen=True)
class MlProbabilities:
    """Class probabilities (down, flat, up) [symbols, time, 3] of one model version; NaN: no prediction."""

    version: str
    probs: np.ndarray


def attach_predictions(
    frame: MarketFrame, source: InferenceService | ModelBundle, history: bool = False
) -> MlProbabilities | None:
    """Score the frame with the active model (an InferenceService) or a given one (a ModelBundle) and
    store the result in frame.extras["ml"]. history=False scores only the newest candle (the cycle);
    history=True every candle (backtests). Returns None, and stores nothing, when no model is active."""
    from ml.inference import InferenceService

    bundle = source.current() if isinstance(source, InferenceService) else source
    if bundle is None:
        frame.extras.pop(EXTRAS_KEY, None)
        return None
    if history:
        probs = bundle.predict_all(frame, frame.indicator)
    else:
        probs = np.full((frame.n_symbols, frame.n_times, 3), np.nan, dtype=np.float32)
        if frame.n_times:
            probs[:, -1] = bundle.predict_last(frame, frame.indicator).probs
    out = MlProbabilities(bundle.version or "unsaved", probs)
    frame.extras[EXTRAS_KEY] = out
    return out


_services: dict[Path, InferenceService] = {}


def default_service(models_dir: Path | None = None) -> InferenceService:
    """One InferenceService per models folder for the process (it hot-switches on activation)."""
    from ml.inference import InferenceService

    if models_dir is None:
        from core.config import get_settings

        models_dir = get_settings().models_dir
    key = Path(models_dir).resolve()
    if key not in _services:
        _services[key] = InferenceService(key)
    return _services[key]


@register
class MlStrategy(Strategy):
    name = "ml"

    def __init__(self, min_up: float = 0.45, min_down: float = 0.45) -> None:
        for label, value in (("min_up", min_up), ("min_down", min_down)):
            if not 0.0 < value <= 1.0:
                raise ValueError(f"ml: {label} must be in (0, 1]")
        super().__init__(min_up=min_up, min_down=min_down)
        self.min_up, self.min_down = min_up, min_down

    def probabilities(self, frame: MarketFrame) -> MlProbabilities | None:
        if EXTRAS_KEY in frame.extras:
            found = frame.extras[EXTRAS_KEY]
            return found if isinstance(found, MlProbabilities) else None
        try:
            preds = attach_predictions(frame, default_service(), history=True)
        except Exception:
            # a model problem must never take the other strategies down with it
            log.exception("ml strategy: the model could not score the frame; no ml signals this time")
            preds = None
        frame.extras[EXTRAS_KEY] = preds  # asked once per frame, even when there is no model
        return preds

    def signals(self, frame: MarketFrame) -> StrategySignals:
        shape = (frame.n_symbols, frame.n_times)
        preds = self.probabilities(frame)
        if preds is None:
            none = np.zeros(shape, dtype=bool)
            return StrategySignals.build(none, none, 0.0)
        p = preds.probs
        if p.shape != (*shape, 3):
            raise ValueError(f"ml probabilities have shape {p.shape}, expected {(*shape, 3)}")
        p_down, p_up = p[..., DOWN].astype(np.float64), p[..., UP].astype(np.float64)
        with np.errstate(invalid="ignore"):
            entry = (p_up >= self.min_up) & (p_up > p_down)
            exit_ = (p_down >= self.min_down) & ~entry
        return StrategySignals.build(entry, exit_, np.nan_to_num(p_up, nan=0.0))

    def reason(self, frame: MarketFrame, symbol_index: int, t: int, entry: bool) -> str:
        preds = self.probabilities(frame)
        if preds is None:
            return "model: no prediction"
        cls, word = (UP, "up") if entry else (DOWN, "down")
        return f"model {preds.version}: {word} {float(preds.probs[symbol_index, t, cls]):.2f}"
