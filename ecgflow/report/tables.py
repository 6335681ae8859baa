"""Aggregated report tables built from the per-record metrics tables.

Every summary counts every record: pooled precision, recall and F1 (summed TP, FP, FN) and false
alarms per hour run over all records, event-free ones included, and false alarms per hour on the
event-free records are reported on their own. Per-record means and spreads of F1, precision and
recall run over the records with at least one event (on an event-free record every F1 is 0).
Choices among combinations maximise the pooled F1 over all records (so false alarms on event-free
records count against a combination); see :mod:`ecgflow.report.study` for the leave-one-record-out
machinery, ties and rounding. Standard deviations are sample standard deviations (ddof=1).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import InputError
from ..evaluation.metrics import chance_f1, precision_recall_f1
from ..parquet import parquet_parts, write_parquet
from .study import (
    COMBO_COLUMNS, HELD_OUT_KEYS, STUDY_COLUMNS, choose_insample, choose_loro, cpsc2021_table, each_group, first_max,
    held_out, stack, study_from_runs,
)

RUN_KEYS = ["detector", "stream", "tolerance_s", "policy", "timing"]
ORDER = ["detector", "stream", "record", "combo_id", "tolerance_s", "policy", "timing"]
SPLIT_BUFFER_BYTES = 256 << 20  # rows held by split_metrics before it writes them out
PART_KEYS = ["detector", "stream", "tolerance_s", "policy"]  # the report tables' parts (see write_report_tables)
STRING_COLUMNS = ["dataset", "record", "detector", "stream", "threshold_name", "window_name", "policy", "timing"]


def read_metrics(paths, columns=None) -> pa.Table:
    """Per-record metrics tables as one Arrow table (string columns dictionary-encoded), rows ordered
    by detector, stream, record, combo, tolerance, policy, timing whatever the order of ``paths``;
    ``columns``: the columns to read where the tables have them (every column of :data:`ORDER` is read).

    Memory: the sort keys are integer codes (no Python strings), and the rows are reordered one column
    at a time, so the peak is about one copy of the table plus one column."""
    if not paths:
        raise InputError("metrics", "no metrics tables to combine")
    tables = []
    for p in paths:
        names = _checked_schema(p).names
        read = names if columns is None else [c for c in names if c in {*columns, *ORDER}]
        tables.append(pq.read_table(p, columns=read, read_dictionary=[c for c in STRING_COLUMNS if c in read]))
    table = pa.concat_tables(tables, promote_options="permissive").replace_schema_metadata(None)
    del tables
    order = pa.array(np.lexsort([_sort_codes(table[c]) for c in reversed(ORDER)]))
    names, columns = table.column_names, table.columns
    del table
    for i, name in enumerate(names):
        column = columns[i].take(order)
        if name in STRING_COLUMNS:  # one dictionary per column, in order of first appearance in the sorted rows
            column = pc.dictionary_encode(column.cast(pa.string()).combine_chunks())
        columns[i] = column
    return pa.table(columns, names=names)


def _checked_schema(path) -> pa.Schema:
    """The schema (without metadata) of a metrics table, which must hold every column of :data:`ORDER`."""
    schema = pq.read_schema(path).remove_metadata()
    missing = [c for c in ORDER if c not in schema.names]
    if missing:
        raise InputError(path, f"missing column(s) {missing}")
    return schema


def split_metrics(paths, folder) -> dict[tuple, Path]:
    """One pass over the per-record metrics tables ``paths``: the rows of each :data:`PART_KEYS` value
    (detector, stream, tolerance, policy) go to a Parquet file of their own in ``folder``, all of one
    schema (the tables' columns, missing ones null). Returns ``{key: file}``."""
    if not paths:
        raise InputError("metrics", "no metrics tables to combine")
    schema = pa.unify_schemas([_checked_schema(p) for p in paths], promote_options="permissive")
    for name in STRING_COLUMNS:
        if name in schema.names:
            schema = schema.set(schema.get_field_index(name), pa.field(name, pa.dictionary(pa.int32(), pa.string())))
    strings = [c for c in STRING_COLUMNS if c in schema.names]
    writers, pending, size = {}, {}, 0

    def flush():
        for key, tables in pending.items():
            if key not in writers:
                path = Path(folder) / f"{len(writers)}.parquet"
                # temporary files: no statistics, dictionaries for the string columns only (fast writes)
                writers[key] = (path, pq.ParquetWriter(path, schema, write_statistics=False, use_dictionary=strings))
            writers[key][1].write_table(pa.concat_tables(tables))
        pending.clear()

    try:
        for p in paths:
            table = pq.read_table(p, read_dictionary=strings)
            table = pa.table([table[f.name].cast(f.type) if f.name in table.column_names
                              else pa.nulls(len(table), f.type) for f in schema], schema=schema)
            keys = table.select(PART_KEYS).to_pandas()  # string columns as categoricals: no Python strings per row
            groups = keys.groupby(PART_KEYS, sort=False, observed=True).indices
            table = table.take(np.concatenate(list(groups.values())))  # one take, then a zero-copy slice per key
            start = 0
            for key, rows in groups.items():
                pending.setdefault(key, []).append(table.slice(start, len(rows)))
                start += len(rows)
            size += table.nbytes
            if size > SPLIT_BUFFER_BYTES:  # a few large row groups per file, not one per record
                flush()
                size = 0
        flush()
    finally:
        for _, writer in writers.values():
            writer.close()
    return {key: path for key, (path, _) in writers.items()}


def _sort_codes(column: pa.ChunkedArray) -> np.ndarray:
    """Integers that sort as the column's values do (a dictionary column by its strings)."""
    if not pa.types.is_dictionary(column.type):
        return column.to_numpy()
    column = column.unify_dictionaries()
    if not column.num_chunks:
        return np.zeros(0, np.int64)
    values = column.chunk(0).dictionary.to_numpy(zero_copy_only=False).astype(str)
    rank = np.empty(len(values), np.int64)
    rank[np.argsort(values, kind="stable")] = np.arange(len(values))
    return np.concatenate([rank[chunk.indices.to_numpy(zero_copy_only=False)] for chunk in column.chunks])


def metrics_frame(table: pa.Table) -> pd.DataFrame:
    """:func:`read_metrics`' table as a DataFrame, string columns as categoricals in sorted order
    (memory; sorting and grouping then follow the values, not the files' order). The table's buffers
    are released as they are converted: it cannot be used afterwards."""
    out = table.to_pandas(split_blocks=True, self_destruct=True)
    for c in STRING_COLUMNS:
        if c in out.columns:
            col = out[c] if isinstance(out[c].dtype, pd.CategoricalDtype) else out[c].astype("category")
            out[c] = col.cat.reorder_categories(sorted(col.cat.categories))
    return out


def _plain_strings(table: pd.DataFrame) -> pd.DataFrame:
    """Summary tables carry plain string columns (no categoricals)."""
    for c in STRING_COLUMNS:
        if c in table.columns and isinstance(table[c].dtype, pd.CategoricalDtype):
            table[c] = table[c].astype(str)
    return table


def grid_summary(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per detector, stream, combination, tolerance, policy and timing:

    - over every record: ``n_records``, ``n_event_free_records``, summed ``n_events``, ``tp``, ``fp``,
      ``fn``; ``pooled_precision``, ``pooled_recall``, ``pooled_f1`` and ``pooled_f1_chance`` (from the
      placebo's summed mean TP) with ``pooled_f1_lift``; ``mean_delay_s`` over every match;
      ``false_alarms_per_hour`` and ``false_alarms_per_hour_event_free`` (NaN without such records);
    - over records with events: ``f1``, ``precision``, ``recall`` ``_mean``/``_std``/``_median``,
      ``f1_chance_mean``, ``f1_lift_mean``, ``delay_penalised_f1_mean``, ``episode_recall_mean``.
    """
    keys = ["detector", "stream", "combo_id", "tolerance_s", "policy", "timing"]
    cols = [*keys, *COMBO_COLUMNS, "record", "n_events", "tp", "fp", "fn", "tp_chance", "n_detections", "duration_h"]
    m = metrics[cols].assign(
        _delay_sum=metrics["mean_delay_s"].fillna(0.0) * metrics["tp"],
        _free=(metrics["n_events"] == 0).astype(np.int64),
        _free_fp=np.where(metrics["n_events"] == 0, metrics["fp"], 0),
        _free_h=np.where(metrics["n_events"] == 0, metrics["duration_h"], 0.0),
    )
    g = m.groupby(keys, sort=True, observed=True)
    out = g.agg(
        **{c: (c, "first") for c in COMBO_COLUMNS}, n_records=("record", "size"), n_event_free_records=("_free", "sum"),
        n_events=("n_events", "sum"), tp=("tp", "sum"), fp=("fp", "sum"), fn=("fn", "sum"),
        tp_chance=("tp_chance", "sum"), n_detections=("n_detections", "sum"), _delay_sum=("_delay_sum", "sum"),
        _hours=("duration_h", "sum"), _free_fp=("_free_fp", "sum"), _free_h=("_free_h", "sum"),
    ).reset_index()
    del m, g  # released before the per-record statistics copy their columns
    per_rec_cols = ["f1", "precision", "recall", "f1_chance", "f1_lift", "delay_penalised_f1", "episode_recall"]
    ev = metrics.loc[metrics["n_events"] > 0, [*keys, *per_rec_cols]].groupby(keys, sort=True, observed=True)
    stats = {f"{col}_{fn}": (col, fn) for col in ("f1", "precision", "recall") for fn in ("mean", "std", "median")}
    per_rec = ev.agg(**stats, f1_chance_mean=("f1_chance", "mean"), f1_lift_mean=("f1_lift", "mean"),
                     delay_penalised_f1_mean=("delay_penalised_f1", "mean"),
                     episode_recall_mean=("episode_recall", "mean")).reset_index()
    out = out.merge(per_rec, on=keys, how="left", sort=False)
    p, r, f1 = precision_recall_f1(out["tp"], out["fp"], out["fn"])
    out["pooled_precision"], out["pooled_recall"], out["pooled_f1"] = p, r, f1
    out["pooled_f1_chance"] = chance_f1(out["tp_chance"], out["n_detections"], out["n_events"])
    out["pooled_f1_lift"] = out["pooled_f1"] - out["pooled_f1_chance"]
    out["mean_delay_s"] = np.where(out["tp"] > 0, out["_delay_sum"] / out["tp"].clip(lower=1), np.nan)
    out["false_alarms_per_hour"] = out["fp"] / out["_hours"]
    with np.errstate(divide="ignore", invalid="ignore"):
        free_fa = np.where(out["_free_h"] > 0, out["_free_fp"] / out["_free_h"], np.nan)
    out["false_alarms_per_hour_event_free"] = free_fa
    return _plain_strings(out.drop(columns=["_delay_sum", "_hours", "_free_fp", "_free_h"]))


def _run_row(s) -> dict:
    """In-sample, oracle and LORO figures of one run's stack (candidates: its combinations)."""
    v, with_ev = s.values, s.n_events > 0
    best = choose_insample(s)
    insample = held_out(s, np.full(len(s.records), best))
    rows = np.flatnonzero(with_ev)
    oracle = first_max(v["f1"][rows])
    loro = held_out(s, choose_loro(s))
    return {
        "n_records": len(s.records), "n_event_free_records": int((~with_ev).sum()), "n_combos": len(s.cands),
        "best_combo_id": int(s.cands["combo_id"].iloc[best]),
        **{("best_" + c if c in ("threshold", "window", "min_gap_s") else c): s.cands[c].iloc[best]
           for c in COMBO_COLUMNS},
        **{f"insample_{k}": insample[k] for k in ("pooled_f1", "pooled_f1_chance", "f1_mean", "f1_chance",
                                                   "false_alarms_per_hour", "false_alarms_per_hour_event_free")},
        "oracle_f1_mean": float(v["f1"][rows, oracle].mean()) if len(rows) else np.nan,
        "oracle_f1_chance": float(v["f1_chance"][rows, oracle].mean()) if len(rows) else np.nan,
        **{f"loro_{k}": loro[k] for k in HELD_OUT_KEYS}, "loro_n_distinct": loro["n_distinct"],
    }


def best_configs(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per detector, stream, tolerance, policy and timing (every record counts):

    - ``best_*`` / ``insample_*``: the combination with the best pooled F1 over all records, chosen and
      scored on the same records (optimistic), with its pooled and mean chance F1 and false alarms;
    - ``oracle_*``: mean over records with events of each record's best F1 across combinations (and
      the mean chance F1 of those choices): an upper bound, not a result;
    - ``loro_*``: leave-one-record-out: for each record, the combination with the best pooled F1 on
      the other records, scored on the held-out record (summaries as in :mod:`ecgflow.report.study`:
      mean/std F1 over records with events and its chance, pooled F1 and its chance, delays, false
      alarms per hour), and how many distinct combinations the folds chose.
    """
    return _best_table(list(_best_rows(metrics)))


def _best_rows(metrics: pd.DataFrame):
    """:func:`best_configs`' rows, one dict per run of ``metrics``."""
    for key, group in each_group(metrics, RUN_KEYS):
        s = stack(group, ["combo_id"])
        if not s.cands.empty:
            yield {**dict(zip(RUN_KEYS, key)), **_run_row(s)}


def _best_table(rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(rows)
    if not out.empty:
        out["insample_f1_lift"] = out["insample_f1_mean"] - out["insample_f1_chance"]
        out["insample_pooled_f1_lift"] = out["insample_pooled_f1"] - out["insample_pooled_f1_chance"]
    return out


def write_report_tables(metric_paths, outputs: dict, dataset: str, config_hash: str) -> None:
    """Read per-record metrics tables and write ``outputs`` (keys ``detection_metrics``,
    ``grid_summary``, ``best_configs``, ``study``, and optionally ``cpsc2021_score``: Parquet paths)
    with dataset and config hash as metadata.

    Memory: the tables are first split into temporary files (:func:`split_metrics`, under ``TMPDIR``);
    the combined table, the grid summary and the best configurations are then built a (detector,
    stream) pair at a time, and the study a (tolerance, policy) at a time from the columns it needs,
    so the peak follows the largest of these parts rather than all the rows."""
    meta = {"dataset": dataset, "config_hash": config_hash}
    with tempfile.TemporaryDirectory(prefix="ecgflow-report-") as tmp:
        parts = split_metrics(list(metric_paths), tmp)
        by_pair, by_run = {}, {}
        for (detector, stream, tol, policy), path in sorted(parts.items()):
            by_pair.setdefault((detector, stream), []).append(path)
            by_run.setdefault((tol, policy), []).append(path)
        summaries, best_rows = [], []
        schema = pq.read_schema(next(iter(parts.values()))).remove_metadata()
        with parquet_parts(outputs["detection_metrics"], schema, meta) as append:
            for paths in by_pair.values():
                table = read_metrics(paths)
                append(table)
                metrics = metrics_frame(table)
                del table
                summaries.append(grid_summary(metrics))
                best_rows.extend(_best_rows(metrics))
                del metrics
        write_parquet(pd.concat(summaries, ignore_index=True), outputs["grid_summary"], meta)
        write_parquet(_best_table(best_rows), outputs["best_configs"], meta)

        def run(key):
            return metrics_frame(read_metrics(by_run[key], columns=STUDY_COLUMNS))

        write_parquet(study_from_runs(((key, run(key)) for key in sorted(by_run)), dataset), outputs["study"], meta)
        if "cpsc2021_score" in outputs:
            write_parquet(cpsc2021_table(run(min(by_run)), dataset), outputs["cpsc2021_score"], meta)
