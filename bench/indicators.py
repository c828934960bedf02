"""Candles per second of the batched indicators against TA-Lib called symbol by symbol.

    .venv/bin/python bench/indicators.py            # 500 x 2,000 and 1 x 1,000,000 candles
    .venv/bin/python bench/indicators.py --quick    # 100 x 500 and 1 x 100,000

Both sides run in the same process on the same arrays, warm-up excluded (numba compiles, or loads
its cache, in the warm-up). Each figure is the best of repeats that alternate ours and TA-Lib,
since the machine is shared.
Where our call returns several outputs (adx: ADX, +DI, -DI; pivots: MIN, MAX), TA-Lib is timed
producing the same outputs. rolling_vwap has no TA-Lib function; it is compared with TA-Lib SUMs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import talib

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gpu import indicators as ind
from gpu.backend import backend_name

Arrays = dict[str, np.ndarray]


def _talib_vwap(h: np.ndarray, lo: np.ndarray, c: np.ndarray, v: np.ndarray) -> Any:
    typical = (h + lo + c) / 3.0
    return talib.SUM(typical * v, 14) / talib.SUM(v, 14)


# name -> (our batched call, TA-Lib call on one symbol's rows)
CASES: dict[str, tuple[Callable[[Arrays], Any], Callable[[Arrays, int], Any]]] = {
    "sma": (lambda d: ind.sma(d["c"]), lambda d, r: talib.SMA(d["c"][r])),
    "ema": (lambda d: ind.ema(d["c"]), lambda d, r: talib.EMA(d["c"][r])),
    "rsi": (lambda d: ind.rsi(d["c"]), lambda d, r: talib.RSI(d["c"][r])),
    "macd": (lambda d: ind.macd(d["c"]), lambda d, r: talib.MACD(d["c"][r])),
    "bbands": (lambda d: ind.bbands(d["c"]), lambda d, r: talib.BBANDS(d["c"][r])),
    "atr": (
        lambda d: ind.atr(d["h"], d["l"], d["c"]),
        lambda d, r: talib.ATR(d["h"][r], d["l"][r], d["c"][r]),
    ),
    "adx": (
        lambda d: ind.adx(d["h"], d["l"], d["c"]),
        lambda d, r: (
            talib.ADX(d["h"][r], d["l"][r], d["c"][r]),
            talib.PLUS_DI(d["h"][r], d["l"][r], d["c"][r]),
            talib.MINUS_DI(d["h"][r], d["l"][r], d["c"][r]),
        ),
    ),
    "obv": (lambda d: ind.obv(d["c"], d["v"]), lambda d, r: talib.OBV(d["c"][r], d["v"][r])),
    "stoch": (
        lambda d: ind.stoch(d["h"], d["l"], d["c"]),
        lambda d, r: talib.STOCH(d["h"][r], d["l"][r], d["c"][r]),
    ),
    "roc": (lambda d: ind.roc(d["c"]), lambda d, r: talib.ROC(d["c"][r])),
    "rolling_vwap": (
        lambda d: ind.rolling_vwap(d["h"], d["l"], d["c"], d["v"]),
        lambda d, r: _talib_vwap(d["h"][r], d["l"][r], d["c"][r], d["v"][r]),
    ),
    "pivots": (
        lambda d: ind.pivots(d["h"], d["l"]),
        lambda d, r: (talib.MIN(d["l"][r], 20), talib.MAX(d["h"][r], 20)),
    ),
}


def make_data(symbols: int, length: int, seed: int = 0) -> Arrays:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (symbols, length)), axis=1))
    high = close * (1 + rng.uniform(0, 0.01, close.shape))
    low = close * (1 - rng.uniform(0, 0.01, close.shape))
    volume = rng.lognormal(5, 1, close.shape)
    return {"h": high, "l": low, "c": close, "v": volume}


def best_times(
    ours: Callable[[], Any], theirs: Callable[[], Any], min_total: float, repeats: int
) -> tuple[float, float]:
    """Best wall time of each, the two run alternately so both see the same load on a shared box."""
    ours()  # warm-up: numba compiles or loads its cache; page faults; caches
    theirs()
    best_ours = best_theirs = float("inf")
    spent = 0.0
    runs = 0
    while runs < repeats or spent < min_total:
        start = time.perf_counter()
        ours()
        middle = time.perf_counter()
        theirs()
        end = time.perf_counter()
        best_ours = min(best_ours, middle - start)
        best_theirs = min(best_theirs, end - middle)
        spent += end - start
        runs += 1
    return best_ours, best_theirs


def run(symbols: int, length: int, min_total: float, repeats: int, only: list[str]) -> None:
    data = make_data(symbols, length)
    candles = symbols * length
    for name, (ours, theirs) in CASES.items():
        if only and name not in only:
            continue

        def ours_batch(ours: Callable[[Arrays], Any] = ours) -> None:
            ours(data)

        def talib_loop(theirs: Callable[[Arrays, int], Any] = theirs) -> None:
            for r in range(symbols):
                theirs(data, r)

        t_ours, t_talib = best_times(ours_batch, talib_loop, min_total, repeats)
        size = f"{symbols}x{length}"
        print(
            f"| {name:<13} | {size:<10} | {candles / t_ours / 1e6:9.1f} | {candles / t_talib / 1e6:9.1f} "
            f"| {t_talib / t_ours:6.2f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller arrays, fewer repeats")
    parser.add_argument("--only", nargs="*", default=[], help="indicator names to run")
    args = parser.parse_args()
    if args.quick:
        sizes = [(100, 500), (1, 100_000)]
        min_total, repeats = 0.05, 3
    else:
        sizes = [(500, 2_000), (1, 1_000_000)]
        min_total, repeats = 1.0, 15
    import numba

    print(f"backend={backend_name()} numba threads={numba.get_num_threads()} talib={talib.__version__}")
    print("candles per second in millions (Mc/s); ratio = ours / TA-Lib, above 1 is faster")
    print(f"| {'indicator':<13} | {'size':<10} | {'ours Mc/s':>9} | {'TA-Lib':>9} | {'ratio':>6} |")
    print(f"|{'-' * 15}|{'-' * 12}|{'-' * 11}|{'-' * 11}|{'-' * 8}|")
    for symbols, length in sizes:
        run(symbols, length, min_total, repeats, args.only)


if __name__ == "__main__":
    main()
