"""Labels: the forward log return over `horizon` candles as down / flat / up.

The flat band is +-k x volatility x sqrt(horizon), the volatility being the rolling standard deviation
of one-candle returns known at t, so a quiet and a wild symbol get comparable classes. The label at t
needs the close at t+horizon: it is unknown (-1) for the last `horizon` candles.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ml.features import log_returns, volatility
from ml.market import FloatArray

DOWN, FLAT, UP = 0, 1, 2
CLASS_NAMES = ("down", "flat", "up")
UNKNOWN = -1


@dataclass(frozen=True)
class LabelConfig:
    horizon: int = 12
    threshold_k: float = 0.5
    vol_window: int = 24

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabelConfig:
        return cls(**data)


def forward_returns(close: FloatArray, horizon: int) -> FloatArray:
    """log(close[t+horizon] / close[t]) at t, NaN where t+horizon is beyond the data."""
    back = log_returns(close, horizon)  # value at t+h is log(close[t+h]/close[t])
    out = np.full_like(back, np.nan)
    out[:, : back.shape[1] - horizon] = back[:, horizon:]
    return out


def make_labels(close: FloatArray, config: LabelConfig | None = None) -> np.ndarray:
    """int8 [symbols, time] of DOWN/FLAT/UP, UNKNOWN where the future or the volatility is unknown."""
    cfg = config or LabelConfig()
    close = np.asarray(close, dtype=np.float64)
    fwd = forward_returns(close, cfg.horizon)
    band = cfg.threshold_k * volatility(close, cfg.vol_window) * np.sqrt(cfg.horizon)
    labels = np.full(close.shape, UNKNOWN, dtype=np.int8)
    known = np.isfinite(fwd) & np.isfinite(band)
    labels[known] = FLAT
    labels[known & (fwd > band)] = UP
    labels[known & (fwd < -band)] = DOWN
    return labels
