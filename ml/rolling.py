"""Causal rolling statistics along the time axis of [symbols, time] arrays.

Each value at t uses only t-window+1..t, so data after t never changes it; a window holding a NaN
gives NaN. Prefix sums keep it O(symbols x time) whatever the window.
"""

from __future__ import annotations

import numpy as np

from ml.market import FloatArray


def _window_sum(x: FloatArray, window: int) -> FloatArray:
    csum = np.cumsum(x, axis=1)
    out = np.empty_like(csum)
    out[:, :window] = csum[:, :window]
    out[:, window:] = csum[:, window:] - csum[:, :-window]
    return out


def rolling_mean_std(x: FloatArray, window: int) -> tuple[FloatArray, FloatArray]:
    """Rolling mean and population standard deviation over the last `window` values."""
    if window < 1:
        raise ValueError("window must be >= 1")
    bad = ~np.isfinite(x)
    clean = np.where(bad, 0.0, x)
    n_bad = _window_sum(bad.astype(np.float64), window)
    mean = _window_sum(clean, window) / window
    var = _window_sum(clean * clean, window) / window - mean * mean
    std = np.sqrt(np.maximum(var, 0.0))
    invalid = n_bad > 0
    invalid[:, : window - 1] = True
    mean[invalid] = np.nan
    std[invalid] = np.nan
    return mean, std


def rolling_all(ok: np.ndarray, window: int) -> np.ndarray:
    """True at t when ok[t-window+1 .. t] are all True (False in the first window-1 columns)."""
    n_bad = _window_sum((~ok).astype(np.float64), window)
    out = n_bad == 0
    out[:, : window - 1] = False
    return out


def lagged(x: FloatArray, lag: int) -> FloatArray:
    """x shifted right by `lag` columns (the value `lag` candles ago), NaN where unknown."""
    out = np.full_like(x, np.nan)
    if lag < x.shape[1]:
        out[:, lag:] = x[:, : x.shape[1] - lag]
    return out


def safe_div(num: FloatArray, den: FloatArray) -> FloatArray:
    """num / den, 0 where den is 0 (a flat market has no range), NaN where either is NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    out = np.where(den == 0, 0.0, out)
    return np.where(np.isnan(num) | np.isnan(den), np.nan, out)
