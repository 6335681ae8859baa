"""A method chosen on one dataset, scored on another.

For each (tolerance, policy, timing) row of the source dataset's study table, the candidate its nested
leave-one-record-out choice picked most often (``picked_*``) is looked up in the target dataset's
per-record metrics: same detector, stream, timing (the candidate's own, for the "chosen" row),
tolerance, policy and combination *values* (threshold, window, min_gap_s and their names: combo ids
are per grid, and the two datasets' grids may differ). Its figures are pooled over the target's records
that scored it, as :func:`ecgflow.report.study.held_out` pools held-out picks (summed TP, FP, FN;
the placebo's summed mean TP; false alarms per hour over those records; delay over every match), and
set beside the target's own nested pooled F1 at the same tolerance, policy and timing. A candidate
the target did not score gets NaN figures and a ``note``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InputError
from ..parquet import write_parquet
from .study import COMBO_COLUMNS, STUDY_COLUMNS, held_out, stack

FIGURES = ["pooled_precision", "pooled_recall", "pooled_f1", "pooled_f1_chance", "false_alarms_per_hour",
           "mean_delay_s"]
TRANSFER_COLUMNS = ["source", "target", "tolerance_s", "policy", "timing", "candidate_timing", "detector", "stream",
                    *COMBO_COLUMNS, "n_records", "n_events", *FIGURES, "target_nested_pooled_f1", "note"]
PICK = {"detector": "picked_detector", "stream": "picked_stream", "candidate_timing": "picked_timing",
        **{c: f"picked_{c}" for c in COMBO_COLUMNS}}


def read_target_metrics(paths, pairs) -> tuple[pd.DataFrame, int]:
    """The rows of the (detector, stream) ``pairs`` in per-record metrics tables (only the columns the
    study reads; pyarrow filters, so other pairs are never loaded), and how many records the tables hold."""
    if not paths:
        raise InputError("metrics", "no metrics tables to read")
    detectors, streams = sorted({d for d, _ in pairs}), sorted({s for _, s in pairs})
    tables, records = [], set()
    for p in paths:
        names = pq.read_schema(p).names
        if "record" not in names:
            raise InputError(p, "missing column 'record'")
        records.update(pq.read_table(p, columns=["record"]).column("record").to_pylist())
        if not pairs:
            continue
        tables.append(pq.read_table(p, columns=[c for c in STUDY_COLUMNS if c in names],
                                    filters=[("detector", "in", detectors), ("stream", "in", streams)]))
    if not tables:
        return pd.DataFrame(columns=STUDY_COLUMNS), len(records)
    table = pa.concat_tables([t.replace_schema_metadata(None) for t in tables], promote_options="permissive")
    return table.to_pandas(), len(records)


def _candidate_rows(metrics: pd.DataFrame, tol: float, policy: str, pick: dict) -> tuple[pd.DataFrame, str]:
    """The target's rows of one picked candidate, and a note saying why there are none."""
    m = metrics[(metrics["detector"].astype(str) == pick["detector"])
                & (metrics["stream"].astype(str) == pick["stream"])]
    if m.empty:
        return m, f"the target has no {pick['detector']}/{pick['stream']} metrics"
    m = m[np.isclose(m["tolerance_s"].astype(float), tol) & (m["policy"].astype(str) == policy)]
    if m.empty:
        return m, f"the target did not score tolerance {tol:g} s with {policy} matching"
    m = m[m["timing"].astype(str) == pick["candidate_timing"]]
    for c in COMBO_COLUMNS:
        m = m[m[c].astype(str) == str(pick[c])] if c.endswith("_name") else m[m[c].astype(float) == float(pick[c])]
    if m.empty:
        combo = ", ".join(f"{pick[n]} {float(pick[v]):g}" for n, v in (("threshold_name", "threshold"),
                                                                          ("window_name", "window")))
        return m, (f"the target's {pick['detector']}/{pick['stream']} grid has no combination {combo}, "
                   f"min_gap {float(pick['min_gap_s']):g} s at {pick['candidate_timing']} times")
    return m, ""


