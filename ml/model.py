"""The torch model: an MLP over the latest features, optionally joined by a temporal branch (a small
dilated 1-D convolution or an LSTM) over the last `window` candles. Training picks the kind by
validation log loss."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

KINDS = ("mlp", "conv", "lstm")


@dataclass(frozen=True)
class ModelConfig:
    n_features: int
    kind: str = "conv"
    window: int = 32
    hidden: int = 64
    channels: int = 16
    dropout: float = 0.1
    n_classes: int = 3

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"model kind must be one of {', '.join(KINDS)}, not {self.kind!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        return cls(**data)


class TemporalConv(nn.Module):
    """Three causal dilated convolutions (receptive field 15 candles), read at the last step and pooled."""

    def __init__(self, n_features: int, channels: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = n_features
        for dilation in (1, 2, 4):
            layers += [
                nn.ConstantPad1d((2 * dilation, 0), 0.0),
                nn.Conv1d(c_in, channels, 3, dilation=dilation),
            ]
            layers.append(nn.ReLU())
            c_in = channels
        self.net = nn.Sequential(*layers)
        self.out_dim = 2 * channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [batch, window, features]
        h = self.net(x.transpose(1, 2))
        return torch.cat([h[:, :, -1], h.mean(dim=2)], dim=1)


class TemporalLSTM(nn.Module):
    def __init__(self, n_features: int, channels: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_features, channels, batch_first=True)
        self.out_dim = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.lstm(x)
        return h[-1]


class MarketNet(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        f, hdim = config.n_features, config.hidden
        self.mlp = nn.Sequential(
            nn.Linear(f, hdim), nn.ReLU(), nn.Dropout(config.dropout), nn.Linear(hdim, hdim), nn.ReLU()
        )
        self.temporal: nn.Module | None = None
        extra = 0
        if config.kind == "conv":
            conv = TemporalConv(f, config.channels)
            self.temporal, extra = conv, conv.out_dim
        elif config.kind == "lstm":
            lstm = TemporalLSTM(f, config.channels)
            self.temporal, extra = lstm, lstm.out_dim
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(hdim + extra, config.n_classes))

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        """Logits [batch, classes] from feature windows [batch, window, features]."""
        h = self.mlp(window[:, -1, :])
        if self.temporal is not None:
            h = torch.cat([h, self.temporal(window)], dim=1)
        return self.head(h)
