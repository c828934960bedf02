"""Model features from the shared indicator arrays: [symbols, time, features], causal by construction.

Every feature at candle t depends only on candles <= t (the look-ahead test in tests/ml proves it).
Prices enter as log returns or ratios so one model serves symbols of any price level.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ml.market import FloatArray, IndicatorFn, MarketArrays, indicator_fn, to_numpy
from ml.rolling import lagged, rolling_mean_std, safe_div


@dataclass(frozen=True)
class FeatureConfig:
    return_horizons: tuple[int, ...] = (1, 3, 12, 48)
    vol_window: int = 24
    volume_window: int = 48
    rsi_period: int = 14
    bb_period: int = 20
    atr_period: int = 14
    adx_period: int = 14
    pivot_period: int = 20

    def names(self) -> list[str]:
        return [
            *(f"ret_{h}" for h in self.return_horizons),
            "volatility",
            "rsi",
            "macd_hist",
            "bb_position",
            "bb_width",
            "atr_ratio",
            "volume_z",
            "dist_support",
            "dist_resistance",
            "adx",
            "stoch_k",
        ]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["return_horizons"] = list(self.return_horizons)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        data = dict(data)
        data["return_horizons"] = tuple(data["return_horizons"])
        return cls(**data)


def log_returns(close: FloatArray, lag: int) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(close / lagged(close, lag))
    return np.where(np.isfinite(out), out, np.nan)


def volatility(close: FloatArray, window: int) -> FloatArray:
    """Rolling standard deviation of one-candle log returns."""
    return rolling_mean_std(log_returns(close, 1), window)[1]


def compute_features(
    market: MarketArrays,
    config: FeatureConfig | None = None,
    indicator: IndicatorFn | None = None,
    tail: int | None = None,
) -> np.ndarray:
    """Raw (unnormalised) features as float64 [symbols, time, len(config.names())], NaN in warm-up.

    With `tail`, only the last `tail` candles are computed (the per-cycle path): the indicator arrays
    are sliced and the rolling statistics see just the candles they need, so the cost does not grow
    with the history kept for the indicators' warm-up.
    """
    cfg = config or FeatureConfig()
    ind = indicator or indicator_fn(market)
    n_t = np.shape(market.close)[1]
    keep = n_t if tail is None else min(tail, n_t)
    lookback = max(*cfg.return_horizons, cfg.vol_window + 1, cfg.volume_window) + 1
    start_in = max(0, n_t - keep - lookback)
    close_in = np.asarray(market.close, dtype=np.float64)[:, start_in:]
    volume_in = np.asarray(market.volume, dtype=np.float64)[:, start_in:]
    cut = close_in.shape[1] - keep

    def ind_arr(value: object) -> FloatArray:
        return to_numpy(value)[:, n_t - keep :]

    close = close_in[:, cut:]
    cols: list[FloatArray] = [log_returns(close_in, h)[:, cut:] for h in cfg.return_horizons]
    cols.append(volatility(close_in, cfg.vol_window)[:, cut:])
    cols.append((ind_arr(ind("rsi", period=cfg.rsi_period)) - 50.0) / 50.0)
    cols.append(safe_div(ind_arr(ind("macd")[2]), close))
    upper, middle, lower = (ind_arr(a) for a in ind("bbands", period=cfg.bb_period))
    cols.append(safe_div(close - lower, upper - lower) - 0.5)
    cols.append(safe_div(upper - lower, middle))
    atr = ind_arr(ind("atr", period=cfg.atr_period))
    cols.append(safe_div(atr, close))
    log_vol = np.log1p(np.maximum(volume_in, 0.0))
    vmean, vstd = rolling_mean_std(log_vol, cfg.volume_window)
    cols.append(safe_div(log_vol - vmean, vstd)[:, cut:])
    support, resistance = (ind_arr(a) for a in ind("pivots", period=cfg.pivot_period))
    # distances in ATRs: comparable across symbols of different volatility
    cols.append(safe_div(close - support, atr))
    cols.append(safe_div(resistance - close, atr))
    cols.append(ind_arr(ind("adx", period=cfg.adx_period)[0]) / 100.0)
    cols.append(ind_arr(ind("stoch")[0]) / 100.0 - 0.5)

    out = np.stack(cols, axis=-1)
    out[~np.isfinite(out)] = np.nan
    return out
