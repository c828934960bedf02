"""Per-feature z-scoring with statistics fitted on training rows only, clipped against outliers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

CLIP = 5.0


@dataclass(frozen=True)
class Normalizer:
    mean: np.ndarray  # [features]
    std: np.ndarray  # [features]
    clip: float = CLIP

    @classmethod
    def fit(cls, rows: np.ndarray) -> Normalizer:
        """Fit on finite rows [n, features] (the caller passes training rows only)."""
        if rows.ndim != 2 or rows.shape[0] == 0:
            raise ValueError("no training rows to fit the normalisation on")
        mean = rows.mean(axis=0)
        std = rows.std(axis=0)
        # a constant feature carries no information; scale 1 keeps it at 0 instead of dividing by 0
        std = np.where(std > 1e-12, std, 1.0)
        return cls(mean.astype(np.float64), std.astype(np.float64))

    def transform(self, features: np.ndarray) -> np.ndarray:
        """float32 z-scores clipped to +-clip; NaN stays NaN (the row is then not usable)."""
        z = (features - self.mean) / self.std
        return np.clip(z, -self.clip, self.clip).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist(), "clip": self.clip}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Normalizer:
        return cls(
            np.asarray(data["mean"], np.float64), np.asarray(data["std"], np.float64), float(data["clip"])
        )
