"""From candles to a registered (not yet active) model version, with honest metrics.

Order matters for look-ahead: features are causal, the split is made in time order with gaps, the
normalisation is fitted on training rows only, and early stopping and the choice of model kind see
only the validation window. The test window is scored once, at the end.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ml.bundle import ModelBundle
from ml.dataset import Span, Split, describe, sample_index, training_rows, walk_forward_split, window_ok
from ml.features import FeatureConfig, compute_features
from ml.labels import LabelConfig, make_labels
from ml.market import IndicatorFn, MarketArrays
from ml.metrics import evaluate
from ml.normalize import Normalizer
from ml.registry import ModelRegistry, VersionInfo
from ml.train import Progress, Samples, TrainConfig, fit_best

ML_DIR = Path(__file__).resolve().parent


@dataclass
class Prepared:
    """Everything derived from the candles before any model is fitted."""

    raw_features: np.ndarray  # float64 [symbols, time, features]
    labels: np.ndarray  # int8 [symbols, time]
    split: Split
    normalizer: Normalizer
    features: np.ndarray  # normalised float32, NaN where unknown
    ok: np.ndarray  # bool [symbols, time]: a complete feature window ends here
    prior: np.ndarray  # training class counts

    def samples(self, span: Span) -> tuple[np.ndarray, np.ndarray]:
        return sample_index(self.ok, self.labels, span)


def prepare(
    market: MarketArrays,
    feature_config: FeatureConfig,
    label_config: LabelConfig,
    window: int,
    val_frac: float = 0.15,
    test_frac: float = 0.15,
    indicator: IndicatorFn | None = None,
) -> Prepared:
    raw = compute_features(market, feature_config, indicator)
    labels = make_labels(np.asarray(market.close), label_config)
    split = walk_forward_split(raw.shape[1], label_config.horizon, val_frac, test_frac)
    rows = training_rows(raw, split.train)
    if len(rows) == 0:
        raise ValueError(
            f"too little history: no complete feature row in the {len(split.train)} training candles "
            "(the features need about 60 candles of warm-up)"
        )
    normalizer = Normalizer.fit(rows)
    feats = normalizer.transform(raw)
    ok = window_ok(feats, window)
    s_idx, t_idx = sample_index(ok, labels, split.train)
    prior = np.bincount(labels[s_idx, t_idx].astype(np.int64), minlength=3).astype(np.float64)
    return Prepared(raw, labels, split, normalizer, feats, ok, prior)


def code_version() -> dict[str, str]:
    """The git commit when there is one, and a hash of ml/'s sources either way."""
    digest = hashlib.sha256()
    for path in sorted(ML_DIR.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    out = {"ml_sources_sha256": digest.hexdigest()[:16]}
    git = shutil.which("git")
    out["git_sha"] = "unknown"
    if git is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out["git_sha"] = subprocess.run(  # noqa: S603 - fixed argv, no shell
                [git, "rev-parse", "HEAD"], cwd=ML_DIR, capture_output=True, text=True, timeout=5, check=True
            ).stdout.strip()
    return out


def score(bundle: ModelBundle, prep: Prepared, span: Span) -> dict[str, Any]:
    s_idx, t_idx = prep.samples(span)
    probs = bundle.predict_at(prep.features, s_idx, t_idx)
    return evaluate(probs, prep.labels[s_idx, t_idx], prep.prior)


def compare_on_window(
    candidate: ModelBundle,
    other: ModelBundle,
    market: MarketArrays,
    prep: Prepared,
    span: Span,
    indicator: IndicatorFn | None = None,
) -> dict[str, Any]:
    """Both models scored on the same samples of `span` (those both can score), on the candidate's labels."""
    other_feats = other.prepare(market, indicator)
    other_ok = window_ok(other_feats, other.window)
    both = prep.ok & other_ok
    s_idx, t_idx = sample_index(both, prep.labels, span)
    labels = prep.labels[s_idx, t_idx]
    cand = evaluate(candidate.predict_at(prep.features, s_idx, t_idx), labels, prep.prior)
    oth = evaluate(other.predict_at(other_feats, s_idx, t_idx), labels, prep.prior)
    notes = []
    if other.label_config != candidate.label_config:
        notes.append("the active model was trained for other labels; scored on the new model's labels")
    trained_to = other.meta.get("data_range", {}).get("split", {}).get("val", {}).get("end_ms")
    times = np.asarray(market.times)
    if trained_to is not None and span.start < len(times) and int(trained_to) >= int(times[span.start]):
        notes.append("the active model saw part of this window while it was trained or validated")
    return {"candidate": cand, "active": oth, "notes": notes}


@dataclass
class TrainOutcome:
    version: VersionInfo | None  # None until saved
    bundle: ModelBundle
    prepared: Prepared
    metrics: dict[str, Any]
    candidates: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


def fit_version(
    market: MarketArrays,
    train_config: TrainConfig | None = None,
    feature_config: FeatureConfig | None = None,
    label_config: LabelConfig | None = None,
    progress: Progress | None = None,
    indicator: IndicatorFn | None = None,
) -> TrainOutcome:
    """Prepare, train every candidate kind, score validation and test; nothing is saved yet."""
    tcfg = train_config or TrainConfig()
    fcfg = feature_config or FeatureConfig()
    lcfg = label_config or LabelConfig()
    prep = prepare(market, fcfg, lcfg, tcfg.window, indicator=indicator)
    data = Samples(prep.features, prep.labels, prep.samples(prep.split.train), prep.samples(prep.split.val))
    best, fits = fit_best(data, tcfg, progress)
    bundle = ModelBundle(best.model, fcfg, lcfg, prep.normalizer)
    metrics = {
        "selection": "lowest validation log loss",
        "kind": best.kind,
        "val": score(bundle, prep, prep.split.val),
        "test": score(bundle, prep, prep.split.test),
        "train_samples": len(data.train[0]),
    }
    candidates = [{"kind": f.kind, "val_log_loss": f.val_log_loss, "epochs": f.epochs_run} for f in fits]
    times = np.asarray(market.times)
    meta = {
        "kind": best.kind,
        "data_range": {
            "symbols": list(market.symbols),
            "n_symbols": len(market.symbols),
            "n_candles": len(times),
            "split": describe(prep.split, times),
        },
        "metrics": metrics,
        "candidates": candidates,
        "train": tcfg.to_dict(),
        "code": code_version(),
    }
    return TrainOutcome(None, bundle, prep, metrics, candidates, meta)


def save_version(registry: ModelRegistry, outcome: TrainOutcome, **extra_meta: Any) -> VersionInfo:
    """Register the outcome as a new, inactive version (extra metadata such as a backtest included)."""
    outcome.meta.update(extra_meta)
    outcome.version = registry.save(outcome.bundle, outcome.meta)
    return outcome.version


def train_version(
    market: MarketArrays,
    registry: ModelRegistry,
    train_config: TrainConfig | None = None,
    feature_config: FeatureConfig | None = None,
    label_config: LabelConfig | None = None,
    progress: Progress | None = None,
    indicator: IndicatorFn | None = None,
) -> TrainOutcome:
    """fit_version, then save_version: a new inactive version in the registry."""
    outcome = fit_version(market, train_config, feature_config, label_config, progress, indicator)
    save_version(registry, outcome)
    return outcome
