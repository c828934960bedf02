"""Walk-forward splits and the sample index of a dataset.

A sample is (symbol, t): the feature window of candles t-window+1..t and the label at t, which looks
`horizon` candles ahead. Splits are train / validation / test in time order with a gap of `horizon`
candles after train and after validation, so no label of an earlier split sees a candle of a later one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ml.labels import UNKNOWN
from ml.rolling import rolling_all


@dataclass(frozen=True)
class Span:
    """Candle indices [start, end) of one split."""

    start: int
    end: int

    def __len__(self) -> int:
        return max(0, self.end - self.start)

    def to_dict(self) -> dict[str, int]:
        return {"start": self.start, "end": self.end}


@dataclass(frozen=True)
class Split:
    train: Span
    val: Span
    test: Span

    def to_dict(self) -> dict[str, dict[str, int]]:
        return {"train": self.train.to_dict(), "val": self.val.to_dict(), "test": self.test.to_dict()}


def walk_forward_split(
    n_times: int, horizon: int, val_frac: float = 0.15, test_frac: float = 0.15, start: int = 0
) -> Split:
    """The last fractions of [start, n_times) become validation and test; gaps of `horizon` between."""
    usable = n_times - start - 2 * horizon
    n_val, n_test = int(usable * val_frac), int(usable * test_frac)
    n_train = usable - n_val - n_test
    if min(n_train, n_val, n_test) < 1:
        raise ValueError(f"{n_times} candles are too few for train/val/test with a gap of {horizon}")
    train = Span(start, start + n_train)
    val = Span(train.end + horizon, train.end + horizon + n_val)
    test = Span(val.end + horizon, val.end + horizon + n_test)
    return Split(train, val, test)


def window_ok(features: np.ndarray, window: int) -> np.ndarray:
    """bool [symbols, time]: the `window` feature rows ending at t are all finite."""
    row_ok = np.isfinite(features).all(axis=-1)
    return rolling_all(row_ok, window)


def sample_index(ok: np.ndarray, labels: np.ndarray, span: Span) -> tuple[np.ndarray, np.ndarray]:
    """(symbol indices, time indices) of usable samples with t in the span, in time-then-symbol order."""
    mask = np.zeros_like(ok)
    mask[:, span.start : span.end] = ok[:, span.start : span.end] & (
        labels[:, span.start : span.end] != UNKNOWN
    )
    t_idx, s_idx = np.nonzero(mask.T)
    return s_idx.astype(np.int64), t_idx.astype(np.int64)


def training_rows(features: np.ndarray, span: Span) -> np.ndarray:
    """Finite feature rows with t in the span: what the normalisation is fitted on."""
    rows = features[:, span.start : span.end].reshape(-1, features.shape[-1])
    return rows[np.isfinite(rows).all(axis=1)]


def class_counts(labels: np.ndarray, n_classes: int = 3) -> np.ndarray:
    return np.bincount(labels.astype(np.int64), minlength=n_classes)


def describe(split: Split, times: np.ndarray) -> dict[str, Any]:
    """The split as candle indices and ms timestamps (for the metadata's data range)."""
    out: dict[str, Any] = {}
    for name, span in (("train", split.train), ("val", split.val), ("test", split.test)):
        out[name] = {
            "start": span.start,
            "end": span.end,
            "start_ms": int(times[span.start]),
            "end_ms": int(times[span.end - 1]),
        }
    return out
