"""Training figures: curves, ROC curves, confusion matrices, attention over test records (PNG)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402

PNG_METADATA = {"Software": None}  # no version string: same data -> same bytes


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata=PNG_METADATA)
    plt.close(fig)
    return path


def plot_history(history: pd.DataFrame, path) -> Path:
    """Train/validation loss, the monitored validation metric and the learning rate per epoch."""
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
    ax_loss.plot(history["epoch"], history["train_loss"], "o-", label="train")
    ax_loss.plot(history["epoch"], history["val_loss"], "o-", label="validation")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_loss.legend()
    monitor = history["monitor"].iloc[0] if len(history) else "metric"
    ax_metric.plot(history["epoch"], history["val_metric"], "o-", color="C2")
    best = history[history["best"]]
    if len(best):
        last = best.iloc[-1]
        ax_metric.plot([last["epoch"]], [last["val_metric"]], "*", color="C3", markersize=12, label="kept")
        ax_metric.legend(loc="lower right")
    ax_metric.set(xlabel="epoch", ylabel=f"validation {monitor}", title=f"validation {monitor}")
    ax_lr = ax_metric.twinx()
    ax_lr.step(history["epoch"], history["lr"], where="post", color="0.5", linestyle="--")
    ax_lr.set_ylabel("learning rate", color="0.4")
    return _save(fig, path)


def plot_roc(y_onehot: np.ndarray, probs: np.ndarray, classes, path, title: str = "test ROC") -> Path:
    """One ROC curve per class (one-vs-rest); classes with a single label value are left out."""
    fig, ax = plt.subplots(figsize=(4.6, 4.2), layout="constrained")
    for k, name in enumerate(classes):
        y = y_onehot[:, k]
        if 0 < y.sum() < len(y):
            fpr, tpr, _ = roc_curve(y, probs[:, k])
            ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], color="0.7", linestyle=":")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=title, xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="lower right")
    return _save(fig, path)


def _matrix(ax, m: np.ndarray, labels, title: str) -> None:
    rates = m / np.maximum(m.sum(1, keepdims=True), 1)
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for (i, j), count in np.ndenumerate(m):
        ax.text(j, i, str(count), ha="center", va="center", color="white" if rates[i, j] > 0.5 else "black",
                fontsize=8)
    ax.set(xticks=range(len(labels)), yticks=range(len(labels)), xticklabels=labels, yticklabels=labels,
           xlabel="predicted", ylabel="true", title=title)


def plot_confusion(m: np.ndarray, classes, path, title: str = "test confusion (row-normalised colour)") -> Path:
    """A ``len(classes)`` square confusion matrix with counts."""
    fig, ax = plt.subplots(figsize=(4.4, 4), layout="constrained")
    _matrix(ax, m, list(classes), title)
    return _save(fig, path)


def plot_binary_confusions(y: np.ndarray, decided: np.ndarray, classes, path) -> Path:
    """One 2x2 confusion matrix per class of a multi-label problem (decisions at the tuned thresholds)."""
    fig, axes = plt.subplots(1, len(classes), figsize=(2.5 * len(classes), 2.8), layout="constrained")
    for ax, (k, name) in zip(np.atleast_1d(axes), enumerate(classes)):
        m = np.zeros((2, 2), dtype=np.int64)
        np.add.at(m, (y[:, k].astype(np.int64), decided[:, k].astype(np.int64)), 1)
        _matrix(ax, m, ["0", "1"], name)
    return _save(fig, path)


def plot_attention(signals: np.ndarray, weights: np.ndarray, titles, path, fs: float = 100.0,
                   lead: int = 1, lead_name: str = "II") -> Path:
    """One lead of each record with the model's attention weights (one per encoder step) below it."""
    n = len(signals)
    fig, axes = plt.subplots(n, 1, figsize=(9, 1.9 * n), layout="constrained", squeeze=False)
    for ax, signal, w, title in zip(axes[:, 0], signals, weights, titles):
        t = np.arange(signal.shape[-1]) / fs
        ax.plot(t, signal[lead], color="black", linewidth=0.8)
        ax.set(ylabel=f"{lead_name} (mV)", title=title)
        ax_w = ax.twinx()
        step = signal.shape[-1] / len(w)
        ax_w.fill_between((np.arange(len(w)) + 0.5) * step / fs, w, step="mid", color="C3", alpha=0.35)
        ax_w.set_ylim(0, max(float(np.max(w)) * 1.1, 1e-9))
        ax_w.set_ylabel("attention", color="C3")
    axes[-1, 0].set_xlabel("time (s)")
    return _save(fig, path)
