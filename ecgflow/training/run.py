"""One training job end to end: dataset -> trained model -> tables and figures under one folder.

Writes ``model.pt``, the tables of :data:`~ecgflow.training.targets.TABLES` (``{name}.parquet``) and
``figures/{name}.png`` for the names in :data:`~ecgflow.training.targets.FIGURES`.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..parquet import write_parquet
from . import figures
from .datasets import load_dataset, load_rr
from .evaluate import confusion_matrix, report_tables
from .targets import TABLES
from .train import TASKS, TrainConfig, fit, predict, probabilities, save_checkpoint

ATTENTION_RECORDS = 4


def run_training(task: str, dataset_dir, out_dir, params: dict, seed: int = 0, device: str = "auto",
                 threads: int = 2, dataset: str = "", log=None) -> dict:
    """Train ``task`` on the dataset in ``dataset_dir`` and write every output into ``out_dir``.

    ``params``: the task's section of ``config["train"]``. Returns the tables by name.
    """
    cfg = TrainConfig.from_mapping(params, f"train.{task}")
    X, index, meta = load_dataset(dataset_dir)
    rr = load_rr(dataset_dir, meta)
    feature_names = list(meta["rr_features"]) if rr is not None else []
    for split in ("train", "val", "test"):
        if not (index["split"] == split).any():
            raise InputError(Path(dataset_dir) / "index.parquet", f"no '{split}' rows")
    result = fit(task, X, index, cfg, seed=seed, device=device, threads=threads, log=log, features=rr)
    classes = TASKS[task]["classes"]
    probs = {}
    attention = None
    for split in ("val", "test"):
        rows = index.loc[index["split"] == split, "row"].to_numpy()
        if task == "superclass" and split == "test":
            logits, attention = predict(result.model, X, rows, cfg.batch_size, result.device, attention=True)
        else:
            logits = predict(result.model, X, rows, cfg.batch_size, result.device, features=rr)
        probs[split] = probabilities(task, logits)
    tables = {"history": result.history, **report_tables(task, classes, index, probs["val"], probs["test"])}
    out_dir = Path(out_dir)
    metadata = {"task": task, "dataset": dataset, "seed": int(seed), "classes": list(classes),
                "monitor": TASKS[task]["monitor"], "best_epoch": int(result.best_epoch),
                "config": asdict(cfg), "features": feature_names}
    for name in TABLES:
        write_parquet(tables[name], out_dir / f"{name}.parquet", metadata)
    save_checkpoint(result.model, out_dir / "model.pt", task, cfg,
                    {"dataset": dataset, "seed": int(seed), "best_epoch": int(result.best_epoch),
                     "features": feature_names})
    write_figures(task, out_dir / "figures", tables, X, index, attention)
    return tables


def write_figures(task: str, fig_dir, tables: dict, X, index, attention) -> None:
    """The figures of :data:`~ecgflow.training.targets.FIGURES` from the tables (and, for superclass, test attention weights)."""
    fig_dir = Path(fig_dir)
    classes = list(TASKS[task]["classes"])
    predictions = tables["predictions"]
    figures.plot_history(tables["history"], fig_dir / "curves.png")
    if task == "superclass":
        y = predictions[[f"{c}_true" for c in classes]].to_numpy()
        p = predictions[[f"{c}_prob" for c in classes]].to_numpy()
        figures.plot_roc(y, p, classes, fig_dir / "roc.png")
        decided = predictions[[f"{c}_pred" for c in classes]].to_numpy()
        figures.plot_binary_confusions(y, decided, classes, fig_dir / "confusion.png")
        picks = np.arange(min(ATTENTION_RECORDS, len(predictions)))
        rows = predictions["row"].to_numpy()[picks]
        titles = [f"ecg_id {e}: " + (", ".join(c for c in classes if predictions.loc[i, f"{c}_true"]) or "-")
                  for i, e in zip(picks, predictions["ecg_id"].to_numpy()[picks])]
        figures.plot_attention(np.asarray(X[rows]), attention[picks], titles, fig_dir / "attention.png")
    else:
        labels = np.array([classes.index(c) for c in predictions["true"]], dtype=np.int64)
        p = predictions[[f"p_{c}" for c in classes]].to_numpy()
        figures.plot_roc(np.eye(len(classes), dtype=np.int64)[labels], p, classes, fig_dir / "roc.png",
                         title="test ROC (one-vs-rest)")
        figures.plot_confusion(confusion_matrix(labels, p.argmax(1), len(classes)), classes,
                               fig_dir / "confusion.png")
