"""Aggregated report tables built from the per-record metrics tables.

Across-record summaries (grid summary, best configurations) use only records with at least one
ground-truth event: on a record without events every F1 is 0 whatever the detector does.
Standard deviations are sample standard deviations (ddof=1; NaN for a single record).
Choices among combinations break ties by the lowest combo_id; means are compared after rounding
to 12 decimals so that floating-point noise cannot decide a tie.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from ..parquet import write_parquet

RUN_KEYS = ["detector", "stream", "tolerance_s", "policy"]
COMBO_COLUMNS = ["threshold_name", "threshold", "window_name", "window", "min_gap_s"]


def detection_metrics(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """All metric rows in one table, ordered by detector, stream, record, combo, tolerance, policy."""
    if not frames:
        raise InputError("metrics", "no metrics tables to combine")
    out = pd.concat(frames, ignore_index=True)
    keys = ["detector", "stream", "record", "combo_id", "tolerance_s", "policy"]
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def _with_events(metrics: pd.DataFrame) -> pd.DataFrame:
    return metrics[metrics["n_events"] > 0]


def _pooled_f1(tp, fp, fn):
    denom = 2 * tp + fp + fn
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)


def grid_summary(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per detector, stream, combination, tolerance and policy, across records with events:
    mean/std/median of F1, precision, recall; pooled F1 (from summed TP/FP/FN); mean delay in
    seconds over all matches; mean chance F1 and lift; mean false alarms per hour; record count."""
    m = _with_events(metrics).assign(_delay_sum=lambda d: d["mean_delay_s"].fillna(0.0) * d["tp"])
    keys = ["detector", "stream", "combo_id", "tolerance_s", "policy"]
    g = m.groupby(keys, sort=True)
    stats = {f"{col}_{fn}": (col, fn) for col in ("f1", "precision", "recall") for fn in ("mean", "std", "median")}
    out = g.agg(
        **{c: (c, "first") for c in COMBO_COLUMNS}, **stats,
        tp=("tp", "sum"), fp=("fp", "sum"), fn=("fn", "sum"), _delay_sum=("_delay_sum", "sum"),
        f1_chance_mean=("f1_chance", "mean"), f1_lift_mean=("f1_lift", "mean"),
        delay_penalised_f1_mean=("delay_penalised_f1", "mean"),
        false_alarms_per_hour_mean=("false_alarms_per_hour", "mean"),
        episode_recall_mean=("episode_recall", "mean"), n_records=("record", "nunique"),
    ).reset_index()
    out["pooled_f1"] = _pooled_f1(out["tp"], out["fp"], out["fn"])
    out["mean_delay_s"] = np.where(out["tp"] > 0, out["_delay_sum"] / out["tp"].clip(lower=1), np.nan)
    return out.drop(columns="_delay_sum")


def _argmax_first(values: np.ndarray) -> np.ndarray:
    """Column index of each row's maximum (rounded), the first on ties; NaN counts as lowest."""
    v = np.round(np.nan_to_num(values, nan=-np.inf), 12)
    return np.argmax(v, axis=-1)


def _select(group: pd.DataFrame) -> dict:
    f1 = group.pivot(index="record", columns="combo_id", values="f1").sort_index().sort_index(axis=1)
    chance = group.pivot(index="record", columns="combo_id", values="f1_chance").reindex_like(f1)
    combos = f1.columns.to_numpy()
    F, C = f1.to_numpy(), chance.to_numpy()
    n = F.shape[0]
    best = int(_argmax_first(np.nanmean(F, axis=0)))
    rows = np.arange(n)
    oracle = _argmax_first(F)
    out = {
        "n_records": n, "n_combos": len(combos), "best_combo_id": int(combos[best]),
        "insample_f1_mean": float(np.nanmean(F[:, best])), "insample_f1_chance": float(np.nanmean(C[:, best])),
        "oracle_f1_mean": float(F[rows, oracle].mean()), "oracle_f1_chance": float(C[rows, oracle].mean()),
        "loro_f1_mean": np.nan, "loro_f1_std": np.nan, "loro_f1_chance": np.nan, "loro_n_distinct": 0,
    }
    if n > 1:
        others = np.stack([np.nanmean(np.delete(F, r, axis=0), axis=0) for r in range(n)])
        pick = _argmax_first(others)
        held = F[rows, pick]
        out.update(loro_f1_mean=float(held.mean()), loro_f1_std=float(held.std(ddof=1)),
                   loro_f1_chance=float(C[rows, pick].mean()), loro_n_distinct=int(len(np.unique(pick))))
    return out


def best_configs(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per detector, stream, tolerance and policy (records with events only):

    - ``best_*`` / ``insample_*``: the combination with the best mean F1 across records, chosen and
      scored on the same records (in-sample, optimistic), with its mean chance F1;
    - ``oracle_*``: mean over records of each record's best F1 across combinations (and the mean
      chance F1 of those per-record choices): an upper bound, not a result;
    - ``loro_*``: leave-one-record-out: for each record, the combination with the best mean F1 on
      the other records, scored on the held-out record; mean and std over records, mean chance
      F1, and how many distinct combinations the folds chose.
    """
    m = _with_events(metrics)
    combo_info = m.drop_duplicates(["detector", "stream", "combo_id"]).set_index(["detector", "stream", "combo_id"])
    rows = []
    for key, group in m.groupby(RUN_KEYS, sort=True):
        sel = _select(group)
        info = combo_info.loc[(key[0], key[1], sel["best_combo_id"])]
        rows.append({**dict(zip(RUN_KEYS, key)), "n_records": sel.pop("n_records"),
                     "best_combo_id": sel.pop("best_combo_id"),
                     **{("best_" + c if c in ("threshold", "window", "min_gap_s") else c): info[c] for c in COMBO_COLUMNS},
                     **sel})
    out = pd.DataFrame(rows)
    if not out.empty:
        out["insample_f1_lift"] = out["insample_f1_mean"] - out["insample_f1_chance"]
        out["loro_f1_lift"] = out["loro_f1_mean"] - out["loro_f1_chance"]
    return out


def write_report_tables(metric_paths, outputs: dict, dataset: str, config_hash: str) -> None:
    """Read per-record metrics tables and write ``outputs`` (keys ``detection_metrics``,
    ``grid_summary``, ``best_configs``: Parquet paths) with dataset and config hash as metadata."""
    metrics = detection_metrics([pd.read_parquet(p) for p in metric_paths])
    meta = {"dataset": dataset, "config_hash": config_hash}
    write_parquet(metrics, outputs["detection_metrics"], meta)
    write_parquet(grid_summary(metrics), outputs["grid_summary"], meta)
    write_parquet(best_configs(metrics), outputs["best_configs"], meta)
