"""Honest choice of a method: leave-one-record-out (LORO) selection over every record, and the study table.

A *candidate* is one way of detecting: a (detector, stream, combination) and, where the choice covers
it, a timing. For each held-out record, the candidate with the best pooled F1 (summed TP, FP, FN) over
all the *other* records is chosen, event-free records included (their detections are false alarms,
so a candidate that fires too often is penalised), and scored on the held-out record. Summaries of the
held-out predictions:

- ``f1_mean`` / ``f1_std``: over held-out records with at least one event (an event-free record has
  F1 0 whatever happens); ``f1_chance``: the mean chance F1 of the same choices on the same records;
- ``pooled_f1``: F1 of the held-out predictions' summed TP, FP, FN over every record;
  ``pooled_f1_chance``: the same from the placebo's mean TP (``tp_chance``) of the same choices;
- ``false_alarms_per_hour`` (every record) and ``false_alarms_per_hour_event_free``;
- ``mean_delay_s`` over every held-out match, ``median_delay_s`` the median of the held-out records'
  median delays; the candidate picked most often (lowest candidate on a tie), its share of folds.

Only candidates scored on every record are eligible. Ties go to the first candidate in sort order;
pooled F1s are compared after rounding to 12 decimals so floating-point noise cannot decide a tie.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..evaluation.metrics import chance_f1, precision_recall_f1
from ..evaluation.scoring import CPSC_COLUMNS, TIMINGS

VALUE_COLUMNS = ("tp", "fp", "tp_chance", "n_detections", "f1", "f1_chance", "median_delay_s", "mean_delay_s")
COMBO_COLUMNS = ["threshold_name", "threshold", "window_name", "window", "min_gap_s"]
HELD_OUT_KEYS = ("f1_mean", "f1_std", "f1_chance", "f1_lift", "pooled_precision", "pooled_recall", "pooled_f1",
                 "pooled_f1_chance", "pooled_f1_lift", "mean_delay_s", "median_delay_s", "false_alarms_per_hour",
                 "false_alarms_per_hour_event_free")
STUDY_TIMINGS = (*TIMINGS, "chosen")
STUDY_PICK = ["detector", "stream", "combo_id", "timing", *COMBO_COLUMNS]
CANDIDATE_KEYS = ["detector", "stream", "combo_id", "timing"]  # a study candidate (the stacks' column order)
# the metrics columns that the study and the CPSC 2021 table read
STUDY_COLUMNS = ["record", "tolerance_s", "policy", *STUDY_PICK, *VALUE_COLUMNS, "n_events", "duration_h",
                 *CPSC_COLUMNS]


@dataclass
class Stack:
    """Metric rows as (record x candidate) arrays: ``cands`` (one row per candidate, sorted),
    ``records`` (sorted), ``n_events`` and ``duration_h`` per record, ``values[col]`` 2-D arrays."""

    cands: pd.DataFrame
    records: np.ndarray
    n_events: np.ndarray
    duration_h: np.ndarray
    values: dict


def each_group(frame: pd.DataFrame, keys: list[str]):
    """``(key, rows)`` of ``frame`` grouped by ``keys`` (two or more), in sorted key order with the rows
    in frame order, as ``groupby(keys, sort=True, observed=True)`` iterates them, without the sorted copy
    of the whole frame that its iteration makes."""
    indices = frame.groupby(keys, sort=True, observed=True).indices
    for key in sorted(indices):
        yield key, frame.iloc[indices[key]]


def stack(metrics: pd.DataFrame, cand_keys: list[str], extra=()) -> Stack:
    """The rows of ``metrics`` (one per record and candidate) as a :class:`Stack`, keeping only the
    candidates present on every record."""
    rec_codes, records = pd.factorize(metrics["record"].astype(str), sort=True)
    groups = metrics.groupby(cand_keys, sort=True, observed=True)
    cand_codes = groups.ngroup().to_numpy()
    cands = groups[[c for c in COMBO_COLUMNS if c in metrics.columns and c not in cand_keys]].first().reset_index()
    shape = (len(records), len(cands))
    values = {}
    for col in (*VALUE_COLUMNS, *extra):
        arr = np.full(shape, np.nan)
        arr[rec_codes, cand_codes] = metrics[col].to_numpy(np.float64)
        values[col] = arr
    keep = ~np.isnan(values["tp"]).any(axis=0)
    values = {k: v[:, keep] for k, v in values.items()}
    n_events = np.zeros(len(records))
    np.maximum.at(n_events, rec_codes, metrics["n_events"].to_numpy(np.float64))
    duration_h = np.zeros(len(records))
    np.maximum.at(duration_h, rec_codes, metrics["duration_h"].to_numpy(np.float64))
    return Stack(cands[keep].reset_index(drop=True), np.asarray(records), n_events, duration_h, values)


def first_max(values: np.ndarray) -> np.ndarray:
    """Index of each row's maximum (rounded to 12 decimals), the first on ties; NaN counts as lowest."""
    return np.argmax(np.round(np.nan_to_num(values, nan=-np.inf), 12), axis=-1)


