"""Every indicator against TA-Lib, symbol by symbol, on ragged, flat, gapped and generated series."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import talib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpu import indicators as ind
from tests.gpu.talib_oracle import Data, Ref, assert_agrees, reference, row_scale

HLC = ("high", "low", "close")


@dataclass(frozen=True)
class Case:
    name: str
    ours: Callable[[Data], tuple[np.ndarray, ...]]
    refs: tuple[Ref, ...]
    common: tuple[str, ...]  # the series whose joint first valid candle starts a row

    @property
    def price_scaled(self) -> bool:
        """Outputs in price units: near-zero values (a MACD histogram) are judged against the price."""
        return self.name.split("_")[0] in {"sma", "ema", "macd", "bbands", "atr", "pivots"}


def _one(x: Any) -> tuple[np.ndarray, ...]:
    return (x,)


CASES = [
    Case("sma", lambda d: _one(ind.sma(d["close"])), (Ref(talib.SMA, ("close",)),), ("close",)),
    Case(
        "sma_7",
        lambda d: _one(ind.sma(d["close"], 7)),
        (Ref(talib.SMA, ("close",), {"timeperiod": 7}),),
        ("close",),
    ),
    Case("ema", lambda d: _one(ind.ema(d["close"])), (Ref(talib.EMA, ("close",)),), ("close",)),
    Case(
        "ema_9",
        lambda d: _one(ind.ema(d["close"], period=9)),
        (Ref(talib.EMA, ("close",), {"timeperiod": 9}),),
        ("close",),
    ),
    Case("rsi", lambda d: _one(ind.rsi(d["close"])), (Ref(talib.RSI, ("close",)),), ("close",)),
    Case(
        "rsi_2",
        lambda d: _one(ind.rsi(d["close"], 2)),
        (Ref(talib.RSI, ("close",), {"timeperiod": 2}),),
        ("close",),
    ),
    Case(
        "macd",
        lambda d: ind.macd(d["close"]),
        tuple(Ref(talib.MACD, ("close",), {}, k) for k in range(3)),
        ("close",),
    ),
    Case(
        "macd_5_8_1_swapped",
        lambda d: ind.macd(d["close"], fastperiod=8, slowperiod=5, signalperiod=1),
        tuple(
            Ref(talib.MACD, ("close",), {"fastperiod": 8, "slowperiod": 5, "signalperiod": 1}, k)
            for k in range(3)
        ),
        ("close",),
    ),
    Case(
        "bbands",
        lambda d: ind.bbands(d["close"]),
        tuple(Ref(talib.BBANDS, ("close",), {}, k) for k in range(3)),
        ("close",),
    ),
    Case(
        "bbands_5_1.5_2.5",
        lambda d: ind.bbands(d["close"], 5, 1.5, 2.5),
        tuple(
            Ref(talib.BBANDS, ("close",), {"timeperiod": 5, "nbdevup": 1.5, "nbdevdn": 2.5}, k)
            for k in range(3)
        ),
        ("close",),
    ),
    Case("atr", lambda d: _one(ind.atr(d["high"], d["low"], d["close"])), (Ref(talib.ATR, HLC),), HLC),
    Case(
        "atr_1",
        lambda d: _one(ind.atr(d["high"], d["low"], d["close"], 1)),
        (Ref(talib.ATR, HLC, {"timeperiod": 1}),),
        HLC,
    ),
    Case(
        "adx",
        lambda d: ind.adx(d["high"], d["low"], d["close"]),
        (Ref(talib.ADX, HLC), Ref(talib.PLUS_DI, HLC), Ref(talib.MINUS_DI, HLC)),
        HLC,
    ),
    Case(
        "adx_5",
        lambda d: ind.adx(d["high"], d["low"], d["close"], period=5),
        tuple(Ref(f, HLC, {"timeperiod": 5}) for f in (talib.ADX, talib.PLUS_DI, talib.MINUS_DI)),
        HLC,
    ),
    Case(
        "obv",
        lambda d: _one(ind.obv(d["close"], d["volume"])),
        (Ref(talib.OBV, ("close", "volume")),),
        ("close", "volume"),
    ),
    Case(
        "stoch",
        lambda d: ind.stoch(d["high"], d["low"], d["close"]),
        (Ref(talib.STOCH, HLC, {}, 0), Ref(talib.STOCH, HLC, {}, 1)),
        HLC,
    ),
    Case(
        "stoch_14_1_4",
        lambda d: ind.stoch(d["high"], d["low"], d["close"], 14, 1, 4),
        tuple(
            Ref(talib.STOCH, HLC, {"fastk_period": 14, "slowk_period": 1, "slowd_period": 4}, k)
            for k in range(2)
        ),
        HLC,
    ),
    Case("roc", lambda d: _one(ind.roc(d["close"])), (Ref(talib.ROC, ("close",)),), ("close",)),
    Case(
        "roc_1",
        lambda d: _one(ind.roc(d["close"], 1)),
        (Ref(talib.ROC, ("close",), {"timeperiod": 1}),),
        ("close",),
    ),
    Case(
        "pivots",
        lambda d: ind.pivots(d["high"], d["low"]),
        (Ref(talib.MIN, ("low",), {"timeperiod": 20}), Ref(talib.MAX, ("high",), {"timeperiod": 20})),
        ("high", "low"),
    ),
    Case(
        "pivots_3",
        lambda d: ind.pivots(d["high"], d["low"], 3),
        (Ref(talib.MIN, ("low",), {"timeperiod": 3}), Ref(talib.MAX, ("high",), {"timeperiod": 3})),
        ("high", "low"),
    ),
]


def _ohlcv_from_close(close: np.ndarray, rng: np.random.Generator) -> Data:
    spread = rng.uniform(0.0, 0.02, close.shape)
    up = rng.uniform(0.0, 1.0, close.shape)
    high = close * (1 + spread * up)
    low = close * (1 - spread * (1 - up))
    volume = rng.lognormal(3.0, 2.0, close.shape)
    return {"high": high, "low": low, "close": close, "volume": volume}


def _pad(data: Data, pads: np.ndarray) -> Data:
    for arr in data.values():
        for r, p in enumerate(pads):
            arr[r, :p] = np.nan
    return data


def ragged_random(seed: int = 7, symbols: int = 40, length: int = 300) -> Data:
    """Random walks, left-padded by different amounts: none, short, longer than every warm-up, all."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (symbols, length)), axis=1))
    pads = rng.integers(0, length, symbols)
    special = [0, length, length - 1, length - 20]
    pads[: min(4, symbols)] = special[: min(4, symbols)]
    return _pad(_ohlcv_from_close(close, rng), pads)


