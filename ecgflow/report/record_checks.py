"""Per-dataset tables about the records themselves: those left out of a run, and how well detected beats
match the reference beats where a dataset has both."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..parquet import read_metadata, write_parquet
from ..evaluation.metrics import precision_recall_f1
from ..qrs import MATCH_WINDOW_S


def qrs_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per-record rows (``record, tp, fp, fn``) and a final ``record == "total"`` row of the gross sums,
    with ``sensitivity = tp / (tp + fn)`` and ``ppv = tp / (tp + fp)`` (0.0 where the denominator is 0)."""
    counts = ["tp", "fp", "fn"]
    out = rows[["record", *counts]].copy()
    out["record"] = out["record"].astype(str)
    out[counts] = out[counts].astype(np.int64)
    total = pd.DataFrame({"record": ["total"], **{c: [int(out[c].sum())] for c in counts}})
    out = pd.concat([out, total], ignore_index=True)
    ppv, sensitivity, _ = precision_recall_f1(out["tp"], out["fp"], out["fn"])
    out["sensitivity"] = sensitivity
    out["ppv"] = ppv
    return out


def skipped_table(beats_paths) -> pd.DataFrame:
    """``record, reason`` of every record whose tidy job left it out (``bad_records: skip``)."""
    rows = []
    for path in beats_paths:
        meta = read_metadata(path)
        if "skipped" in meta:
            rows.append({"record": meta["record"], "reason": meta["skipped"]})
    return pd.DataFrame(rows, columns=["record", "reason"]).astype({"record": "string", "reason": "string"})


def qrs_detection_table(beats_paths) -> pd.DataFrame:
    """``record, tp, fp, fn, sensitivity, ppv`` of the detected beats against the reference beats, per
    record and in total (:func:`qrs_summary`); records without a reference are left out."""
    rows = []
    for path in beats_paths:
        meta = read_metadata(path)
        if "qrs_reference" in meta:
            q = meta["qrs_reference"]
            rows.append({"record": meta["record"], "tp": q["tp"], "fp": q["fp"], "fn": q["fn"]})
    return qrs_summary(pd.DataFrame(rows, columns=["record", "tp", "fp", "fn"]))


def write_record_checks(beats_paths, outputs: dict, dataset: str) -> None:
    """Write the tables of ``outputs`` (keys ``skipped``, ``qrs_detection``) from the beats tables."""
    paths = list(beats_paths)
    if "skipped" in outputs:
        write_parquet(skipped_table(paths), outputs["skipped"], {"dataset": dataset})
    if "qrs_detection" in outputs:
        write_parquet(qrs_detection_table(paths), outputs["qrs_detection"],
                      {"dataset": dataset, "match_window_s": MATCH_WINDOW_S})
