"""One training job end to end: dataset -> trained model and tables under one folder.

Writes ``model.pt`` and the tables of :data:`~ecgflow.training.targets.TABLES` (``{name}.parquet``);
the figures are drawn from those tables by :func:`ecgflow.training.figures.write_figures` (their own
rule, so that a change to a figure does not retrain).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..parquet import write_parquet
from .datasets import load_dataset, load_features
from .evaluate import report_tables
from .targets import TABLES
from .train import TASKS, TrainConfig, fit, predict, probabilities, save_checkpoint

ATTENTION_RECORDS = 4


def run_training(task: str, dataset_dir, out_dir, params: dict, seed: int = 0, device: str = "auto",
                 threads: int = 2, dataset: str = "", log=None) -> dict:
    """Train ``task`` on the dataset in ``dataset_dir`` and write the model and tables into ``out_dir``.

    ``params``: the task's section of ``config["train"]``. Returns the tables by name.
    """
    cfg = TrainConfig.from_mapping(params, f"train.{task}")
    X, index, meta = load_dataset(dataset_dir)
    features = load_features(dataset_dir, meta)
    feature_names = list(meta["features"]) if features is not None else []
    for split in ("train", "val", "test"):
        if not (index["split"] == split).any():
            raise InputError(Path(dataset_dir) / "index.parquet", f"no '{split}' rows")
    result = fit(task, X, index, cfg, seed=seed, device=device, threads=threads, log=log, features=features)
    classes = TASKS[task]["classes"]
    probs, attention = {}, None
    for split in ("val", "test"):
        rows = index.loc[index["split"] == split, "row"].to_numpy()
        if task == "superclass" and split == "test":
            logits, weights = predict(result.model, X, rows, cfg.batch_size, result.device, attention=True)
            attention = attention_table(index[index["split"] == "test"], weights)
        else:
            logits = predict(result.model, X, rows, cfg.batch_size, result.device, features=features)
        probs[split] = probabilities(task, logits)
    tables = {"history": result.history, **report_tables(task, classes, index, probs["val"], probs["test"])}
    if attention is not None:
        tables["attention"] = attention
    out_dir = Path(out_dir)
    metadata = {"task": task, "dataset": dataset, "seed": int(seed), "classes": list(classes),
                "monitor": TASKS[task]["monitor"], "best_epoch": int(result.best_epoch),
                "config": asdict(cfg), "features": feature_names,
                "val_records": sorted(index.loc[index["split"] == "val", "record"].unique().tolist())
                if "record" in index.columns else []}
    for name in TABLES[task]:
        write_parquet(tables[name], out_dir / f"{name}.parquet", metadata)
    extra = {"dataset": dataset, "seed": int(seed), "best_epoch": int(result.best_epoch), "features": feature_names}
    save_checkpoint(result.model, out_dir / "model.pt", task, cfg, extra)
    return tables


def attention_table(test: pd.DataFrame, weights: np.ndarray) -> pd.DataFrame:
    """Attention weights of the first :data:`ATTENTION_RECORDS` test records: ``row, ecg_id, step, weight``."""
    n = min(ATTENTION_RECORDS, len(test))
    steps = weights.shape[1] if n else 0
    return pd.DataFrame({"row": np.repeat(test["row"].to_numpy()[:n], steps).astype(np.int64),
                         "ecg_id": np.repeat(test["ecg_id"].to_numpy()[:n], steps).astype(np.int64),
                         "step": np.tile(np.arange(steps), n).astype(np.int64),
                         "weight": weights[:n].ravel().astype(np.float64)})
