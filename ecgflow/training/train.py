"""The training recipe: AdamW, ReduceLROnPlateau(mode="max") on the monitored validation metric, early
stopping, class-balanced losses, best checkpoint kept.

Monitored metric: validation macro AUROC (``superclass``; ``rhythm``: the AUROC of AF beats), validation macro F1 over N, S, V, F
(``beats``; only the classes with at least ``min_val_beats`` validation beats count, so that a class
with a handful of validation beats does not decide the checkpoint).
Loss weights (from the training split): ``pos_weight = sqrt(N_neg / N_pos)`` per class for the
multi-label BCE (1 where a class has no positive); for the beat cross-entropy, weights proportional to
``1 / sqrt(count)`` scaled to a count-weighted mean of 1 (0 for empty classes), unless the batches are
class-balanced (``balance > 0``): then each epoch draws ``samples_per_epoch`` training beats with
replacement, a beat of class c with weight ``max(n_c, 0.002 n) ** -balance`` (``balance: 1`` gives each
class the same share, the floor keeps a class of a few beats from being drawn thousands of times), and
the loss is unweighted. ``augment`` (beats): random per-lead gain (0.8-1.2), Gaussian noise (0.03),
a shift of up to 3 samples and a 3 % jitter of the features, drawn from the seeded generator.
Beats with RR features: the network also gets ``features`` (rows x k), standardised by the model with
training-split statistics (stored in the checkpoint, whose ``features`` entry names the columns).
Device ``auto`` picks CUDA when available (bf16 autocast, pinned host memory, non-blocking copies),
else the CPU, where runs are deterministic: same seed, data and thread count -> same weights and history
(except the wall-clock ``seconds`` column).
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler, WeightedRandomSampler

from ..errors import ConfigError
from ..logs import progress
from ..parquet import atomic_path
from ..beats import AAMI_CLASSES, AAMI_MACRO
from .datasets import SUPERCLASSES
from .evaluate import macro_auroc, macro_f1
from .models import build_model

TASKS = {
    "superclass": {"classes": SUPERCLASSES, "multilabel": True, "monitor": "macro_auroc"},
    "beats": {"classes": AAMI_CLASSES, "multilabel": False, "monitor": "macro_f1"},
    "rhythm": {"classes": ("AF",), "multilabel": True, "monitor": "macro_auroc"},  # ecgflow.training.rhythm
}
DEVICES = ("auto", "cpu", "cuda")
BALANCE_FLOOR = 0.002  # share of the training beats below which a class is not up-weighted further


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one task (the keys of ``config["train"][task]`` that training reads)."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    dropout: float = 0.3
    patience: int = 5
    lr_patience: int = 3
    lr_factor: float = 0.5
    samples_per_epoch: int = 0
    balance: float = 0.0
    augment: bool = False
    min_val_beats: int = 1

    @classmethod
    def from_mapping(cls, values: dict, key: str = "train") -> "TrainConfig":
        """Pick and check the recipe keys of ``values`` (other keys are ignored)."""
        picked = {f.name: values[f.name] for f in fields(cls) if f.name in values}
        cfg = cls(**picked)
        positive_ints = ("epochs", "batch_size", "patience")
        for name in positive_ints:
            value = getattr(cfg, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{key}.{name}", f"must be a positive integer, got {value!r}")
        for name in ("lr_patience", "samples_per_epoch", "min_val_beats"):
            value = getattr(cfg, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{key}.{name}", f"must be a non-negative integer, got {value!r}")
        if not isinstance(cfg.augment, bool):
            raise ConfigError(f"{key}.augment", f"must be true or false, got {cfg.augment!r}")
        for name in ("lr", "weight_decay", "dropout", "lr_factor", "balance"):
            value = getattr(cfg, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{key}.{name}", f"must be a number, got {value!r}")
        if not cfg.lr > 0:
            raise ConfigError(f"{key}.lr", f"must be positive, got {cfg.lr!r}")
        if not cfg.weight_decay >= 0:
            raise ConfigError(f"{key}.weight_decay", f"must be >= 0, got {cfg.weight_decay!r}")
        if not 0 <= cfg.dropout < 1:
            raise ConfigError(f"{key}.dropout", f"must lie in [0, 1), got {cfg.dropout!r}")
        if not 0 <= cfg.balance <= 1:
            raise ConfigError(f"{key}.balance", f"must lie in [0, 1], got {cfg.balance!r}")
        if not 0 < cfg.lr_factor < 1:
            raise ConfigError(f"{key}.lr_factor", f"must lie in (0, 1), got {cfg.lr_factor!r}")
        return cfg


@dataclass
class TrainResult:
    """The best model (weights loaded, on ``device``), the per-epoch history and where training ran."""

    model: nn.Module
    history: pd.DataFrame
    best_epoch: int
    device: torch.device


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is a configuration error."""
    if name not in DEVICES:
        raise ConfigError("train.device", f"must be one of {DEVICES}, got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device", "cuda requested but no CUDA device is available")
    return torch.device("cuda" if name != "cpu" and torch.cuda.is_available() else "cpu")


