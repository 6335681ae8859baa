"""Classification networks: a TrustECG-style 12-lead CNN with attention pooling, and a beat CNN."""

from __future__ import annotations

import torch
from torch import nn


def conv_block(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    """Conv1d -> BatchNorm -> ReLU -> MaxPool(2): halves the length."""
    return nn.Sequential(nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2, bias=False), nn.BatchNorm1d(c_out),
                         nn.ReLU(inplace=True), nn.MaxPool1d(2))


class Standardise(nn.Module):
    """Per-channel ``(x - mean) / std`` with statistics stored in the checkpoint; inputs are
    ``(batch, channels, time)``, or ``(batch, channels)`` with ``time_axis=False``."""

    def __init__(self, channels: int, time_axis: bool = True):
        super().__init__()
        shape = (1, channels, 1) if time_axis else (1, channels)
        self.register_buffer("mean", torch.zeros(shape))
        self.register_buffer("std", torch.ones(shape))

    def fit(self, mean, std) -> None:
        """Set the statistics (e.g. from the training split); tiny standard deviations become 1."""
        mean = torch.as_tensor(mean, dtype=torch.float32).reshape(self.mean.shape)
        std = torch.as_tensor(std, dtype=torch.float32).reshape(self.std.shape)
        self.mean.copy_(mean)
        self.std.copy_(torch.where(std > 1e-6, std, torch.ones_like(std)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class AttentionPool(nn.Module):
    """Additive attention over time: ``w = softmax(v . tanh(W h_t))``, output ``sum_t w_t h_t``."""

    def __init__(self, channels: int, hidden: int = 64):
        super().__init__()
        self.score = nn.Sequential(nn.Linear(channels, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``h`` (batch, channels, time) -> pooled (batch, channels), weights (batch, time) summing to 1."""
        h = h.transpose(1, 2)
        weights = torch.softmax(self.score(h).squeeze(-1).float(), dim=1)
        return torch.bmm(weights.to(h.dtype).unsqueeze(1), h).squeeze(1), weights


class SuperclassNet(nn.Module):
    """12-lead CNN (channels 32, 64, 128), attention pooling, dropout, one logit per class.

    ``forward`` returns ``(logits, attention)``; attention has one weight per encoder step
    (input length / 8) and sums to 1 over time.
    """

    def __init__(self, in_channels: int = 12, n_classes: int = 5, channels=(32, 64, 128), kernel: int = 7,
                 dropout: float = 0.3):
        super().__init__()
        self.in_channels = int(in_channels)
        self.norm = Standardise(in_channels)
        widths = (in_channels, *channels)
        self.encoder = nn.Sequential(*(conv_block(a, b, kernel) for a, b in zip(widths[:-1], widths[1:])))
        self.pool = AttentionPool(channels[-1])
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(channels[-1], n_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled, attention = self.pool(self.encoder(self.norm(x)))
        return self.head(self.dropout(pooled)), attention


class BeatNet(nn.Module):
    """Beat-window CNN (``in_channels`` leads; channels 16, 32, 64), global average pooling, and a small
    MLP head (``hidden`` units, dropout) giving the class logits (softmax gives the class probabilities).

    With ``n_features > 0``, ``forward(x, features)`` also takes per-beat features (e.g. RR intervals,
    ``(batch, n_features)``), standardised with statistics stored in the checkpoint (``feature_norm``)
    and concatenated to the pooled CNN features before the head.
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 5, channels=(16, 32, 64), kernel: int = 5,
                 dropout: float = 0.3, n_features: int = 0, hidden: int = 64):
        super().__init__()
        self.in_channels = int(in_channels)
        widths = (in_channels, *channels)
        self.encoder = nn.Sequential(*(conv_block(a, b, kernel) for a, b in zip(widths[:-1], widths[1:])))
        self.n_features = int(n_features)
        self.feature_norm = Standardise(self.n_features, time_axis=False) if self.n_features else None
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(channels[-1] + self.n_features, hidden),
                                  nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, n_classes))

    def forward(self, x: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        if (features is None) != (self.feature_norm is None):
            raise ValueError(f"BeatNet built with n_features={self.n_features} got "
                             f"{'no' if features is None else 'extra'} features")
        pooled = self.encoder(x).mean(dim=2)
        if features is not None:
            pooled = torch.cat([pooled, self.feature_norm(features).to(pooled.dtype)], dim=1)
        return self.head(pooled)


class RhythmNet(nn.Module):
    """Per-beat rhythm CNN over a causal window of RR intervals (``in_channels`` x window): three
    convolutions of ``channels`` (the first two halve the length), the mean over the window and its
    last step's features, a small head, ``n_classes`` logits (one: AF)."""

    def __init__(self, in_channels: int = 2, n_classes: int = 1, channels: int = 16, kernel: int = 5,
                 dropout: float = 0.1, hidden: int = 32):
        super().__init__()
        self.in_channels = int(in_channels)
        self.encoder = nn.Sequential(conv_block(in_channels, channels, kernel), conv_block(channels, channels, kernel),
                                     nn.Conv1d(channels, channels, kernel, padding=kernel // 2),
                                     nn.BatchNorm1d(channels), nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * channels, hidden), nn.ReLU(inplace=True),
                                  nn.Linear(hidden, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(x)
        return self.head(torch.cat([h.mean(dim=2), h[:, :, -1]], dim=1))


MODELS = {"superclass": SuperclassNet, "beats": BeatNet, "rhythm": RhythmNet}


def build_model(task: str, **kwargs) -> nn.Module:
    """The network of ``task`` (``superclass``, ``beats`` or ``rhythm``)."""
    return MODELS[task](**kwargs)
