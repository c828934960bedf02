"""Binance kline intervals and human durations ("5m", "1h", "90s") in milliseconds."""

from __future__ import annotations

import re

_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
# the intervals Binance spot accepts for /api/v3/klines (1M is left out: months are not a fixed length)
INTERVALS = ("1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w")
_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d|w)\s*$")


def duration_ms(text: str) -> int:
    """'5m' -> 300000; also '250ms', '2h', '1d'. Raises ValueError on anything else."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 5m, 1h, 1d)")
    value, unit = int(match.group(1)), match.group(2)
    return value if unit == "ms" else value * _UNIT_MS[unit]


def timeframe_ms(timeframe: str) -> int:
    if timeframe not in INTERVALS:
        raise ValueError(f"unknown timeframe {timeframe!r}; one of {', '.join(INTERVALS)}")
    return duration_ms(timeframe)
