"""Training figures (PNG), drawn from a training job's saved tables: curves, ROC curves, confusion
matrices, attention over test records. Nothing here trains or imports the training code."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402

from ..parquet import read_metadata, save_png  # noqa: E402
from .datasets import load_dataset  # noqa: E402
from .targets import TABLES  # noqa: E402

DPI = 110


def _save(fig, path):
    """Write ``fig`` to ``path`` and close it; with ``path=None`` return the open figure (for tests)."""
    if path is None:
        return fig
    save_png(fig, path, DPI)
    plt.close(fig)
    return Path(path)


def _limits(values, min_span: float) -> tuple[float, float]:
    """y limits around ``values`` spanning at least ``min_span`` (small changes stay small)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return 0.0, 1.0
    lo, hi = float(values.min()), float(values.max())
    pad = max((min_span - (hi - lo)) / 2, 0.08 * (hi - lo))
    return lo - pad, hi + pad


def plot_history(history: pd.DataFrame, path) -> Path:
    """Train/validation loss and the monitored validation metric per epoch, the kept checkpoint's epoch
    marked (dotted line, star); a learning-rate panel only when the rate changed. y limits span at least
    0.1 of the metric and 20 % of the loss, so that a tiny change does not look like a cliff."""
    lr_changed = history["lr"].nunique() > 1
    fig, axes = plt.subplots(1, 3 if lr_changed else 2, figsize=(13 if lr_changed else 9, 3.4), layout="constrained")
    ax_loss, ax_metric = axes[0], axes[1]
    epochs = history["epoch"]
    ax_loss.plot(epochs, history["train_loss"], "o-", label="train")
    ax_loss.plot(epochs, history["val_loss"], "s--", label="validation")
    losses = np.r_[history["train_loss"].to_numpy(), history["val_loss"].to_numpy()]
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss",
                ylim=_limits(losses, 0.2 * float(np.nanmax(np.abs(losses))) if len(losses) else 1.0))
    monitor = history["monitor"].iloc[0] if len(history) else "metric"
    ax_metric.plot(epochs, history["val_metric"], "o-", color="C2", label=f"validation {monitor}")
    ax_metric.set(xlabel="epoch", ylabel=f"validation {monitor}", title=f"validation {monitor}",
                  ylim=_limits(history["val_metric"], 0.1))
    best = history[history["best"]]
    if len(best):
        kept = best.iloc[-1]
        for ax in axes:
            ax.axvline(kept["epoch"], color="C3", linestyle=":", linewidth=1)
        ax_metric.plot([kept["epoch"]], [kept["val_metric"]], "*", color="C3", markersize=12,
                       label=f"kept checkpoint (epoch {int(kept['epoch'])})")
    ax_loss.legend()
    ax_metric.legend(loc="lower right")
    if lr_changed:
        axes[2].step(epochs, history["lr"], where="post", color="0.3")
        axes[2].set(xlabel="epoch", ylabel="learning rate", title="learning rate", yscale="log")
    for ax in axes:
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    return _save(fig, path)


ROC_STYLES = (("C0", "-"), ("C1", "--"), ("C2", "-."), ("C3", ":"), ("C4", (0, (5, 1, 1, 1))))


