"""Score detections (every grid combination) at every tolerance, policy and timing.

One row per combination x tolerance x policy x timing: ``timing`` "alarm" scores each detection at
the sample where the detector fired (``alarm_sample``), "change" at its own estimate of when the
regime changed (``change_sample``). The per-combination work runs in one compiled loop, and the
chance level is computed once per distinct detection count (it does not depend on the timing).
With a record's beats, two-state detectors are also given the CPSC 2021 score of their AF episodes
(:mod:`ecgflow.evaluation.cpsc2021`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

from ..detectors import TWO_STATE
from ..errors import ConfigError, InputError
from ..parquet import read_metadata
from . import cpsc2021
from .chance import chance_phases, chance_tp_many
from .drift import episode_counts
from .matching import POLICIES, event_tolerances, match
from .metrics import chance_f1, delay_penalised, precision_recall_f1

TIMINGS = ("alarm", "change")
METRIC_COLUMNS = [
    "dataset", "record", "detector", "stream", "combo_id", "threshold", "threshold_name", "window",
    "window_name", "min_gap_s", "tolerance_s", "tolerance_samples", "policy", "timing", "n_events",
    "n_detections", "tp", "fp", "fn", "precision", "recall", "f1", "mean_delay_s", "median_delay_s",
    "tp_chance", "f1_chance", "f1_lift", "delay_penalised_f1", "false_alarms_per_hour", "episode_recall",
    "missed_detection_rate", "mttd_s", "mtfa_s", "mtr", "duration_h",
]
CPSC_COLUMNS = ["cpsc_class_true", "cpsc_class_pred", "cpsc_ur", "cpsc_ue", "cpsc_u"]
DETECTION_COLUMNS = ("combo_id", "alarm_sample", "change_sample", "direction")


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


def evaluation_settings(evaluation: dict, dataset_tolerances) -> dict:
    """``evaluation`` config with a null ``tolerances_s`` replaced by the dataset's own default tolerances
    (its entry's ``tolerances_s``, :mod:`ecgflow.sources`)."""
    out = dict(evaluation)
    if out.get("tolerances_s") is None:
        out["tolerances_s"] = list(dataset_tolerances)
    return out


def _check_config(cfg: dict) -> None:
    for pol in cfg["policies"]:
        if pol not in POLICIES:
            raise ConfigError("evaluation.policies", f"unknown policy {pol!r}; expected one of {POLICIES}")
    tols = cfg.get("tolerances_s")
    if not tols:
        raise ConfigError("evaluation.tolerances_s",
                          "needs at least one tolerance (a null one is resolved by evaluation_settings)")
    if any(t < 0 for t in tols):
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


def _detection_arrays(detections: pd.DataFrame, combo_ids: np.ndarray, source) -> dict:
    """Validated columns, sorted by (combo_id, alarm_sample), and each grid combo's row offsets."""
    for col in DETECTION_COLUMNS:
        if col not in detections.columns:
            raise InputError(source, f"missing column '{col}'")
    cols = {c: detections[c].to_numpy() for c in DETECTION_COLUMNS}
    for c in ("alarm_sample", "change_sample", "direction"):
        if cols[c].dtype.kind not in "iu" and len(cols[c]):
            raise InputError(source, f"column '{c}' must be integer, got {cols[c].dtype}")
    cid = cols["combo_id"].astype(np.int64)
    alarm, change = cols["alarm_sample"].astype(np.int64), cols["change_sample"].astype(np.int64)
    if np.any(change > alarm) or np.any(change < 0):
        raise InputError(source, "change_sample must satisfy 0 <= change_sample <= alarm_sample")
    unknown = np.setdiff1d(cid, combo_ids)
    if unknown.size:
        raise InputError(source, f"combo_id {unknown[:5].tolist()} not in the metadata grid")
    direction = cols["direction"].astype(np.int8)
    if not _sorted_pairs(cid, alarm):  # a sweep's table is already in this order
        order = np.lexsort((alarm, cid))
        cid, alarm, change, direction = cid[order], alarm[order], change[order], direction[order]
    offsets = np.append(np.searchsorted(cid, combo_ids, side="left"), len(cid)).astype(np.int64)
    return {"combo_id": cid, "offsets": offsets, "alarm": alarm, "change": change, "direction": direction}


@njit(cache=True)
def _sorted_pairs(a, b):
    """Whether rows are sorted by (a, b)."""
    for k in range(1, a.shape[0]):
        if a[k] < a[k - 1] or (a[k] == a[k - 1] and b[k] < b[k - 1]):
            return False
    return True


@njit(cache=True)
def _sort_segments(samples, offsets):
    """A copy of ``samples`` with each segment ``offsets[c]:offsets[c + 1]`` sorted."""
    out = samples.copy()
    for c in range(offsets.shape[0] - 1):
        seg = out[offsets[c]:offsets[c + 1]]
        for k in range(1, seg.shape[0]):
            if seg[k] < seg[k - 1]:
                seg[:] = np.sort(seg)
                break
    return out


def _timing_samples(arrays: dict, timing: str) -> np.ndarray:
    """The detections' samples of ``timing``, sorted within each combo (change estimates need not
    follow the alarms' order)."""
    if timing == "alarm":
        return arrays["alarm"]
    return _sort_segments(arrays["change"], arrays["offsets"])


def score_detections(detections: pd.DataFrame, det_meta: dict, events: np.ndarray, ev_meta: dict,
                     evaluation: dict, source="detections", cpsc_truth: dict | None = None) -> pd.DataFrame:
    """Metrics table of one (detector, stream) run's detections against its record's events.

    ``detections``: columns combo_id, alarm_sample, change_sample, direction (any order).
    ``evaluation``: ``tolerances_s``, ``pre_tolerance_s``, ``policies``, ``chance_phases``, ``seed``,
    optionally ``adaptive_fraction``. Tolerances convert to samples with ``round(tol_s * fs)``
    (``fs`` from the events' metadata). Combos without detections (present only in the metadata
    grid) get rows too. Rows are ordered by combo_id, tolerance, policy as configured, then timing
    (alarm, change). ``cpsc_truth`` (from :func:`cpsc_truth`) adds the :data:`CPSC_COLUMNS` for a
    two-state detector (NaN for others).
    """
    _check_config(evaluation)
    fs = float(ev_meta["fs"])
    if "fs" in det_meta and not np.isclose(float(det_meta["fs"]), fs):
        raise InputError(source, f"fs {det_meta['fs']} differs from the events' fs {fs}")
    n_samples = int(ev_meta["n_samples"])
    duration_s = float(ev_meta.get("duration_s", n_samples / fs))
    grid = grid_frame(det_meta, source)
    combo_ids = grid["combo_id"].to_numpy(np.int64)
    arrays = _detection_arrays(detections, combo_ids, source)
    offsets = arrays["offsets"]
    samples = {t: _timing_samples(arrays, t) for t in TIMINGS}
    n_det = np.diff(offsets)
    ev = np.sort(np.asarray(events, np.int64))
    pre = np.int64(round(evaluation.get("pre_tolerance_s", 0) * fs))
    phases = chance_phases(evaluation["chance_phases"], evaluation["seed"])
    uniq_n, inv_n = np.unique(n_det, return_inverse=True)
    blocks = []
    for tol_s in sorted(float(t) for t in evaluation["tolerances_s"]):
        tol = int(round(tol_s * fs))
        tol_e = event_tolerances(ev, tol, evaluation.get("adaptive_fraction"), n_samples)
        for policy in evaluation["policies"]:
            optimal = policy == "optimal"
            tp_chance = chance_tp_many(uniq_n, n_samples, phases, ev, tol_e, pre, optimal)[inv_n]
            for timing in TIMINGS:
                counts = _score_combos(samples[timing], offsets, ev, tol_e, pre, optimal)
                blocks.append(_rows(grid, n_det, len(ev), tol, fs, duration_s, counts, tp_chance,
                                    {"tolerance_s": tol_s, "tolerance_samples": np.int64(tol), "policy": policy,
                                     "timing": timing}))
    out = pd.concat(blocks, ignore_index=True)
    # blocks come in (tolerance, policy, timing) order: a stable sort by combo_id keeps it within a combo
    out = out.sort_values("combo_id", kind="stable").reset_index(drop=True)
    out["duration_h"] = duration_s / 3600.0
    for key in ("dataset", "record", "detector", "stream", "threshold_name", "window_name"):
        out[key] = str(det_meta.get(key, ""))
    out = out[METRIC_COLUMNS]
    if cpsc_truth is not None:
        cpsc = _cpsc_scores(arrays, combo_ids, cpsc_truth, n_samples, str(det_meta.get("detector", "")) in TWO_STATE)
        out = out.merge(cpsc, on=["combo_id", "timing"], how="left", sort=False)
    return out


def _rows(grid, n_det, n_ev, tol, fs, duration_s, counts, tp_chance, run: dict) -> pd.DataFrame:
    """One block of metric rows (one tolerance, policy and timing), computed column-wise."""
    tp, mean_d, median_d, detected, first_sum, n_false = counts
    fp, fn = n_det - tp, n_ev - tp
    precision, recall, f1 = precision_recall_f1(tp, fp, fn)
    chance = chance_f1(tp_chance, n_det, n_ev)
    with np.errstate(divide="ignore", invalid="ignore"):
        ep_recall = detected / n_ev if n_ev else np.full(len(tp), np.nan)
        mttd_s = np.where(detected > 0, first_sum / np.maximum(detected, 1) / fs, np.nan)
        mtfa_s = np.where(n_false > 0, duration_s / np.maximum(n_false, 1), np.nan)
        mtr = np.where(mttd_s > 0, mtfa_s / mttd_s * ep_recall, np.nan)
    return pd.DataFrame({
        "combo_id": grid["combo_id"].to_numpy(np.int32),
        "threshold": grid["threshold"].to_numpy(np.float64),
        "window": grid["window"].to_numpy(np.float64),
        "min_gap_s": grid["min_gap_s"].to_numpy(np.float64), **run,
        "n_events": np.int64(n_ev), "n_detections": n_det.astype(np.int64),
        "tp": tp, "fp": fp, "fn": fn.astype(np.int64),
        "precision": precision, "recall": recall, "f1": f1,
        "mean_delay_s": mean_d / fs, "median_delay_s": median_d / fs,
        "tp_chance": tp_chance, "f1_chance": chance, "f1_lift": f1 - chance,
        "delay_penalised_f1": delay_penalised(f1, mean_d, tol),
        "false_alarms_per_hour": fp / (duration_s / 3600.0),
        "episode_recall": ep_recall, "missed_detection_rate": 1.0 - ep_recall,
        "mttd_s": mttd_s, "mtfa_s": mtfa_s, "mtr": mtr,
    })


def cpsc_truth(events: pd.DataFrame, ev_meta: dict, beats: np.ndarray, source="events") -> dict:
    """The true AF episodes of a record as :func:`score_detections` needs them for the CPSC 2021
    score: from the events table (sample, rhythm_from, rhythm_to), the rhythm at sample 0 (metadata
    ``initial_rhythm``, else the first event's ``rhythm_from``) and the record's beat samples."""
    n_samples = int(ev_meta["n_samples"])
    initial = ev_meta.get("initial_rhythm")
    if initial is None:
        if events.empty:
            raise InputError(source, "metadata lacks 'initial_rhythm' (the rhythm at sample 0), needed "
                                     "for the CPSC 2021 score of a record without rhythm changes")
        initial = str(events["rhythm_from"].iloc[0])
    episodes = cpsc2021.true_episodes(events["sample"].to_numpy(np.int64), events["rhythm_to"].astype(str).tolist(),
                                      str(initial), n_samples)
    onset, offset = cpsc2021.endpoint_ranges(np.sort(np.asarray(beats, np.int64)), episodes, n_samples)
    return {"class_true": cpsc2021.record_class(episodes, n_samples), "n_true": len(episodes),
            "onset": onset, "offset": offset}


def _cpsc_scores(arrays: dict, combo_ids: np.ndarray, truth: dict, n_samples: int, two_state: bool) -> pd.DataFrame:
    """CPSC 2021 columns per combo and timing: the episodes of each combo's detections (in the
    detector's order, endpoints at the timing's samples); NaN for a detector without states."""
    rows = []
    for c, cid in enumerate(combo_ids):
        lo, hi = arrays["offsets"][c], arrays["offsets"][c + 1]
        for timing in TIMINGS:
            if two_state:
                pred = cpsc2021.predicted_episodes(arrays[timing][lo:hi], arrays["direction"][lo:hi], n_samples)
                s = cpsc2021.record_score(pred, truth["class_true"], truth["n_true"], truth["onset"], truth["offset"])
                rows.append((cid, timing, s["class_true"], s["class_pred"], s["ur"], s["ue"], s["u"]))
            else:
                rows.append((cid, timing, truth["class_true"], -1, np.nan, np.nan, np.nan))
    out = pd.DataFrame(rows, columns=["combo_id", "timing", *CPSC_COLUMNS])
    return out.astype({"combo_id": np.int32, "cpsc_class_true": np.int8, "cpsc_class_pred": np.int8})


def read_event_table(path, columns=("sample",)) -> tuple[pd.DataFrame, dict]:
    """Events table (``columns``) and metadata (needs ``fs`` and ``n_samples``) of an events file."""
    meta = read_metadata(path)
    for key in ("fs", "n_samples"):
        if key not in meta:
            raise InputError(path, f"metadata lacks '{key}'")
    events = pd.read_parquet(path)
    missing = [c for c in columns if c not in events.columns]
    if missing:
        raise InputError(path, f"missing column(s) {missing}")
    if events["sample"].dtype.kind not in "iu" and len(events):
        raise InputError(path, f"column 'sample' must be integer, got {events['sample'].dtype}")
    return events[list(columns)], meta


def score_record_file(detections_path, events_path, evaluation: dict, beats_path=None) -> pd.DataFrame:
    """Metrics of every (detector, stream) pair of a per-record detections file (columns detector,
    stream, combo_id, alarm_sample, change_sample, direction; metadata ``runs``: each pair's sweep
    metadata) against the record's events, ordered by detector, stream, combo_id, tolerance_s,
    policy, timing. With ``beats_path`` (the record's beats table) the :data:`CPSC_COLUMNS` are added."""
    columns = ("sample", "rhythm_from", "rhythm_to") if beats_path is not None else ("sample",)
    events, ev_meta = read_event_table(events_path, columns)
    meta = read_metadata(detections_path)
    runs = meta.get("runs")
    if not isinstance(runs, dict) or not runs:
        raise InputError(detections_path, "metadata lacks 'runs' (the sweep metadata of each detector/stream)")
    truth = None
    if beats_path is not None:
        beats = pd.read_parquet(beats_path, columns=["sample"])["sample"].to_numpy(np.int64)
        truth = cpsc_truth(events, ev_meta, beats, source=events_path)
    table = pd.read_parquet(detections_path, columns=["detector", "stream", *DETECTION_COLUMNS])
    groups = dict(tuple(table.groupby(["detector", "stream"], sort=False))) if len(table) else {}
    empty = table.iloc[:0]
    parts = []
    for key in sorted(runs, key=lambda k: tuple(k.split("/", 1))):
        detector, _, stream = key.partition("/")
        det_meta = {**runs[key], "detector": detector, "stream": stream,
                    "dataset": meta.get("dataset", runs[key].get("dataset", "")),
                    "record": meta.get("record", runs[key].get("record", ""))}
        det = groups.get((detector, stream), empty)
        parts.append(score_detections(det, det_meta, events["sample"].to_numpy(np.int64), ev_meta, evaluation,
                                      source=f"{detections_path} ({key})", cpsc_truth=truth))
    return pd.concat(parts, ignore_index=True)
