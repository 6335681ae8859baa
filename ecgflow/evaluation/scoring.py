"""Score a whole detections file (every grid combination) at every tolerance and policy.

One row per combination x tolerance x policy, columns as the metrics table of the project's
contracts. The per-combination work runs in one compiled loop, and the chance level is computed
once per distinct detection count.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from numba import njit

from ..errors import ConfigError, InputError
from ..parquet import read_metadata
from .chance import chance_f1_many, chance_phases
from .drift import episode_counts
from .matching import POLICIES, event_tolerances, match

METRIC_COLUMNS = [
    "dataset", "record", "detector", "stream", "combo_id", "threshold", "threshold_name", "window",
    "window_name", "min_gap_s", "tolerance_s", "tolerance_samples", "policy", "n_events",
    "n_detections", "tp", "fp", "fn", "precision", "recall", "f1", "mean_delay_s", "median_delay_s",
    "f1_chance", "f1_lift", "delay_penalised_f1", "false_alarms_per_hour", "episode_recall",
    "missed_detection_rate", "mttd_s", "mtfa_s", "mtr", "duration_h",
]


@njit(cache=True)
def _score_combos(samples, offsets, ev, tol_e, pre, optimal):
    """Per combination (rows ``offsets[c]:offsets[c + 1]`` of ``samples``): TP, mean and median
    delay (samples), detected events, sum of first-alarm delays, window false alarms."""
    n_c = offsets.shape[0] - 1
    tp = np.zeros(n_c, np.int64)
    mean_d = np.full(n_c, np.nan)
    median_d = np.full(n_c, np.nan)
    detected = np.zeros(n_c, np.int64)
    first_sum = np.zeros(n_c, np.int64)
    n_false = np.zeros(n_c, np.int64)
    for c in range(n_c):
        det = samples[offsets[c]:offsets[c + 1]]
        m = match(det, ev, tol_e, pre, optimal)
        hit = m >= 0
        k = hit.sum()
        tp[c] = k
        if k:
            delays = (det[hit] - ev[m[hit]]).astype(np.float64)
            mean_d[c] = delays.mean()
            median_d[c] = np.median(delays)
        detected[c], first_sum[c], n_false[c] = episode_counts(det, ev, tol_e, pre)
    return tp, mean_d, median_d, detected, first_sum, n_false


def _check_config(cfg: dict) -> None:
    for pol in cfg["policies"]:
        if pol not in POLICIES:
            raise ConfigError("evaluation.policies", f"unknown policy {pol!r}; expected one of {POLICIES}")
    if any(t < 0 for t in cfg["tolerances_s"]):
        raise ConfigError("evaluation.tolerances_s", "tolerances must be non-negative")
    if cfg.get("pre_tolerance_s", 0) < 0:
        raise ConfigError("evaluation.pre_tolerance_s", "must be non-negative")
    if int(cfg["chance_phases"]) < 1:
        raise ConfigError("evaluation.chance_phases", "must be at least 1")
    frac = cfg.get("adaptive_fraction")
    if frac is not None and not 0 < frac <= 1:
        raise ConfigError("evaluation.adaptive_fraction", "must lie in (0, 1]")


def grid_frame(det_meta: dict, source="detections") -> pd.DataFrame:
    """The detections file's full grid (metadata ``grid``), sorted by combo_id."""
    grid = pd.DataFrame(det_meta.get("grid") or [])
    need = {"combo_id", "threshold", "window", "min_gap_s"}
    if grid.empty or not need <= set(grid.columns):
        raise InputError(source, f"metadata 'grid' must list combos with {sorted(need)}")
    grid = grid.sort_values("combo_id", kind="stable").reset_index(drop=True)
    if grid["combo_id"].duplicated().any():
        raise InputError(source, "metadata 'grid' repeats a combo_id")
    return grid


def _combo_offsets(detections: pd.DataFrame, combo_ids: np.ndarray, source) -> tuple[np.ndarray, np.ndarray]:
    """Samples sorted by (combo_id, sample) and each grid combo's row range in them."""
    for col in ("combo_id", "sample"):
        if col not in detections.columns:
            raise InputError(source, f"missing column '{col}'")
    cid = detections["combo_id"].to_numpy(np.int64)
    samples = detections["sample"].to_numpy()
    if samples.dtype.kind not in "iu" and len(samples):
        raise InputError(source, f"column 'sample' must be integer, got {samples.dtype}")
    unknown = np.setdiff1d(cid, combo_ids)
    if unknown.size:
        raise InputError(source, f"combo_id {unknown[:5].tolist()} not in the metadata grid")
    order = np.lexsort((samples, cid))
    cid, samples = cid[order], samples[order].astype(np.int64)
    bounds = np.searchsorted(cid, combo_ids, side="left")
    offsets = np.append(bounds, len(cid)).astype(np.int64)
    return samples, offsets