def plot_roc(y_onehot: np.ndarray, probs: np.ndarray, classes, path, title: str = "test ROC") -> Path:
    """One ROC curve per class (one-vs-rest) with its AUROC in the legend, each in its own colour and line
    style so that no curve hides another; classes with a single label value are left out."""
    fig, ax = plt.subplots(figsize=(4.8, 4.4), layout="constrained")
    for k, name in enumerate(classes):
        y = y_onehot[:, k]
        if 0 < y.sum() < len(y):
            fpr, tpr, _ = roc_curve(y, probs[:, k])
            colour, style = ROC_STYLES[k % len(ROC_STYLES)]
            ax.plot(fpr, tpr, color=colour, linestyle=style, linewidth=1.6,
                    label=f"{name} (AUROC {roc_auc_score(y, probs[:, k]):.3f})")
    ax.plot([0, 1], [0, 1], color="0.7", linestyle=":", linewidth=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=title, xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def _matrix(ax, m: np.ndarray, xlabels, ylabels, title: str) -> None:
    rates = m / np.maximum(m.sum(1, keepdims=True), 1)
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for (i, j), count in np.ndenumerate(m):
        ax.text(j, i, str(count), ha="center", va="center", color="white" if rates[i, j] > 0.5 else "black",
                fontsize=8)
    ax.set(xticks=range(len(xlabels)), yticks=range(len(ylabels)), xticklabels=xlabels, yticklabels=ylabels,
           xlabel="predicted", ylabel="true", title=title)


def _percent(value) -> str:
    return "n/a" if not np.isfinite(value) else f"{100 * value:.1f}%"


def plot_confusion(confusion: pd.DataFrame, metrics: pd.DataFrame, path,
                   title: str = "test confusion (colour: share of the true class)") -> Path:
    """The single-label confusion table (``true`` + one count column per class) with counts, each true
    class labelled with its sensitivity (Se) and each predicted class with its positive predictivity
    (+P) from ``metrics``."""
    classes = confusion["true"].tolist()
    per_class = metrics.set_index("class")
    m = confusion[classes].to_numpy(np.int64)
    ylabels = [f"{c}  Se {_percent(per_class.loc[c, 'recall'])}" if m[i].sum() else f"{c}  (none)"
               for i, c in enumerate(classes)]
    xlabels = [f"{c}\n+P {_percent(per_class.loc[c, 'precision'])}" if m[:, j].sum() else f"{c}\n(none)"
               for j, c in enumerate(classes)]
    fig, ax = plt.subplots(figsize=(6.4, 4.8), layout="constrained")
    _matrix(ax, m, xlabels, ylabels, title)
    ax.tick_params(axis="x", labelsize=8)
    return _save(fig, path)


def plot_binary_confusions(confusion: pd.DataFrame, path) -> Path:
    """One 2x2 confusion matrix per class of a multi-label problem (table ``class, tn, fp, fn, tp``)."""
    fig, axes = plt.subplots(1, len(confusion), figsize=(2.5 * len(confusion), 2.8), layout="constrained")
    for ax, row in zip(np.atleast_1d(axes), confusion.itertuples(index=False)):
        m = np.array([[row.tn, row.fp], [row.fn, row.tp]], dtype=np.int64)
        _matrix(ax, m, ["0", "1"], ["0", "1"], row[0])
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


def write_figures(task: str, run_dir, fig_dir, dataset_dir=None) -> list[Path]:
    """Draw the figures of :data:`~ecgflow.training.targets.FIGURES` from the tables saved in ``run_dir``
    (superclass attention also reads the test signals from ``dataset_dir``)."""
    run_dir, fig_dir = Path(run_dir), Path(fig_dir)
    tables = {name: pd.read_parquet(run_dir / f"{name}.parquet") for name in TABLES[task]}
    classes = list(read_metadata(run_dir / "metrics.parquet")["classes"])
    predictions, metrics = tables["predictions"], tables["metrics"]
    paths = [plot_history(tables["history"], fig_dir / "curves.png")]
    if task == "superclass":
        y = predictions[[f"{c}_true" for c in classes]].to_numpy()
        p = predictions[[f"{c}_prob" for c in classes]].to_numpy()
        paths.append(plot_roc(y, p, classes, fig_dir / "roc.png"))
        paths.append(plot_binary_confusions(tables["confusion"], fig_dir / "confusion.png"))
        attention = tables["attention"]
        rows = attention["row"].unique()
        X, _, _ = load_dataset(dataset_dir)
        titles = []
        for row in rows:
            ecg_id = int(attention.loc[attention["row"] == row, "ecg_id"].iloc[0])
            present = predictions.loc[predictions["row"] == row, [f"{c}_true" for c in classes]].to_numpy()[0]
            titles.append(f"ecg_id {ecg_id}: " + (", ".join(c for c, v in zip(classes, present) if v) or "-"))
        weights = np.stack([attention.loc[attention["row"] == row, "weight"].to_numpy() for row in rows]) \
            if len(rows) else np.zeros((0, 0))
        paths.append(plot_attention(np.asarray(X[rows]), weights,
                                            titles, fig_dir / "attention.png"))
    else:
        labels = np.array([classes.index(c) for c in predictions["true"]], dtype=np.int64)
        p = predictions[[f"p_{c}" for c in classes]].to_numpy()
        paths.append(plot_roc(np.eye(len(classes), dtype=np.int64)[labels], p, classes, fig_dir / "roc.png",
                                      title="test ROC (one-vs-rest)"))
        paths.append(plot_confusion(tables["confusion"], metrics, fig_dir / "confusion.png"))
    return paths