def constant_prices() -> Data:
    """Flat prices at several scales (zero divisions everywhere), with and without volume."""
    levels = np.array([0.0, 1e-7, 0.1, 1.2345, 30000.0, 1e6])
    close = np.repeat(levels[:, None], 120, axis=1)
    volume = np.where(np.arange(len(levels))[:, None] % 2 == 0, 1.0, 0.0) * np.ones_like(close)
    data = {"high": close.copy(), "low": close.copy(), "close": close, "volume": volume}
    return _pad(data, np.array([0, 3, 10, 0, 50, 7]))


def gapped() -> Data:
    """Price gaps (jumps of +-30%), runs of gap-filled flat candles with no volume, integer ticks."""
    rng = np.random.default_rng(11)
    symbols, length = 12, 400
    steps = rng.normal(0, 0.01, (symbols, length))
    steps[rng.uniform(size=steps.shape) < 0.02] = np.log(rng.choice([0.7, 1.3]))
    close = np.round(50 * np.exp(np.cumsum(steps, axis=1)), 1)
    data = _ohlcv_from_close(close, rng)
    data["high"] = np.maximum(np.round(data["high"], 1), close)
    data["low"] = np.minimum(np.round(data["low"], 1), close)
    for r in range(symbols):
        for start in rng.integers(0, length - 40, 3):
            run = slice(start, start + rng.integers(1, 35))
            prev = close[r, start - 1] if start else close[r, start]
            for name in ("high", "low", "close"):
                data[name][r, run] = prev
            data["volume"][r, run] = 0.0
    return _pad(data, rng.integers(0, 100, symbols))


def wide_scales() -> Data:
    """Micro-priced and large-priced symbols side by side."""
    rng = np.random.default_rng(3)
    scales = np.array([1e-6, 1e-3, 1.0, 1e3, 1e5])[:, None]
    close = scales * np.exp(np.cumsum(rng.normal(0, 0.03, (5, 250)), axis=1))
    return _pad(_ohlcv_from_close(close, rng), np.array([0, 30, 0, 60, 5]))


def flat_tail() -> Data:
    """A few moves, then hundreds of identical candles: smoothed sums decay far below 1e-14."""
    rng = np.random.default_rng(5)
    close = np.ones((3, 900))
    close[:, 1:12] += rng.uniform(-1e-4, 1e-4, (3, 11))
    close[1] *= 30000.0
    close[2] *= 1e-5
    data = {"high": close * 1.00001, "low": close * 0.99999, "close": close, "volume": np.ones_like(close)}
    data["high"][:, 12:] = close[:, 12:]
    data["low"][:, 12:] = close[:, 12:]
    return data


DATASETS = {
    "ragged": ragged_random(),
    "flat_tail": flat_tail(),
    "constant": constant_prices(),
    "gapped": gapped(),
    "wide_scales": wide_scales(),
}