def _target_nested(target_study: pd.DataFrame | None, tol: float, policy: str, timing: str) -> float:
    """The target study's nested pooled F1 at one tolerance, policy and timing (NaN without)."""
    if target_study is None or target_study.empty:
        return np.nan
    s = target_study
    row = s[np.isclose(s["tolerance_s"].astype(float), tol) & (s["policy"].astype(str) == policy)
            & (s["timing"].astype(str) == timing)]
    return float(row["loro_pooled_f1"].iloc[0]) if len(row) else np.nan


def transfer_table(source_study: pd.DataFrame, source: str, metrics_paths_or_frame, target: str,
                   target_study: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per (tolerance, policy, timing) of ``source_study``, its picked candidate scored on the target's
    per-record metrics (paths, or a frame with the :data:`~ecgflow.report.study.STUDY_COLUMNS`):
    :data:`TRANSFER_COLUMNS`, sorted by tolerance, policy, timing. See the module docstring."""
    picked = source_study[source_study["picked_detector"].notna()]
    pairs = sorted({(str(d), str(s)) for d, s in zip(picked["picked_detector"], picked["picked_stream"])})
    if isinstance(metrics_paths_or_frame, pd.DataFrame):
        metrics = metrics_paths_or_frame
        n_target = metrics["record"].nunique()
    else:
        metrics, n_target = read_target_metrics(list(metrics_paths_or_frame), pairs)
    rows = []
    order = source_study.sort_values(["tolerance_s", "policy", "timing"], kind="stable")
    for r in order.itertuples(index=False):
        r = r._asdict()
        tol, policy, timing = float(r["tolerance_s"]), str(r["policy"]), str(r["timing"])
        row = {"source": source, "target": target, "tolerance_s": tol, "policy": policy, "timing": timing,
               **{k: r.get(v) for k, v in PICK.items()}, "n_records": 0, "n_events": 0,
               **{k: np.nan for k in FIGURES},
               "target_nested_pooled_f1": _target_nested(target_study, tol, policy, timing)}
        if pd.isna(r.get("picked_detector")):
            rows.append({**row, "note": "the source study picked nothing here (a nested choice needs two records)"})
            continue
        pick = {k: row[k] for k in PICK}
        cand, note = _candidate_rows(metrics, tol, policy, pick)
        if cand.empty:
            rows.append({**row, "note": note})
            continue
        s = stack(cand, ["detector", "stream", "combo_id", "timing"])
        if len(s.cands) != 1:
            raise InputError(target, f"{len(s.cands)} combo ids share one combination of "
                                     f"{pick['detector']}/{pick['stream']}: expected one")
        h = held_out(s, np.zeros(len(s.records), np.int64))
        n = len(s.records)
        rows.append({**row, "n_records": n, "n_events": int(s.n_events.sum()), **{k: h[k] for k in FIGURES},
                     "note": "" if n == n_target else f"scored on {n} of the target's {n_target} records"})
    out = pd.DataFrame(rows, columns=TRANSFER_COLUMNS)
    return out.astype({"n_records": np.int64, "n_events": np.int64, **{k: np.float64 for k in FIGURES}})


def write_transfer_tables(source_study_paths: dict, metrics_paths, target_study_path, out,
                          target: str) -> pd.DataFrame:
    """:func:`transfer_table` of each source (``{source: its study table}``) on the target's per-record
    metrics tables, beside the target's own study (optional), as one table written to ``out``."""
    metrics_paths = list(metrics_paths)
    target_study = pd.read_parquet(target_study_path) if target_study_path is not None else None
    tables = [transfer_table(pd.read_parquet(path), source, metrics_paths, target, target_study)
              for source, path in sorted(source_study_paths.items())]
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=TRANSFER_COLUMNS)
    write_parquet(table, out, {"target": target, "source_studies": {k: str(v) for k, v in source_study_paths.items()},
                               "target_study": None if target_study_path is None else str(target_study_path),
                               "n_metrics_tables": len(metrics_paths)})
    return table
