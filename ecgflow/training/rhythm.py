"""The ``rhythm`` task: a per-beat AF classifier over RR intervals, cross-fitted by record, feeding the
``p_af`` stream (:mod:`ecgflow.streams`).

Labels: beat ``k`` is positive when the rhythm in force at its sample is AF or flutter
(:data:`~ecgflow.evaluation.cpsc2021.AF_RHYTHMS`), from the record's events table and initial rhythm.

Inputs (causal): beat ``k`` (from the second beat on: the first has no RR interval) sees the last
``window`` RR intervals ending at beat ``k`` (the first interval repeated before the record's first
``window`` beats), as two channels: ``log(RR / median of the window)`` (irregularity, free of the
rate) and ``log(RR / 0.8 s)`` (the rate), both clipped to [-3, 3]. Every statistic is of the window
itself, so the probability of beat ``k`` depends on beats up to ``k`` only: appending beats never
changes an earlier value.

Network (:class:`~ecgflow.training.models.RhythmNet`): three 1-D convolutions over the window, the
mean over time and the last step's features, a small head, one logit (sigmoid: ``p_af``). Trained with
:func:`ecgflow.training.train.fit` (task ``rhythm``: BCE with ``pos_weight``, AdamW, early stopping on
validation AUROC, seeded, deterministic on the CPU) on every ``stride``-th beat of the training records.

Cross-fitting: the records are dealt into ``folds`` folds by a seeded permutation (``min(folds,
n_records)``); the model of fold ``f`` trains on the records of the other folds less its validation
records (``val_fraction`` of them, at least one, also from the other folds; with a single other record
its last ``val_fraction`` of beats), so no record is scored by a model that saw it. A dataset scored
with another dataset's models (``train.rhythm.source_dataset``) gets the mean of the K fold models'
probabilities (none of them saw it).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..errors import ConfigError, InputError
from ..evaluation.cpsc2021 import AF_RHYTHMS
from ..parquet import atomic_path, read_metadata, write_parquet
from .evaluate import binary_auroc
from .models import build_model
from .train import TrainConfig, fit, predict

TASK = "rhythm"
RR_SCALE_S = 0.8
CLIP = 3.0
DEFAULTS = {"folds": 5, "window": 48, "stride": 16, "val_fraction": 0.2, "threshold": 0.5}


def beat_labels(samples: np.ndarray, events: pd.DataFrame, initial_rhythm: str) -> np.ndarray:
    """1 for each beat whose rhythm in force (``initial_rhythm`` before the first event) is AF or flutter."""
    ev = np.asarray(events["sample"], dtype=np.int64) if len(events) else np.zeros(0, np.int64)
    rhythms = np.array([initial_rhythm, *events["rhythm_to"].astype(str).tolist()] if len(events) else [initial_rhythm])
    at = np.searchsorted(ev, np.asarray(samples, dtype=np.int64), side="right")
    return np.isin(rhythms[at], AF_RHYTHMS).astype(np.int8)


def rr_windows(samples: np.ndarray, fs: float, window: int) -> np.ndarray:
    """Inputs of beats 1..n-1: float32 ``(n - 1, 2, window)`` (see the module docstring)."""
    s = np.asarray(samples, dtype=np.int64)
    if s.size < 2:
        return np.zeros((0, 2, window), np.float32)
    rr = np.diff(s) / float(fs)
    padded = np.concatenate([np.full(window - 1, rr[0]), rr])
    win = np.lib.stride_tricks.sliding_window_view(padded, window)  # row k: the window ending at RR k
    med = np.median(win, axis=1, keepdims=True)
    x = np.empty((rr.size, 2, window), np.float32)
    x[:, 0] = np.clip(np.log(win / med), -CLIP, CLIP)
    x[:, 1] = np.clip(np.log(win / RR_SCALE_S), -CLIP, CLIP)
    return x


def assign_folds(records, folds: int, seed: int) -> dict[str, int]:
    """Record -> fold: a seeded permutation of the sorted records dealt into ``min(folds, n)`` folds."""
    records = sorted(records)
    if len(records) < 2:
        raise InputError("rhythm", f"cross-fitting needs at least 2 records, got {len(records)}")
    k = min(int(folds), len(records))
    order = np.random.default_rng(seed).permutation(len(records))
    return {records[i]: int(j % k) for j, i in enumerate(order)}


def fold_roles(folds: dict[str, int], fold: int, val_fraction: float, seed: int) -> dict[str, str]:
    """Record -> ``test`` (in ``fold``), ``val`` or ``train`` (the other folds) for the model of ``fold``;
    with a single other record it is ``train+val`` (its last beats validate)."""
    others = sorted(r for r, f in folds.items() if f != fold)
    roles = {r: "test" for r, f in folds.items() if f == fold}
    if len(others) == 1:
        roles[others[0]] = "train+val"
        return roles
    n_val = min(max(1, round(val_fraction * len(others))), len(others) - 1)
    val = set(np.random.default_rng([seed, fold]).choice(others, n_val, replace=False).tolist())
    roles.update({r: "val" if r in val else "train" for r in others})
    return roles


def read_record(beats_path, events_path=None) -> dict:
    """A record's beat samples, sampling rate and (with ``events_path``) per-beat labels."""
    meta = read_metadata(beats_path)
    samples = pd.read_parquet(beats_path, columns=["sample"])["sample"].to_numpy(np.int64)
    out = {"record": Path(beats_path).stem, "samples": samples, "fs": float(meta["fs"])}
    if events_path is not None:
        events = pd.read_parquet(events_path)
        emeta = read_metadata(events_path)
        initial = emeta.get("initial_rhythm") or meta.get("initial_rhythm")
        if initial is None:
            initial = str(events["rhythm_from"].iloc[0]) if len(events) else "(N"
        out["labels"] = beat_labels(samples, events, str(initial))
    return out


