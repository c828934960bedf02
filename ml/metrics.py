"""Classification metrics, always beside the trivial baselines so a useless model looks useless."""

from __future__ import annotations

from typing import Any

import numpy as np

EPS = 1e-12


def log_loss(probs: np.ndarray, labels: np.ndarray) -> float:
    p = np.clip(probs[np.arange(len(labels)), labels], EPS, 1.0)
    return float(-np.mean(np.log(p)))


def confusion(pred: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Rows are true classes, columns predicted ones."""
    return np.bincount(labels * n_classes + pred, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes
    )


def macro_f1(pred: np.ndarray, labels: np.ndarray, n_classes: int) -> float:
    cm = confusion(pred, labels, n_classes).astype(np.float64)
    tp = np.diag(cm)
    precision = np.divide(tp, cm.sum(axis=0), out=np.zeros(n_classes), where=cm.sum(axis=0) > 0)
    recall = np.divide(tp, cm.sum(axis=1), out=np.zeros(n_classes), where=cm.sum(axis=1) > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(n_classes), where=denom > 0)
    return float(f1.mean())


def calibration(
    probs: np.ndarray, labels: np.ndarray, n_bins: int = 10
) -> tuple[float, list[dict[str, float]]]:
    """Expected calibration error of the top-class confidence, and the reliability bins behind it."""
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, n_bins - 1)
    ece = 0.0
    bins = []
    for b in range(n_bins):
        sel = which == b
        n = int(sel.sum())
        if n == 0:
            continue
        mean_conf, acc = float(conf[sel].mean()), float(correct[sel].mean())
        ece += n / len(labels) * abs(mean_conf - acc)
        bins.append(
            {
                "lo": float(edges[b]),
                "hi": float(edges[b + 1]),
                "n": n,
                "confidence": mean_conf,
                "accuracy": acc,
            }
        )
    return float(ece), bins


def evaluate(probs: np.ndarray, labels: np.ndarray, prior: np.ndarray) -> dict[str, Any]:
    """Metrics of class probabilities [n, classes] against labels, with the baselines from the
    training prior: always the majority class (accuracy, F1) and always the prior (log loss)."""
    n_classes = probs.shape[1]
    labels = labels.astype(np.int64)
    if len(labels) == 0:
        return {"n": 0}
    pred = probs.argmax(axis=1)
    majority = np.full_like(labels, int(np.argmax(prior)))
    prior_probs = np.broadcast_to(prior / prior.sum(), probs.shape)
    ece, bins = calibration(probs, labels)
    return {
        "n": len(labels),
        "accuracy": float((pred == labels).mean()),
        "macro_f1": macro_f1(pred, labels, n_classes),
        "log_loss": log_loss(probs, labels),
        "ece": ece,
        "baseline_accuracy": float((majority == labels).mean()),
        "baseline_macro_f1": macro_f1(majority, labels, n_classes),
        "baseline_log_loss": log_loss(np.asarray(prior_probs), labels),
        "class_share": (np.bincount(labels, minlength=n_classes) / len(labels)).tolist(),
        "confusion": confusion(pred, labels, n_classes).tolist(),
        "reliability": bins,
    }
