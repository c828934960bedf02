"""Timeframe arithmetic in epoch milliseconds: which candle is the last finished one."""

from __future__ import annotations

_UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def timeframe_ms(timeframe: str) -> int:
    """'5m' -> 300000. Raises ValueError for anything that is not <int><m|h|d|w>."""
    amount, unit = timeframe[:-1], timeframe[-1:]
    if unit not in _UNIT_MS or not amount.isdigit() or int(amount) <= 0:
        raise ValueError(f"unknown timeframe {timeframe!r}")
    return int(amount) * _UNIT_MS[unit]


def last_closed_open(now_ms: int, tf_ms: int) -> int:
    """Open time of the newest finished candle: a candle is finished when open + timeframe <= now."""
    return (now_ms // tf_ms) * tf_ms - tf_ms