def _training_set(records: list[dict], roles: dict[str, str], window: int, stride: int, val_fraction: float):
    xs, rows = [], []
    n = 0
    for rec in records:
        role = roles.get(rec["record"], "test")
        if role == "test":
            continue
        x = rr_windows(rec["samples"], rec["fs"], window)
        y = rec["labels"][1:]
        keep = np.arange(0, len(x), stride)
        if role == "train+val":
            cut = int(len(x) * (1 - val_fraction))
            split = np.where(keep < cut, "train", "val")
        else:
            split = np.full(keep.size, role)
        xs.append(x[keep])
        rows.append(pd.DataFrame({"row": np.arange(n, n + keep.size), "split": split, "AF": y[keep].astype(np.float32),
                                  "record": rec["record"]}))
        n += keep.size
    return np.concatenate(xs), pd.concat(rows, ignore_index=True)


def model_params(params: dict) -> dict:
    """The rhythm section's keys with their defaults (``DEFAULTS`` and the training recipe)."""
    return {**DEFAULTS, **params}


def train_crossfit(records: list[dict], params: dict, seed: int = 0, device: str = "auto", threads: int = 2,
                   log=None) -> dict:
    """Train the K fold models on labelled ``records`` (:func:`read_record` dicts). Returns the checkpoint
    dictionary (``folds``: record -> fold, ``states``: one state dict per fold, ...), ``history`` and
    ``roles`` tables."""
    p = model_params(params)
    cfg = TrainConfig.from_mapping(p, "train.rhythm")
    window, stride = int(p["window"]), int(p["stride"])
    if window < 2 or stride < 1:
        raise ConfigError("train.rhythm.window", f"window must be >= 2 and stride >= 1, got {window}, {stride}")
    folds = assign_folds([r["record"] for r in records], p["folds"], seed)
    states, histories, roles_rows, seconds = [], [], [], []
    for fold in range(max(folds.values()) + 1):
        roles = fold_roles(folds, fold, float(p["val_fraction"]), seed)
        X, index = _training_set(records, roles, window, stride, float(p["val_fraction"]))
        start = time.perf_counter()
        result = fit(TASK, X, index, cfg, seed=seed + fold, device=device, threads=threads, log=log)
        seconds.append(time.perf_counter() - start)
        states.append({k: v.detach().cpu() for k, v in result.model.state_dict().items()})
        histories.append(result.history.assign(fold=fold))
        roles_rows += [{"fold": fold, "record": r, "role": role} for r, role in sorted(roles.items())]
        if log is not None:
            log(f"fold {fold}: best epoch {result.best_epoch}, {seconds[-1]:.1f} s")
    checkpoint = {"task": TASK, "folds": folds, "states": states, "window": window, "dropout": cfg.dropout,
                  "config": asdict(cfg), "params": {k: p[k] for k in DEFAULTS}, "seed": int(seed)}
    history = pd.concat(histories, ignore_index=True)
    return {"checkpoint": checkpoint, "history": history, "roles": pd.DataFrame(roles_rows),
            "seconds": float(sum(seconds))}