def score_detections(detections: pd.DataFrame, det_meta: dict, events: np.ndarray, ev_meta: dict,
                     evaluation: dict, source="detections") -> pd.DataFrame:
    """Metrics table of one detections file against its record's events.

    ``evaluation``: ``tolerances_s``, ``pre_tolerance_s``, ``policies``, ``chance_phases``, ``seed``,
    optionally ``adaptive_fraction``. Tolerances convert to samples with ``round(tol_s * fs)``
    (``fs`` from the events' metadata). Combos without detections (present only in the metadata
    grid) get rows too. Rows are ordered by combo_id, tolerance, then policy as configured.
    """
    _check_config(evaluation)
    fs = float(ev_meta["fs"])
    if "fs" in det_meta and not np.isclose(float(det_meta["fs"]), fs):
        raise InputError(source, f"fs {det_meta['fs']} differs from the events' fs {fs}")
    n_samples = int(ev_meta["n_samples"])
    duration_s = float(ev_meta.get("duration_s", n_samples / fs))
    grid = grid_frame(det_meta, source)
    combo_ids = grid["combo_id"].to_numpy(np.int64)
    samples, offsets = _combo_offsets(detections, combo_ids, source)
    n_det = np.diff(offsets)
    ev = np.sort(np.asarray(events, np.int64))
    pre = np.int64(round(evaluation.get("pre_tolerance_s", 0) * fs))
    phases = chance_phases(evaluation["chance_phases"], evaluation["seed"])
    uniq_n, inv_n = np.unique(n_det, return_inverse=True)
    duration_h = duration_s / 3600.0
    blocks = []
    for tol_s in sorted(float(t) for t in evaluation["tolerances_s"]):
        tol = int(round(tol_s * fs))
        tol_e = event_tolerances(ev, tol, evaluation.get("adaptive_fraction"), n_samples)
        for policy in evaluation["policies"]:
            optimal = policy == "optimal"
            tp, mean_d, median_d, detected, first_sum, n_false = _score_combos(
                samples, offsets, ev, tol_e, pre, optimal)
            chance = chance_f1_many(uniq_n, n_samples, phases, ev, tol_e, pre, optimal)[inv_n]
            blocks.append(_rows(grid, n_det, len(ev), tol_s, tol, policy, fs, duration_s, tp,
                                mean_d, median_d, detected, first_sum, n_false, chance))
    out = pd.concat(blocks, ignore_index=True)
    # blocks come in (tolerance, policy) order: a stable sort by combo_id keeps it within a combo
    out = out.sort_values("combo_id", kind="stable").reset_index(drop=True)
    out["duration_h"] = duration_h
    for key in ("dataset", "record", "detector", "stream", "threshold_name", "window_name"):
        out[key] = str(det_meta.get(key, ""))
    return out[METRIC_COLUMNS]


def _rows(grid, n_det, n_ev, tol_s, tol, policy, fs, duration_s, tp, mean_d, median_d, detected,
          first_sum, n_false, chance) -> pd.DataFrame:
    """One block of metric rows (one tolerance and policy), computed column-wise."""
    fp, fn = n_det - tp, n_ev - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(n_det > 0, tp / np.maximum(n_det, 1), 0.0)
        recall = np.where(n_ev > 0, tp / max(n_ev, 1), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        dpf1 = np.where(tp > 0, f1 / (1 + np.maximum(mean_d, 0.0) / tol) if tol > 0 else f1, 0.0)
        ep_recall = detected / n_ev if n_ev else np.full(len(tp), np.nan)
        mttd_s = np.where(detected > 0, first_sum / np.maximum(detected, 1) / fs, np.nan)
        mtfa_s = np.where(n_false > 0, duration_s / np.maximum(n_false, 1), np.nan)
        mtr = np.where(mttd_s > 0, mtfa_s / mttd_s * ep_recall, np.nan)
    return pd.DataFrame({
        "combo_id": grid["combo_id"].to_numpy(np.int32),
        "threshold": grid["threshold"].to_numpy(np.float64),
        "window": grid["window"].to_numpy(np.float64),
        "min_gap_s": grid["min_gap_s"].to_numpy(np.float64),
        "tolerance_s": tol_s, "tolerance_samples": np.int64(tol), "policy": policy,
        "n_events": np.int64(n_ev), "n_detections": n_det.astype(np.int64),
        "tp": tp, "fp": fp, "fn": fn.astype(np.int64),
        "precision": precision, "recall": recall, "f1": f1,
        "mean_delay_s": mean_d / fs, "median_delay_s": median_d / fs,
        "f1_chance": chance, "f1_lift": f1 - chance, "delay_penalised_f1": dpf1,
        "false_alarms_per_hour": fp / (duration_s / 3600.0),
        "episode_recall": ep_recall, "missed_detection_rate": 1.0 - ep_recall,
        "mttd_s": mttd_s, "mtfa_s": mtfa_s, "mtr": mtr,
    })


def read_events(path) -> tuple[np.ndarray, dict]:
    """Event samples and metadata (needs ``fs`` and ``n_samples``) of an events Parquet file."""
    meta = read_metadata(path)
    for key in ("fs", "n_samples"):
        if key not in meta:
            raise InputError(path, f"metadata lacks '{key}'")
    events = pd.read_parquet(path, columns=["sample"])["sample"].to_numpy()
    if events.dtype.kind not in "iu" and len(events):
        raise InputError(path, f"column 'sample' must be integer, got {events.dtype}")
    return events.astype(np.int64), meta


def score_file(detections_path, events_path, evaluation: dict) -> pd.DataFrame:
    """:func:`score_detections` of a detections Parquet file against an events Parquet file."""
    events, ev_meta = read_events(events_path)
    det_meta = read_metadata(detections_path)
    detections = pd.read_parquet(detections_path, columns=["combo_id", "sample"])
    return score_detections(detections, det_meta, events, ev_meta, evaluation, source=Path(detections_path))