def choose_insample(s: Stack) -> int:
    """The candidate with the best pooled F1 over every record."""
    tp, fp = s.values["tp"].sum(axis=0), s.values["fp"].sum(axis=0)
    return int(first_max(precision_recall_f1(tp, fp, s.n_events.sum() - tp)[2]))


def choose_loro(s: Stack, mean_of: str | None = None) -> np.ndarray:
    """Per record, the candidate with the best pooled F1 (with ``mean_of``, the best mean of that
    column) over the other records; -1 everywhere with fewer than two records."""
    n = len(s.records)
    if n < 2 or s.cands.empty:
        return np.full(n, -1)
    if mean_of is None:
        tp, fp = s.values["tp"], s.values["fp"]
        tp_o, fp_o = tp.sum(axis=0) - tp, fp.sum(axis=0) - fp
        fn_o = (s.n_events.sum() - s.n_events)[:, None] - tp_o
        score = precision_recall_f1(tp_o, fp_o, fn_o)[2]
    else:
        v = s.values[mean_of]
        score = (v.sum(axis=0) - v) / (n - 1)
    return first_max(score)


def held_out(s: Stack, pick: np.ndarray) -> dict:
    """Summaries of the held-out predictions ``pick`` (candidate per record; see the module docstring)."""
    if len(pick) == 0 or pick[0] < 0:
        return {k: np.nan for k in HELD_OUT_KEYS} | {"n_distinct": 0, "picked": -1, "picked_share": np.nan}
    rows = np.arange(len(pick))
    v = {k: a[rows, pick] for k, a in s.values.items()}
    with_ev, free = s.n_events > 0, s.n_events == 0
    tp, fp, n_ev = v["tp"].sum(), v["fp"].sum(), s.n_events.sum()
    p, r, f1 = precision_recall_f1(tp, fp, n_ev - tp)
    f1c = chance_f1(v["tp_chance"].sum(), v["n_detections"].sum(), n_ev)
    counts = np.bincount(pick)
    picked = int(np.argmax(counts))
    delays = v["median_delay_s"][~np.isnan(v["median_delay_s"])]
    out = {
        "f1_mean": float(v["f1"][with_ev].mean()) if with_ev.any() else np.nan,
        "f1_std": float(v["f1"][with_ev].std(ddof=1)) if with_ev.sum() > 1 else np.nan,
        "f1_chance": float(v["f1_chance"][with_ev].mean()) if with_ev.any() else np.nan,
        "pooled_precision": p, "pooled_recall": r, "pooled_f1": f1, "pooled_f1_chance": f1c,
        "mean_delay_s": float(np.nansum(v["mean_delay_s"] * v["tp"]) / tp) if tp else np.nan,
        "median_delay_s": float(np.median(delays)) if len(delays) else np.nan,
        "false_alarms_per_hour": float(fp / s.duration_h.sum()),
        "false_alarms_per_hour_event_free":
            float(v["fp"][free].sum() / s.duration_h[free].sum()) if free.any() else np.nan,
    }
    out["f1_lift"] = out["f1_mean"] - out["f1_chance"]
    out["pooled_f1_lift"] = out["pooled_f1"] - out["pooled_f1_chance"]
    share = float(counts[picked] / len(pick))
    return out | {"n_distinct": int((counts > 0).sum()), "picked": picked, "picked_share": share}


