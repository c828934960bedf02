"""Several threads asking for indicators at once get the same answers as one thread alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from gpu import indicators as ind


def test_concurrent_calls_from_threads() -> None:
    rng = np.random.default_rng(0)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (64, 500)), axis=1))
    high, low = close * 1.01, close * 0.99
    calls = [
        lambda: ind.rsi(close),
        lambda: ind.macd(close)[2],
        lambda: ind.adx(high, low, close)[0],
        lambda: ind.bbands(close)[0],
        lambda: ind.pivots(high, low)[1],
    ]
    expected = [call() for call in calls]
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [(k, pool.submit(calls[k])) for _ in range(10) for k in range(len(calls))]
        for k, future in futures:
            np.testing.assert_array_equal(future.result(), expected[k])
