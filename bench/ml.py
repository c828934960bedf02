"""Model inference speed: one forward pass for 500 symbols (target < 10 ms), samples per second at
batch size 1 and 500, per model kind and torch thread count, plus the whole per-cycle path (features
from 1,000 candles + the pass) on the sandbox's synthetic market.

    .venv/bin/python bench/ml.py [--symbols 500] [--repeat 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch

# run as a script, this folder would come first on sys.path and `import ml` would find this file
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from ml.bundle import ModelBundle  # noqa: E402
from ml.features import FeatureConfig  # noqa: E402
from ml.labels import LabelConfig  # noqa: E402
from ml.market import Candles  # noqa: E402
from ml.model import KINDS, MarketNet, ModelConfig  # noqa: E402
from ml.normalize import Normalizer  # noqa: E402


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median seconds per call after a warm-up."""
    for _ in range(max(3, repeat // 10)):
        fn()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def bundle_of(kind: str, window: int) -> ModelBundle:
    names = FeatureConfig().names()
    torch.manual_seed(0)
    model = MarketNet(ModelConfig(len(names), kind=kind, window=window)).eval()
    return ModelBundle(
        model, FeatureConfig(), LabelConfig(), Normalizer(np.zeros(len(names)), np.ones(len(names)))
    )


def market(n_symbols: int, n_candles: int) -> Candles:
    from sandbox.exchange.synthetic import synthetic_ohlcv

    frames = synthetic_ohlcv(n_symbols=n_symbols, n_candles=n_candles, seed=42, end_ms=1_750_000_000_000)
    names = list(frames)
    cols = {
        c: np.stack([frames[s][c].to_numpy(np.float64) for s in names])
        for c in ("open", "high", "low", "close", "volume")
    }
    times = frames[names[0]]["date"].astype("datetime64[ms, UTC]").astype("int64").to_numpy()
    return Candles(tuple(names), times, **cols)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--symbols", type=int, default=500)
    ap.add_argument("--candles", type=int, default=1000)
    ap.add_argument("--window", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=200)
    args = ap.parse_args()
    n, w = args.symbols, args.window
    n_feat = len(FeatureConfig().names())
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads by default; "
        f"window {w}, {n_feat} features"
    )
    print(
        f"{'kind':<6}{'threads':>8}{'pass ' + str(n) + ' sym':>16}"
        f"{'samples/s b=1':>16}{'samples/s b=' + str(n):>18}"
    )
    rng = np.random.default_rng(0)
    big = torch.from_numpy(rng.standard_normal((n, w, n_feat)).astype(np.float32))
    one = big[:1].clone()
    default_threads = torch.get_num_threads()
    for kind in KINDS:
        bundle = bundle_of(kind, w)
        for threads in sorted({1, default_threads}):
            torch.set_num_threads(threads)
            t_big = timed(partial(bundle.forward, big), args.repeat)
            t_one = timed(partial(bundle.forward, one), args.repeat)
            flag = "ok" if t_big < 0.010 else "over 10 ms"
            print(
                f"{kind:<6}{threads:>8}{t_big * 1e3:>12.2f} ms{1 / t_one:>16,.0f}{n / t_big:>18,.0f}  {flag}"
            )
    torch.set_num_threads(default_threads)

    m = market(n, args.candles)
    bundle = bundle_of("conv", w)
    t_cycle = timed(lambda: bundle.predict_last(m), max(5, args.repeat // 20))
    print(
        f"per-cycle path, conv: features from {n} x {args.candles} candles + one pass: {t_cycle * 1e3:.1f} ms"
    )
    t_all = timed(lambda: bundle.predict_all(m), 3)
    print(f"every candle (backtest path), conv: {n * args.candles / t_all:,.0f} samples/s")


if __name__ == "__main__":
    main()
