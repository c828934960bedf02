"""Training with early stopping on validation log loss; one model per candidate kind, best kept."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ml.bundle import ModelBundle
from ml.device import deterministic, pick_device
from ml.features import FeatureConfig
from ml.labels import LabelConfig
from ml.model import KINDS, MarketNet, ModelConfig
from ml.normalize import Normalizer

Progress = Callable[[str, int, int, dict[str, float]], None]  # (kind, epoch, epochs, numbers); epoch 0: start


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 7
    kinds: tuple[str, ...] = ("mlp", "conv")
    window: int = 32
    hidden: int = 64
    channels: int = 16
    dropout: float = 0.1
    epochs: int = 30
    patience: int = 4
    batch_size: int = 512
    lr: float = 1e-3
    weight_decay: float = 1e-4
    threads: int | None = None
    device: str = "auto"
    max_train_samples: int | None = 200_000

    def __post_init__(self) -> None:
        bad = [k for k in self.kinds if k not in KINDS]
        if not self.kinds or bad:
            raise ValueError(
                f"model kind must be one of {', '.join(KINDS)}, not {', '.join(map(repr, bad)) or 'none'}"
            )
        for name in ("window", "epochs", "patience", "batch_size", "hidden", "channels"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kinds"] = list(self.kinds)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        data = dict(data)
        data["kinds"] = tuple(data["kinds"])
        return cls(**data)


@dataclass
class Samples:
    """Normalised features [symbols, time, features] and the (symbol, time) samples of each split."""

    features: np.ndarray
    labels: np.ndarray
    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]


@dataclass
class FitResult:
    kind: str
    model: MarketNet
    val_log_loss: float
    epochs_run: int
    history: list[dict[str, float]] = field(default_factory=list)


def _subsample(
    idx: tuple[np.ndarray, np.ndarray], limit: int | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    n = len(idx[0])
    if limit is None or n <= limit:
        return idx
    keep = np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))
    return idx[0][keep], idx[1][keep]


def _windows(table: torch.Tensor, s: torch.Tensor, t: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    return table[s[:, None], t[:, None] + offsets]


def _mean_loss(
    model: nn.Module,
    table: torch.Tensor,
    idx: tuple[torch.Tensor, torch.Tensor],
    y: torch.Tensor,
    offsets: torch.Tensor,
    batch: int = 2048,
) -> float:
    model.eval()
    total = 0.0
    with torch.inference_mode():
        for lo in range(0, len(y), batch):
            logits = model(_windows(table, idx[0][lo : lo + batch], idx[1][lo : lo + batch], offsets))
            total += float(nn.functional.cross_entropy(logits, y[lo : lo + batch], reduction="sum"))
    return total / max(1, len(y))


def fit_kind(kind: str, data: Samples, cfg: TrainConfig, progress: Progress | None = None) -> FitResult:
    """Train one kind to the best validation log loss (early stopping, best weights restored)."""
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    mcfg = ModelConfig(data.features.shape[-1], kind, cfg.window, cfg.hidden, cfg.channels, cfg.dropout)
    model = MarketNet(mcfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    table = torch.from_numpy(np.nan_to_num(data.features)).to(device)
    offsets = torch.arange(-cfg.window + 1, 1, device=device)
    tr_s, tr_t = (
        torch.from_numpy(a).to(device) for a in _subsample(data.train, cfg.max_train_samples, cfg.seed)
    )
    va_s, va_t = (torch.from_numpy(a).to(device) for a in data.val)
    y_tr = torch.from_numpy(data.labels[tr_s.cpu().numpy(), tr_t.cpu().numpy()].astype(np.int64)).to(device)
    y_va = torch.from_numpy(data.labels[va_s.cpu().numpy(), va_t.cpu().numpy()].astype(np.int64)).to(device)
    gen = torch.Generator().manual_seed(cfg.seed)

    best, best_state, since_best, history = math.inf, copy.deepcopy(model.state_dict()), 0, []
    if progress is not None:
        progress(kind, 0, cfg.epochs, {})  # the run starts: lets a progress bar appear before epoch 1
    epoch = 0
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        perm = torch.randperm(len(y_tr), generator=gen).to(device)
        running = 0.0
        for lo in range(0, len(perm), cfg.batch_size):
            b = perm[lo : lo + cfg.batch_size]
            loss = nn.functional.cross_entropy(model(_windows(table, tr_s[b], tr_t[b], offsets)), y_tr[b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            running += float(loss.detach()) * len(b)
        val_loss = _mean_loss(model, table, (va_s, va_t), y_va, offsets)
        numbers = {"epoch": epoch, "train_loss": running / max(1, len(perm)), "val_loss": val_loss}
        history.append(numbers)
        if progress is not None:
            progress(kind, epoch, cfg.epochs, numbers)
        if val_loss < best - 1e-6:
            best, best_state, since_best = val_loss, copy.deepcopy(model.state_dict()), 0
        else:
            since_best += 1
            if since_best >= cfg.patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    return FitResult(kind, model.cpu(), best, epoch, history)


def fit_best(
    data: Samples, cfg: TrainConfig, progress: Progress | None = None
) -> tuple[FitResult, list[FitResult]]:
    """Train every candidate kind under the same seed and keep the lowest validation log loss."""
    if len(data.train[0]) == 0 or len(data.val[0]) == 0:
        raise ValueError("no usable training or validation samples (too little history for the window)")
    results = []
    with deterministic(cfg.seed, cfg.threads):
        for kind in cfg.kinds:
            results.append(fit_kind(kind, data, cfg, progress))
    return min(results, key=lambda r: r.val_log_loss), results


def make_bundle(
    fit: FitResult, feature_config: FeatureConfig, label_config: LabelConfig, normalizer: Normalizer
) -> ModelBundle:
    return ModelBundle(fit.model, feature_config, label_config, normalizer)
