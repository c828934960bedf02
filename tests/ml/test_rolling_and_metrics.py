"""Property tests: the prefix-sum rolling statistics against a direct computation, and the metrics."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ml.metrics import calibration, evaluate, log_loss, macro_f1
from ml.rolling import rolling_all, rolling_mean_std

values = st.floats(-1e3, 1e3, allow_nan=False) | st.just(float("nan"))


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 40)), elements=values), st.integers(1, 12)
)
def test_rolling_mean_std_is_the_window_statistic(x: np.ndarray, window: int) -> None:
    mean, std = rolling_mean_std(x, window)
    for s in range(x.shape[0]):
        for t in range(x.shape[1]):
            w = x[s, max(0, t - window + 1) : t + 1]
            if t < window - 1 or np.isnan(w).any():
                assert np.isnan(mean[s, t]) and np.isnan(std[s, t])
            else:
                assert np.isclose(mean[s, t], w.mean(), rtol=1e-9, atol=1e-6)
                assert np.isclose(std[s, t], w.std(), rtol=1e-6, atol=1e-4)


@settings(max_examples=40, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 3), st.integers(1, 30))), st.integers(1, 8))
def test_rolling_all(ok: np.ndarray, window: int) -> None:
    out = rolling_all(ok, window)
    for s in range(ok.shape[0]):
        for t in range(ok.shape[1]):
            assert out[s, t] == (t >= window - 1 and bool(ok[s, t - window + 1 : t + 1].all()))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=60))
def test_macro_f1_matches_its_definition(pairs: list[tuple[int, int]]) -> None:
    labels = np.array([p[0] for p in pairs])
    pred = np.array([p[1] for p in pairs])
    f1s = []
    for c in range(3):
        tp = np.sum((pred == c) & (labels == c))
        fp = np.sum((pred == c) & (labels != c))
        fn = np.sum((pred != c) & (labels == c))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    assert np.isclose(macro_f1(pred, labels, 3), np.mean(f1s))


def test_log_loss_calibration_and_baselines() -> None:
    labels = np.array([0, 1, 2, 2])
    sure = np.eye(3)[labels]
    assert log_loss(sure, labels) < 1e-9
    uniform = np.full((4, 3), 1 / 3)
    assert np.isclose(log_loss(uniform, labels), np.log(3))
    ece, bins = calibration(uniform, labels)
    # confidence 1/3 everywhere, right once in four (argmax picks class 0)
    assert np.isclose(ece, abs(1 / 3 - 1 / 4)) and len(bins) == 1 and bins[0]["n"] == 4
    m = evaluate(uniform, labels, prior=np.array([1.0, 1.0, 2.0]))
    assert m["baseline_accuracy"] == 0.5  # the majority class of the prior is 2
    assert np.isclose(m["baseline_log_loss"], -np.mean(np.log([0.25, 0.25, 0.5, 0.5])))
    assert m["confusion"] == [[1, 0, 0], [1, 0, 0], [2, 0, 0]]
