"""No look-ahead: what happens after a point in time never changes anything computed before it."""

from __future__ import annotations

import numpy as np
import pytest

from ml.dataset import walk_forward_split
from ml.features import compute_features
from ml.labels import UNKNOWN, make_labels
from ml.market import Candles
from ml.pipeline import prepare
from tests.ml.conftest import FEATURES, LABELS, sandbox_market

COLS = ("open", "high", "low", "close", "volume")


def altered_after(c: Candles, p: int, seed: int) -> Candles:
    """The same market up to candle p-1; from p on the candles are shuffled in time and rescaled."""
    rng = np.random.default_rng(seed)
    order = p + rng.permutation(len(c.times) - p)
    scale = rng.uniform(0.5, 2.0, size=(len(c.symbols), 1))
    arrays = {}
    for col in COLS:
        a = getattr(c, col).copy()
        a[:, p:] = a[:, order] * (scale if col != "volume" else scale**2)
        arrays[col] = a
    return Candles(c.symbols, c.times, **arrays)


@pytest.fixture(scope="module")
def market() -> Candles:
    return sandbox_market(n_symbols=6, n_candles=500)


@pytest.mark.parametrize("p", [60, 233, 400])
def test_features_before_a_point_ignore_everything_after_it(market: Candles, p: int) -> None:
    base = compute_features(market, FEATURES)
    changed = compute_features(altered_after(market, p, seed=p), FEATURES)
    truncated = compute_features(market.slice_time(0, p), FEATURES)
    np.testing.assert_array_equal(changed[:, :p], base[:, :p])
    # a shorter history may round differently in the indicator kernels, never more than that
    np.testing.assert_allclose(truncated, base[:, :p], rtol=1e-9, atol=1e-12)
    # the alteration itself did reach the features after p
    assert not np.allclose(np.nan_to_num(changed[:, p:]), np.nan_to_num(base[:, p:]))


@pytest.mark.parametrize("p", [100, 377])
def test_labels_see_exactly_horizon_candles_ahead(market: Candles, p: int) -> None:
    h = LABELS.horizon
    base = make_labels(market.close, LABELS)
    changed = make_labels(altered_after(market, p, seed=p).close, LABELS)
    np.testing.assert_array_equal(changed[:, : p - h], base[:, : p - h])
    # the last `horizon` candles have no label: their future is not in the data
    assert (base[:, -h:] == UNKNOWN).all()
    assert (base[:, 30 : len(market.times) - h] != UNKNOWN).all()


def test_split_is_in_time_order_with_horizon_gaps() -> None:
    split = walk_forward_split(1000, horizon=12, val_frac=0.2, test_frac=0.1)
    assert split.train.start == 0
    assert split.val.start == split.train.end + 12
    assert split.test.start == split.val.end + 12
    assert split.test.end <= 1000
    assert len(split.val) == int(976 * 0.2) and len(split.test) == int(976 * 0.1)
    with pytest.raises(ValueError, match="too few"):
        walk_forward_split(30, horizon=12)


def test_training_data_and_normalisation_ignore_validation_and_test(market: Candles) -> None:
    """Everything training sees (features, labels, normalisation stats, the sample index) is the same
    whatever the candles from the validation window on look like."""
    window = 8
    base = prepare(market, FEATURES, LABELS, window)
    p = base.split.val.start  # first candle after the train span and its gap
    other = prepare(altered_after(market, p, seed=1), FEATURES, LABELS, window)
    assert other.split == base.split
    np.testing.assert_array_equal(other.normalizer.mean, base.normalizer.mean)
    np.testing.assert_array_equal(other.normalizer.std, base.normalizer.std)
    np.testing.assert_array_equal(other.prior, base.prior)
    s0, t0 = base.samples(base.split.train)
    s1, t1 = other.samples(other.split.train)
    np.testing.assert_array_equal(s0, s1)
    np.testing.assert_array_equal(t0, t1)
    assert t0.max() + LABELS.horizon < p  # the latest training label ends before the validation window
    np.testing.assert_array_equal(other.labels[s1, t1], base.labels[s0, t0])
    np.testing.assert_array_equal(other.features[:, :p], base.features[:, :p])
    # while the statistics fitted on everything would differ: the test can tell
    assert not np.array_equal(
        np.nanmean(other.raw_features, axis=(0, 1)), np.nanmean(base.raw_features, axis=(0, 1))
    )