def study_table(metrics: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Per tolerance x policy x timing ("alarm", "change", or "chosen": the timing chosen per fold
    with the rest), the nested-LORO estimate over every (detector, stream, combination): see the
    module docstring. Columns ``loro_*`` (held-out summaries), ``picked_*`` (the candidate picked most
    often), and ``cpsc2021_u_mean`` (mean CPSC 2021 score of the held-out records, the candidate
    chosen by mean score among two-state detectors; NaN without CPSC columns)."""
    return study_from_runs(each_group(metrics, ["tolerance_s", "policy"]), dataset)


def study_from_runs(runs, dataset: str) -> pd.DataFrame:
    """:func:`study_table` from ``((tolerance_s, policy), rows)`` pairs in sorted key order, each the
    metrics rows (every record, pair and timing; :data:`STUDY_COLUMNS` suffice) of that key."""
    rows, cpsc = [], None
    for (tol, policy), run in runs:
        if cpsc is None:  # the CPSC 2021 score depends on neither tolerance nor policy: one mean per timing
            cpsc = {timing: cpsc_loro_mean(_timing_rows(run, timing)) for timing in STUDY_TIMINGS}
        for timing in STUDY_TIMINGS:
            sub = _timing_rows(run, timing)
            if not sub.empty:
                rows.append(study_row(stack(sub, CANDIDATE_KEYS), dataset, tol, policy, timing, cpsc[timing]))
    return pd.DataFrame(rows)


def study_row(s: Stack, dataset: str, tol, policy, timing: str, cpsc_u_mean: float) -> dict:
    """The study table's row of one tolerance, policy and timing from the :class:`Stack` of its rows
    (candidates: :data:`CANDIDATE_KEYS`), ``cpsc_u_mean`` from :func:`cpsc_mean`."""
    h = held_out(s, choose_loro(s))
    pick = s.cands.iloc[h.pop("picked")] if h["n_distinct"] else pd.Series(dtype=object)
    return {"dataset": dataset, "tolerance_s": float(tol), "policy": policy, "timing": timing,
            "n_records": len(s.records), "n_records_with_events": int((s.n_events > 0).sum()),
            "n_event_free_records": int((s.n_events == 0).sum()), "n_events": int(s.n_events.sum()),
            "n_candidates": len(s.cands), **{f"loro_{k}": h[k] for k in HELD_OUT_KEYS},
            "n_distinct_picks": h["n_distinct"], "picked_share": h["picked_share"],
            **{f"picked_{k}": pick.get(k, None) for k in STUDY_PICK},
            "cpsc2021_u_mean": cpsc_u_mean}


def _timing_rows(metrics: pd.DataFrame, timing: str) -> pd.DataFrame:
    """The rows of one timing ("chosen": every row)."""
    return metrics if timing == "chosen" else metrics[metrics["timing"] == timing]


def _cpsc_stack(metrics: pd.DataFrame) -> Stack | None:
    """Stack of the CPSC 2021 scores (one tolerance and policy: the score depends on neither)."""
    if "cpsc_u" not in metrics.columns:
        return None
    m = metrics[metrics["cpsc_u"].notna()]
    if m.empty:
        return None
    first = m[(m["tolerance_s"] == m["tolerance_s"].min()) & (m["policy"].astype(str) == min(m["policy"].astype(str)))]
    return stack(first, CANDIDATE_KEYS, extra=CPSC_COLUMNS)


def _cpsc_loro(s: Stack | None) -> tuple[Stack, np.ndarray] | None:
    """The CPSC 2021 stack ``s`` and, per record, the candidate with the best mean score on the other
    records; ``None`` without CPSC 2021 scores or a candidate."""
    if s is None:
        return None
    pick = choose_loro(s, "cpsc_u")
    return (s, pick) if pick[0] >= 0 else None


def cpsc_loro_mean(metrics: pd.DataFrame) -> float:
    """Mean held-out CPSC 2021 score (candidate chosen by mean score on the other records); NaN without."""
    return cpsc_mean(_cpsc_stack(metrics))


def cpsc_mean(s: Stack | None) -> float:
    """:func:`cpsc_loro_mean` from the CPSC 2021 stack of the rows (``None``: no CPSC 2021 scores)."""
    chosen = _cpsc_loro(s)
    if chosen is None:
        return np.nan
    s, pick = chosen
    return float(s.values["cpsc_u"][np.arange(len(pick)), pick].mean())


def cpsc2021_table(metrics: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Per timing ("alarm", "change", "chosen"): each record's CPSC 2021 score (class true and
    predicted, Ur, Ue, U) for the two-state candidate chosen on the other records (best mean U), and a
    row ``record == "total"`` with the mean over records (the challenge's score), plus the in-sample
    best candidate's mean U for reference (``insample_u_mean``)."""
    return cpsc2021_from_stacks(((timing, _cpsc_stack(_timing_rows(metrics, timing))) for timing in STUDY_TIMINGS),
                                dataset)


def cpsc2021_from_stacks(stacks, dataset: str) -> pd.DataFrame:
    """:func:`cpsc2021_table` from ``(timing, CPSC 2021 stack or None)`` pairs in :data:`STUDY_TIMINGS` order."""
    rows = []
    for timing, s in stacks:
        chosen = _cpsc_loro(s)
        if chosen is None:
            continue
        s, pick = chosen
        best = int(first_max(s.values["cpsc_u"].mean(axis=0)))
        for r, rec in enumerate(s.records):
            c = pick[r]
            cand = s.cands.iloc[c]
            rows.append({"dataset": dataset, "timing": timing, "record": rec, "detector": cand["detector"],
                         "stream": cand["stream"], "combo_id": int(cand["combo_id"]), "chosen_timing": cand["timing"],
                         **{k[5:]: float(s.values[k][r, c]) for k in CPSC_COLUMNS}})
        recs = pd.DataFrame(rows[-len(s.records):])
        rows.append({"dataset": dataset, "timing": timing, "record": "total", "detector": None, "stream": None,
                     "combo_id": -1, "chosen_timing": None, "class_true": np.nan, "class_pred": np.nan,
                     "ur": recs["ur"].mean(), "ue": recs["ue"].mean(), "u": recs["u"].mean(),
                     "insample_u_mean": float(s.values["cpsc_u"][:, best].mean())})
    out = pd.DataFrame(rows, columns=["dataset", "timing", "record", "detector", "stream", "combo_id", "chosen_timing",
                                      "class_true", "class_pred", "ur", "ue", "u", "insample_u_mean"])
    return out.astype({"combo_id": np.int32})