def targets(task: str, index: pd.DataFrame) -> np.ndarray:
    """Training targets of ``index`` rows: multi-hot float32 (superclass) or class ids int64 (beats)."""
    if TASKS[task]["multilabel"]:
        return index[list(TASKS[task]["classes"])].to_numpy(np.float32)
    return index["label"].to_numpy(np.int64)


class ArrayBatches(Dataset):
    """Batches of rows of (memory-mapped) arrays: indexed by a list of positions, read in sorted order.

    An item is ``(inputs, y)``: ``inputs`` holds the ``X`` rows, and the ``features`` rows when given."""

    def __init__(self, X: np.ndarray, rows: np.ndarray, y: np.ndarray, features: np.ndarray | None = None):
        self.X, self.rows, self.y, self.features = X, np.asarray(rows, dtype=np.int64), y, features

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, positions) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        positions = np.sort(np.asarray(positions, dtype=np.int64))
        rows = self.rows[positions]
        arrays = (self.X,) if self.features is None else (self.X, self.features)
        inputs = tuple(torch.from_numpy(np.ascontiguousarray(a[rows], dtype=np.float32)) for a in arrays)
        return inputs, torch.from_numpy(np.ascontiguousarray(self.y[positions]))


def make_loader(data: ArrayBatches, batch_size: int, device: torch.device, generator: torch.Generator | None = None,
                weights: np.ndarray | None = None, num_samples: int = 0) -> DataLoader:
    """Shuffled batches when ``generator`` is given (seeded), in order otherwise; with ``weights`` (one per
    item), ``num_samples`` items drawn with replacement in proportion to them; pinned memory on CUDA."""
    if weights is not None:
        sampler = WeightedRandomSampler(torch.from_numpy(np.asarray(weights, dtype=np.float64)), num_samples,
                                        replacement=True, generator=generator)
    elif generator is not None:
        sampler = RandomSampler(data, generator=generator)
    else:
        sampler = SequentialSampler(data)
    return DataLoader(data, batch_size=None, sampler=BatchSampler(sampler, batch_size, drop_last=False),
                      pin_memory=device.type == "cuda")


def pos_weight(y: np.ndarray) -> np.ndarray:
    """``sqrt(N_neg / N_pos)`` per column of a multi-hot matrix; 1 where a class has no positive."""
    n_pos = y.sum(0).astype(np.float64)
    n_neg = len(y) - n_pos
    return np.where(n_pos > 0, np.sqrt(n_neg / np.maximum(n_pos, 1)), 1.0).astype(np.float32)


def class_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Inverse square-root frequency weights, count-weighted mean 1, 0 for classes absent from ``labels``."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    w = np.where(counts > 0, 1 / np.sqrt(np.maximum(counts, 1)), 0.0)
    return (w * counts.sum() / (w * counts).sum()).astype(np.float32)


def balanced_weights(labels: np.ndarray, n_classes: int, balance: float) -> np.ndarray:
    """Per-item sampling weights ``max(n_c, BALANCE_FLOOR * n) ** -balance`` of each item's class c."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    per_class = np.maximum(counts, BALANCE_FLOOR * len(labels)) ** -float(balance)
    return per_class[labels]


def augment_beats(x: torch.Tensor, features: torch.Tensor | None, generator: torch.Generator):
    """Random per-lead gain (0.8-1.2), Gaussian noise (sd 0.03), one shift of -3..3 samples for the
    batch and a multiplicative jitter of 0.97-1.03 of every feature."""
    gain = torch.empty(x.shape[0], x.shape[1], 1).uniform_(0.8, 1.2, generator=generator)
    x = x * gain + 0.03 * torch.randn(x.shape, generator=generator)
    x = torch.roll(x, int(torch.randint(-3, 4, (1,), generator=generator)), dims=2)
    if features is not None:
        features = features * torch.empty(features.shape).uniform_(0.97, 1.03, generator=generator)
    return x, features


def channel_stats(X: np.ndarray, rows: np.ndarray, chunk: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation over ``X[rows]`` (float64 accumulation, chunked)."""
    total = np.zeros(X.shape[1]), np.zeros(X.shape[1])
    for start in range(0, len(rows), chunk):
        block = np.asarray(X[np.sort(rows[start:start + chunk])], dtype=np.float64)
        total[0][:] += block.sum(axis=(0, 2))
        total[1][:] += (block ** 2).sum(axis=(0, 2))
    n = len(rows) * X.shape[2]
    mean = total[0] / n
    return mean, np.sqrt(np.maximum(total[1] / n - mean ** 2, 0.0))


