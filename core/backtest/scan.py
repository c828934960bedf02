"""Finding the next candle where an open position can change, without visiting the others.

The levels come from core.exits.watch_levels; the candle found is only a candidate, and the exit
state machine decides what (if anything) happens on it. The tolerance makes the search err on the
side of stopping too early, never too late.
"""

from __future__ import annotations

import numpy as np
from numba import njit

TOLERANCE = 1e-9
INF = float("inf")


@njit(cache=True, nogil=True)
def _next_event(
    low: np.ndarray, high: np.ndarray, s: int, start: int, end: int, down: float, up: float
) -> int:
    for j in range(start, end):
        if low[s, j] <= down or high[s, j] >= up:
            return j
    return end


def next_event(
    low: np.ndarray,
    high: np.ndarray,
    s: int,
    start: int,
    end: int,
    down: float,
    up: float,
) -> int:
    """First candle j in [start, end) whose low reaches `down` or whose high reaches `up`; `end` if none.

    (The engine bounds `end` by the next exit signal and the time exit itself.)
    """
    down_t = down + abs(down) * TOLERANCE if down > -INF else down
    up_t = up - abs(up) * TOLERANCE if up < INF else up
    return _next_event(low, high, s, start, end, down_t, up_t)  # type: ignore[no-any-return]
