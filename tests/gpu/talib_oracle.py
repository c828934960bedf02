"""TA-Lib as the oracle: called per symbol on the tail that starts at the symbol's first valid candle."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Data = dict[str, np.ndarray]


@dataclass(frozen=True)
class Ref:
    """One TA-Lib output: talib function, the series it takes, its keyword arguments, which output."""

    func: Callable[..., Any]
    inputs: tuple[str, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    output: int | None = None


def start_of(rows: Sequence[np.ndarray]) -> int:
    ok = np.ones(rows[0].shape[0], dtype=bool)
    for r in rows:
        ok &= ~np.isnan(r)
    idx = np.flatnonzero(ok)
    return int(idx[0]) if idx.size else rows[0].shape[0]


def reference(ref: Ref, data: Data, common: tuple[str, ...]) -> np.ndarray:
    """TA-Lib's output for every row, NaN-padded to the input shape; rows start where all `common` do."""
    shape = data[common[0]].shape
    out = np.full(shape, np.nan)
    for r in range(shape[0]):
        s = start_of([data[name][r] for name in common])
        if s >= shape[1]:
            continue
        args = [np.ascontiguousarray(data[name][r, s:]) for name in ref.inputs]
        res = ref.func(*args, **ref.kwargs)
        out[r, s:] = res if ref.output is None else res[ref.output]
    return out


def assert_agrees(
    ours: np.ndarray,
    expected: np.ndarray,
    label: str,
    rtol: float = 1e-8,
    input_scale: np.ndarray | None = None,
) -> None:
    """NaN exactly where TA-Lib has NaN; elsewhere within rtol, with an absolute floor per row of
    1e-10 of the row's magnitude (its largest output, or the price it was computed from when
    given) for values that cancel to near zero, such as a MACD histogram."""
    assert ours.shape == expected.shape, f"{label}: shape {ours.shape} != {expected.shape}"
    assert ours.dtype == np.float64, f"{label}: dtype {ours.dtype}"
    nan_diff = np.isnan(ours) != np.isnan(expected)
    if nan_diff.any():
        where = np.argwhere(nan_diff)[:5].tolist()
        raise AssertionError(f"{label}: NaN pattern differs at (row, t) {where}")
    both = ~np.isnan(expected)
    if not both.any():
        return
    scale = np.abs(np.where(both, expected, 0.0)).max(axis=1, keepdims=True)
    if input_scale is not None:
        scale = np.maximum(scale, input_scale.reshape(-1, 1))
    tol = rtol * np.abs(expected) + 1e-10 * np.broadcast_to(scale, expected.shape)
    err = np.abs(ours - expected)
    bad = both & ~(err <= tol)
    if bad.any():
        r, t = np.argwhere(bad)[0]
        raise AssertionError(
            f"{label}: {int(bad.sum())} values differ, first at ({r}, {t}): ours {ours[r, t]!r} "
            f"TA-Lib {expected[r, t]!r}"
        )


def row_scale(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Largest magnitude per row over the given input series (NaN padding ignored)."""
    stacked = np.abs(np.stack([np.atleast_2d(a) for a in arrays]))
    stacked = np.where(np.isnan(stacked), 0.0, stacked)
    return np.asarray(stacked.max(axis=(0, 2)))