def feature_stats(features: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard deviation of ``features[rows]`` (float64)."""
    block = np.asarray(features[np.sort(rows)], dtype=np.float64)
    return block.mean(axis=0), block.std(axis=0)


def _logits(output) -> torch.Tensor:
    return output[0] if isinstance(output, tuple) else output


def autocast_for(device: torch.device):
    """bf16 autocast on CUDA; nothing (float32) on the CPU."""
    if device.type == "cuda":
        return torch.amp.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def deterministic(enabled: bool):
    """``torch.use_deterministic_algorithms(enabled)`` for the duration, then the previous setting."""
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(enabled)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous)


@torch.no_grad()
def predict(model: nn.Module, X: np.ndarray, rows, batch_size: int, device: torch.device,
            attention: bool = False, features: np.ndarray | None = None):
    """Logits (float32, rows x classes) of ``X[rows]`` (with ``features[rows]`` when given) in ``rows``
    order; with ``attention=True`` also the attention weights of models that return them."""
    model.eval()
    rows = np.asarray(rows, dtype=np.int64)
    order = np.argsort(rows, kind="stable")
    data = ArrayBatches(X, rows[order], np.zeros(len(rows), dtype=np.float32), features)
    logits, weights = [], []
    for inputs, _ in make_loader(data, batch_size, device):
        with autocast_for(device):
            output = model(*(t.to(device, non_blocking=True) for t in inputs))
        logits.append(_logits(output).float().cpu())
        if attention:
            weights.append(output[1].float().cpu())
    restore = np.argsort(order, kind="stable")
    out = torch.cat(logits).numpy()[restore] if logits else np.zeros((0, 0), dtype=np.float32)
    if attention:
        return out, torch.cat(weights).numpy()[restore]
    return out


def probabilities(task: str, logits: np.ndarray) -> np.ndarray:
    """Sigmoid (multi-label) or softmax (single-label) of ``logits``."""
    t = torch.from_numpy(logits).double()
    return (torch.sigmoid(t) if TASKS[task]["multilabel"] else torch.softmax(t, dim=1)).numpy()


def monitored_classes(labels: np.ndarray, min_beats: int) -> list[int]:
    """The N, S, V, F class ids with at least ``min_beats`` (and at least one) beats in ``labels``."""
    counts = np.bincount(labels, minlength=len(AAMI_CLASSES))
    return [AAMI_CLASSES.index(c) for c in AAMI_MACRO if counts[AAMI_CLASSES.index(c)] >= max(min_beats, 1)]


def monitored_metric(task: str, y: np.ndarray, logits: np.ndarray, min_val_beats: int = 1) -> float:
    """Validation macro AUROC (superclass) or macro F1 over :func:`monitored_classes` (beats)."""
    if TASKS[task]["multilabel"]:
        return macro_auroc(y, probabilities(task, logits))
    return macro_f1(y, logits.argmax(1), monitored_classes(y, min_val_beats))


def fit(task: str, X: np.ndarray, index: pd.DataFrame, cfg: TrainConfig, seed: int = 0, device: str = "auto",
        threads: int = 2, log=None, features: np.ndarray | None = None) -> TrainResult:
    """Train the network of ``task`` on the ``train`` rows of ``index``, monitoring the ``val`` rows;
    ``features`` (beats only): per-row features fed to the network beside ``X``."""
    if task not in TASKS:
        raise ConfigError("task", f"must be one of {sorted(TASKS)}, got {task!r}")
    if features is not None and task != "beats":
        raise ValueError(f"task {task!r} takes no features")
    for split in ("train", "val"):
        if not (index["split"] == split).any():
            raise ValueError(f"the dataset has no '{split}' rows")
    torch.set_num_threads(int(threads))
    dev = resolve_device(device)
    train_rows = index.loc[index["split"] == "train", "row"].to_numpy(np.int64)
    val_rows = index.loc[index["split"] == "val", "row"].to_numpy(np.int64)
    y_all = targets(task, index)
    y_train, y_val = y_all[index["split"].to_numpy() == "train"], y_all[index["split"].to_numpy() == "val"]
    n_classes = len(TASKS[task]["classes"])
    with deterministic(dev.type == "cpu"):
        torch.manual_seed(seed)
        extra = {"in_channels": X.shape[1]}
        if features is not None:
            extra["n_features"] = features.shape[1]
        model = build_model(task, n_classes=n_classes, dropout=cfg.dropout, **extra)
        if task == "superclass":
            model.norm.fit(*channel_stats(X, train_rows))
        if features is not None:
            model.feature_norm.fit(*feature_stats(features, train_rows))
        model.to(dev)
        if TASKS[task]["multilabel"]:
            weight = torch.from_numpy(pos_weight(y_train))
            make_loss = lambda w: nn.BCEWithLogitsLoss(pos_weight=w)  # noqa: E731
        else:
            weight = class_weights(y_train, n_classes) if cfg.balance == 0 else np.ones(n_classes, np.float32)
            weight = torch.from_numpy(weight)
            make_loss = lambda w: nn.CrossEntropyLoss(weight=w)  # noqa: E731
        criterion, val_criterion = make_loss(weight.to(dev)), make_loss(weight)
        optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=cfg.lr_factor,
                                                               patience=cfg.lr_patience)
        generator = torch.Generator().manual_seed(seed)
        balanced = task == "beats" and cfg.balance > 0
        loader = make_loader(ArrayBatches(X, train_rows, y_train, features), cfg.batch_size, dev, generator,
                             weights=balanced_weights(y_train, n_classes, cfg.balance) if balanced else None,
                             num_samples=cfg.samples_per_epoch or len(train_rows))
        augment = cfg.augment and task == "beats"
        best_score, best_state, best_epoch, history = -math.inf, None, 0, []
        for epoch in progress(range(1, cfg.epochs + 1), f"{task} epochs"):
            start = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            model.train()
            total, seen = torch.zeros((), device=dev), 0
            for inputs, yb in loader:
                if augment:
                    x, f = augment_beats(inputs[0], inputs[1] if len(inputs) > 1 else None, generator)
                    inputs = [x] if f is None else [x, f]
                inputs = [t.to(dev, non_blocking=True) for t in inputs]
                yb = yb.to(dev, non_blocking=True)
                optimizer.zero_grad(set_to_none=True)
                with autocast_for(dev):
                    logits = _logits(model(*inputs))
                loss = criterion(logits.float(), yb)
                loss.backward()
                optimizer.step()
                total += loss.detach() * len(yb)
                seen += len(yb)
            val_logits = predict(model, X, val_rows, cfg.batch_size, dev, features=features)
            val_loss = float(val_criterion(torch.from_numpy(val_logits), torch.from_numpy(y_val)))
            metric = monitored_metric(task, y_val, val_logits, cfg.min_val_beats)
            score = metric if math.isfinite(metric) else -math.inf
            scheduler.step(score)
            improved = best_state is None or score > best_score
            if improved:
                best_score, best_epoch = score, epoch
                best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            history.append({"epoch": epoch, "train_loss": float(total) / seen, "val_loss": val_loss,
                            "val_metric": metric, "lr": lr, "best": improved,
                            "seconds": time.perf_counter() - start})
            if log is not None:
                log(f"epoch {epoch}: train_loss {history[-1]['train_loss']:.4f} val_loss {val_loss:.4f} "
                    f"val_{TASKS[task]['monitor']} {metric:.4f} lr {lr:g} ({history[-1]['seconds']:.1f} s)")
            if epoch - best_epoch >= cfg.patience:
                break
        model.load_state_dict(best_state)
    table = pd.DataFrame(history).astype({"epoch": "int64", "train_loss": "float64", "val_loss": "float64",
                                          "val_metric": "float64", "lr": "float64", "best": "bool",
                                          "seconds": "float64"})
    table.insert(4, "monitor", TASKS[task]["monitor"])
    return TrainResult(model=model, history=table, best_epoch=best_epoch, device=dev)


def save_checkpoint(model: nn.Module, path, task: str, cfg: TrainConfig, extra: dict | None = None) -> Path:
    """``torch.save`` of the weights (on CPU) with what rebuilds the model, written atomically."""
    path = Path(path)
    state = {"task": task, "classes": list(TASKS[task]["classes"]), "config": asdict(cfg),
             "in_channels": model.in_channels,
             "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}, **(extra or {})}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return path


def load_checkpoint(path, device: str = "cpu") -> tuple[nn.Module, dict]:
    """The model saved by :func:`save_checkpoint` (eval mode) and the checkpoint dictionary (its
    ``features`` entry, when present, names the feature columns the model takes)."""
    state = torch.load(path, map_location=device, weights_only=True)
    extra = {"in_channels": state["in_channels"]}
    if state.get("features"):
        extra["n_features"] = len(state["features"])
    model = build_model(state["task"], n_classes=len(state["classes"]), dropout=state["config"]["dropout"], **extra)
    model.load_state_dict(state["state_dict"])
    return model.to(device).eval(), state