def check_case(case: Case, data: Data, label: str) -> None:
    snapshot = {k: v.copy() for k, v in data.items()}
    outs = case.ours(data)
    assert len(outs) == len(case.refs)
    scale = row_scale([data[name] for name in case.common]) if case.price_scaled else None
    for k, (out, ref) in enumerate(zip(outs, case.refs, strict=True)):
        assert isinstance(out, np.ndarray)
        assert_agrees(out, reference(ref, data, case.common), f"{label} {case.name}[{k}]", input_scale=scale)
    for name, arr in data.items():
        np.testing.assert_array_equal(arr, snapshot[name], err_msg=f"{case.name} modified its input {name}")


@pytest.mark.parametrize("dataset", list(DATASETS))
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_agrees_with_talib(case: Case, dataset: str) -> None:
    check_case(case, DATASETS[dataset], dataset)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_one_dimensional_input_is_one_symbol(case: Case) -> None:
    data = {k: v[0] for k, v in ragged_random(seed=5, symbols=1, length=200).items()}
    outs = case.ours(data)
    batch = case.ours({k: v[None, :] for k, v in data.items()})
    for out, row in zip(outs, batch, strict=True):
        assert out.shape == (200,)
        np.testing.assert_array_equal(out, row[0])


def test_long_single_series() -> None:
    data = ragged_random(seed=9, symbols=1, length=100_000)
    data = {k: np.ascontiguousarray(v) for k, v in data.items()}
    for case in CASES:
        check_case(case, data, "long")


@pytest.mark.parametrize("length", [257, 3_001])
def test_one_series_cut_into_time_chunks(monkeypatch: pytest.MonkeyPatch, length: int) -> None:
    """With fewer rows than threads, windowed kernels split the time axis; every cut must be seamless."""
    monkeypatch.setattr(ind, "MIN_CHUNK", 16)
    for seed in range(3):
        data = ragged_random(seed=seed, symbols=1, length=length)
        for case in CASES:
            check_case(case, data, f"chunked seed {seed}")
            flat = case.ours({k: v[0] for k, v in data.items()})
            for one, batch in zip(flat, case.ours(data), strict=True):
                np.testing.assert_array_equal(one, batch[0])


@st.composite
def series(draw: st.DrawFn) -> Data:
    """A few symbols of generated OHLCV: arbitrary positive closes, flat runs, zero volumes, padding."""
    length = draw(st.integers(1, 90))
    symbols = draw(st.integers(1, 3))
    price = st.one_of(
        st.floats(1e-4, 1e5, allow_nan=False, allow_infinity=False),
        st.sampled_from([1.0, 2.0, 100.0]),  # repeated values: ties and flat windows
    )
    close = np.array(draw(st.lists(price, min_size=length * symbols, max_size=length * symbols)))
    close = close.reshape(symbols, length)
    frac = st.floats(0.0, 0.2, allow_nan=False)
    up = np.array(draw(st.lists(frac, min_size=close.size, max_size=close.size))).reshape(close.shape)
    down = np.array(draw(st.lists(frac, min_size=close.size, max_size=close.size))).reshape(close.shape)
    volume = np.array(
        draw(
            st.lists(
                st.one_of(st.just(0.0), st.floats(0.0, 1e9, allow_nan=False)),
                min_size=close.size,
                max_size=close.size,
            )
        )
    ).reshape(close.shape)
    pads = np.array(draw(st.lists(st.integers(0, length), min_size=symbols, max_size=symbols)))
    data = {"high": close * (1 + up), "low": close * (1 - down), "close": close, "volume": volume}
    return _pad(data, pads)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=series())
def test_generated_series_agree_with_talib(data: Data) -> None:
    for case in CASES:
        check_case(case, data, "generated")


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda x: ind.sma(x, 1), ValueError),
        (lambda x: ind.ema(x, 0), ValueError),
        (lambda x: ind.rsi(x, 2.5), TypeError),  # type: ignore[arg-type]
        (lambda x: ind.roc(x, True), TypeError),
        (lambda x: ind.macd(x, signalperiod=0), ValueError),
        (lambda x: ind.obv(x, x[:, :-1]), ValueError),
        (lambda x: ind.sma(x[None]), ValueError),
    ],
)
def test_bad_arguments_are_clear_errors(call: Callable[[np.ndarray], Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        call(np.ones((2, 50)))


def test_integer_and_strided_inputs_are_accepted() -> None:
    close = np.arange(200, dtype=np.int64).reshape(2, 100)
    expected = ind.sma(close.astype(np.float64), 5)
    np.testing.assert_array_equal(ind.sma(close, 5), expected)
    wide = np.asfortranarray(close.astype(np.float64))
    np.testing.assert_array_equal(ind.sma(wide, 5), expected)
    np.testing.assert_array_equal(ind.sma(close.astype(np.float64), 5, xp=np), expected)
