"""Candle tables: merging (dedupe by time) and assembly onto the frame's common grid."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from core.market.frame import assemble_frame
from core.market.ohlcv_store import merge_candles
from core.market.timeframes import last_closed_open, timeframe_ms

TF = 300_000


def table(opens: list[int], base: float = 100.0) -> np.ndarray:
    rows = [[t, base + i, base + i + 2, base + i - 2, base + i + 1, 10.0 + i] for i, t in enumerate(opens)]
    return np.asarray(rows, dtype=np.float64).reshape(-1, 6)


def test_timeframe_ms_and_last_closed() -> None:
    assert timeframe_ms("5m") == TF
    assert timeframe_ms("1h") == 3_600_000
    assert timeframe_ms("1d") == 86_400_000
    # exactly on a boundary the candle that just ended is finished, the one opening now is not
    assert last_closed_open(10 * TF, TF) == 9 * TF
    assert last_closed_open(10 * TF + 1, TF) == 9 * TF
    assert last_closed_open(11 * TF - 1, TF) == 9 * TF


def test_timeframe_rejects_garbage() -> None:
    for bad in ("", "m", "0m", "5x", "-5m", "5"):
        try:
            timeframe_ms(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} accepted")


@given(
    st.lists(st.integers(0, 50), max_size=40),
    st.lists(st.integers(0, 50), max_size=40),
)
def test_merge_is_sorted_unique_union_newer_wins(old_idx: list[int], new_idx: list[int]) -> None:
    old = table(sorted(set(old_idx)), base=100.0)
    new = table(sorted(set(new_idx)), base=500.0)
    old[:, 0] *= TF
    new[:, 0] *= TF
    merged = merge_candles(old, new)
    ts = merged[:, 0]
    assert np.all(np.diff(ts) > 0)
    assert set(ts.tolist()) == set(old[:, 0].tolist()) | set(new[:, 0].tolist())
    by_time = {row[0]: row for row in merged}
    for row in new:
        np.testing.assert_array_equal(by_time[row[0]], row)
    for row in old:
        if row[0] not in set(new[:, 0].tolist()):
            np.testing.assert_array_equal(by_time[row[0]], row)


def test_assemble_left_pads_young_symbols_and_drops_off_grid_rows() -> None:
    end = 100 * TF
    old = table([end - k * TF for k in range(9, -1, -1)])  # 10 candles, the whole grid
    young = table([end - 2 * TF, end - TF, end])  # 3 candles
    stray = table([end - 5 * TF + 7, end + TF, end - 50 * TF])  # off-boundary, future, before the grid
    frame = assemble_frame(
        {"A/USDT": old, "B/USDT": young, "C/USDT": stray}, tf_ms=TF, end_open=end, length=10
    )
    assert frame.symbols == ("A/USDT", "B/USDT", "C/USDT")
    assert frame.close.shape == (3, 10) and frame.close.dtype == np.float64
    assert frame.times.dtype == np.int64
    np.testing.assert_array_equal(frame.times, end - TF * np.arange(9, -1, -1))
    np.testing.assert_array_equal(frame.close[0], old[:, 4])
    np.testing.assert_array_equal(frame.volume[0], old[:, 5])
    assert np.isnan(frame.close[1, :7]).all()
    np.testing.assert_array_equal(frame.open[1, 7:], young[:, 1])
    assert np.isnan(frame.close[2]).all()


def test_assemble_fills_inner_gaps_flat_like_the_strategy_frame() -> None:
    end = 100 * TF
    rows = table([end - 4 * TF, end - 3 * TF, end - TF, end])  # end - 2*TF missing
    frame = assemble_frame({"A/USDT": rows}, tf_ms=TF, end_open=end, length=6)
    assert np.isnan(frame.close[0, 0])
    gap = 3
    prev_close = rows[1, 4]
    assert frame.open[0, gap] == frame.high[0, gap] == frame.low[0, gap] == frame.close[0, gap] == prev_close
    assert frame.volume[0, gap] == 0.0


def test_assemble_empty_universe() -> None:
    frame = assemble_frame({}, tf_ms=TF, end_open=10 * TF, length=5)
    assert frame.symbols == ()
    assert frame.close.shape == (0, 5)