def save_models(checkpoint: dict, path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(checkpoint, tmp)
    return path


def load_models(path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def _models(checkpoint: dict):
    for state in checkpoint["states"]:
        model = build_model(TASK, n_classes=1, dropout=checkpoint["dropout"])
        model.load_state_dict(state)
        yield model.eval()


def record_probabilities(checkpoint: dict, record: str, samples: np.ndarray, fs: float, threads: int = 1,
                         batch_size: int = 4096, models=None) -> pd.DataFrame:
    """The rhythm table of one record (columns sample, p_af: beats 1..n-1): the model of its fold when
    the checkpoint was cross-fitted on its dataset, else the mean over the fold models."""
    torch.set_num_threads(int(threads))
    models = list(models if models is not None else _models(checkpoint))
    x = rr_windows(samples, fs, int(checkpoint["window"]))
    fold = checkpoint["folds"].get(record)
    use = [models[fold]] if fold is not None else models
    rows = np.arange(len(x))
    p = np.zeros(len(x))
    for model in use:
        logits = predict(model, x, rows, batch_size, torch.device("cpu")) if len(x) else np.zeros((0, 1))
        p += 1.0 / (1.0 + np.exp(-logits[:, 0].astype(np.float64)))
    p /= len(use)
    return pd.DataFrame({"sample": np.asarray(samples, np.int64)[1:], "p_af": p})


def write_record_probabilities(model_path, beats_path, out, *, dataset: str, source_dataset: str, threads: int = 1):
    """:func:`record_probabilities` of one record's beats file, written with its metadata (fs, record,
    dataset, n_samples, the model's dataset and how it was scored)."""
    checkpoint = load_models(model_path)
    rec = read_record(beats_path)
    meta = read_metadata(beats_path)
    table = record_probabilities(checkpoint, rec["record"], rec["samples"], rec["fs"], threads)
    fold = checkpoint["folds"].get(rec["record"])
    if source_dataset == dataset and fold is None:
        raise InputError(model_path, f"record {rec['record']} has no fold in the cross-fitted models of {dataset}")
    info = {"dataset": dataset, "record": rec["record"], "fs": rec["fs"], "n_samples": meta.get("n_samples"),
            "model_dataset": source_dataset, "fold": fold,
            "scored_by": "the model of its fold" if fold is not None else "the mean of the fold models",
            "columns": {"sample": "beat sample", "p_af": "P(AF or flutter) from the RR intervals up to the beat"}}
    write_parquet(table, out, info)
    return table


def run_rhythm_training(beats_paths, events_paths, out_dir, params: dict, seed: int = 0, device: str = "auto",
                        threads: int = 2, dataset: str = "", log=None) -> dict:
    """Read the dataset's records, cross-fit, write ``model.pt``, ``history.parquet`` and ``folds.parquet``."""
    events = {Path(p).stem: p for p in events_paths}
    records = [read_record(b, events[Path(b).stem]) for b in sorted(beats_paths)]
    out = train_crossfit(records, params, seed=seed, device=device, threads=threads, log=log)
    out_dir = Path(out_dir)
    meta = {"task": TASK, "dataset": dataset, "seed": int(seed), "folds": out["checkpoint"]["folds"],
            "params": out["checkpoint"]["params"], "config": out["checkpoint"]["config"],
            "train_seconds": out["seconds"]}
    write_parquet(out["history"], out_dir / "history.parquet", meta)
    write_parquet(out["roles"], out_dir / "folds.parquet", meta)
    save_models({**out["checkpoint"], "dataset": dataset}, out_dir / "model.pt")
    return out


# --- per-beat metrics --------------------------------------------------------------------------------

SCORE_STREAMS = {"cosen": (16, {"r": 0.03}, -1.0), "pirr": (8, {"irr_ms": 100.0}, 0.5)}  # window, params, threshold


def beat_metrics(y: np.ndarray, score: np.ndarray, threshold: float) -> dict:
    """AUROC (scikit-learn), sensitivity, specificity and F1 of ``score >= threshold`` for AF beats."""
    from sklearn.metrics import confusion_matrix, f1_score

    y = np.asarray(y, dtype=np.int64)
    pred = (np.asarray(score) >= threshold).astype(np.int64)
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    return {"auroc": binary_auroc(y, score), "sensitivity": tp / (tp + fn) if tp + fn else math.nan,
            "specificity": tn / (tn + fp) if tn + fp else math.nan,
            "f1": float(f1_score(y, pred, labels=[1], average="binary", zero_division=0)) if len(y) else math.nan,
            "threshold": float(threshold), "n_beats": int(len(y)), "n_af": int(y.sum())}


def score_streams(samples: np.ndarray, fs: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The cosen and pirr streams of a record as per-beat scores: (beat samples, values)."""
    from ..streams import build_stream

    beats = pd.DataFrame({"sample": samples})
    out = {}
    for name, (w, sp, _) in SCORE_STREAMS.items():
        values, pos = build_stream(name, w, beats=beats, fs=fs, params=sp)
        out[name] = (pos, values)
    return out


def beats_table(records: list[dict], probabilities: dict[str, pd.DataFrame], threshold: float = 0.5) -> pd.DataFrame:
    """Per-record and pooled (``record == "pooled"``) per-beat metrics of ``p_af`` (out of fold) and of the
    cosen and pirr streams used as scores, on the beats where all three have a value."""
    rows, pooled = [], {}
    for rec in records:
        y_all = pd.Series(rec["labels"], index=rec["samples"])
        scores = {"p_af": (probabilities[rec["record"]]["sample"].to_numpy(), probabilities[rec["record"]]["p_af"].to_numpy())}
        scores.update(score_streams(rec["samples"], rec["fs"]))
        common = scores["p_af"][0]
        for pos, _ in scores.values():
            common = np.intersect1d(common, pos)
        y = y_all.loc[common].to_numpy()
        for name, (pos, values) in scores.items():
            v = pd.Series(values, index=pos).loc[common].to_numpy()
            thr = threshold if name == "p_af" else SCORE_STREAMS[name][2]
            rows.append({"stream": name, "record": rec["record"], **beat_metrics(y, v, thr)})
            pooled.setdefault(name, ([], [], thr))
            pooled[name][0].append(y)
            pooled[name][1].append(v)
    for name, (ys, vs, thr) in pooled.items():
        rows.append({"stream": name, "record": "pooled", **beat_metrics(np.concatenate(ys), np.concatenate(vs), thr)})
    return pd.DataFrame(rows).astype({"auroc": "float64", "sensitivity": "float64", "specificity": "float64",
                                      "f1": "float64", "threshold": "float64", "n_beats": "int64", "n_af": "int64"})


def write_beats_table(rhythm_paths, beats_paths, events_paths, out, *, dataset: str, threshold: float = 0.5):
    rhythm = {Path(p).stem: pd.read_parquet(p) for p in rhythm_paths}
    events = {Path(p).stem: p for p in events_paths}
    records = [read_record(b, events[Path(b).stem]) for b in sorted(beats_paths) if Path(b).stem in rhythm]
    table = beats_table(records, rhythm, threshold)
    write_parquet(table, out, {"dataset": dataset, "threshold": threshold,
                               "scores": {k: {"window": w, "params": sp, "threshold": t}
                                          for k, (w, sp, t) in SCORE_STREAMS.items()}})
    return table
