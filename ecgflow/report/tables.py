"""Aggregated report tables built from the per-record metrics tables.

Every summary counts every record: pooled precision, recall and F1 (summed TP, FP, FN) and false
alarms per hour run over all records, event-free ones included, and false alarms per hour on the
event-free records are reported on their own. Per-record means and spreads of F1, precision and
recall run over the records with at least one event (on an event-free record every F1 is 0).
Choices among combinations maximise the pooled F1 over all records (so false alarms on event-free
records count against a combination); see :mod:`ecgflow.report.study` for the leave-one-record-out
machinery, ties and rounding. Standard deviations are sample standard deviations (ddof=1).

:func:`grid_summary`, :func:`best_configs` and :func:`ecgflow.report.study.study_table` define the
tables on a frame of all metrics rows (ordered by record, then candidate: :data:`ORDER`).
:func:`write_report_tables` builds the same tables without holding all rows: DuckDB reads the
per-record Parquet files and sorts the rows by (detector, stream, tolerance, policy), record and
candidate (a sort per detector and stream), spilling to disk beyond its memory limit (environment
variables ``ECGFLOW_MEMORY_LIMIT`` and ``ECGFLOW_TMPDIR``), and the tables are built from that stream
a (detector, stream, tolerance, policy) part at a time; see :func:`write_report_tables`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import EcgflowError, InputError
from ..evaluation.metrics import chance_f1, precision_recall_f1
from ..evaluation.scoring import CPSC_COLUMNS
from ..parquet import parquet_parts, write_parquet
from .study import (
    CANDIDATE_KEYS, COMBO_COLUMNS, HELD_OUT_KEYS, STUDY_TIMINGS, VALUE_COLUMNS, Stack, choose_insample, choose_loro,
    cpsc2021_from_stacks, cpsc_mean, each_group, first_max, held_out, stack, study_row,
)

TMPDIR_ENV = "ECGFLOW_TMPDIR"  # folder of the engine's spill files and the study's arrays (default: TMPDIR)
MEMORY_LIMIT_ENV = "ECGFLOW_MEMORY_LIMIT"  # the engine's memory limit, DuckDB syntax ("1GB", "500MB")
DEFAULT_MEMORY_LIMIT = "512MB"

RUN_KEYS = ["detector", "stream", "tolerance_s", "policy", "timing"]
ORDER = ["detector", "stream", "record", "combo_id", "tolerance_s", "policy", "timing"]  # the whole frame's rows
COMBINED_ORDER = ["detector", "stream", "tolerance_s", "policy", "record", "combo_id", "timing"]  # detection_metrics
SUMMARY_KEYS = ["detector", "stream", "combo_id", "tolerance_s", "policy", "timing"]  # grid_summary's rows
CAND_ORDER = ["tolerance_s", "policy", "detector", "stream", "combo_id", "timing"]  # candidate ids (cid)
CHUNK_ORDER = ["detector", "stream", "tolerance_s", "policy"]  # the parts of the engine's stream (pid)
STRING_COLUMNS = ["dataset", "record", "detector", "stream", "threshold_name", "window_name", "policy", "timing"]
# the columns the tables read (each must be in every metrics table), and those that may not be null
STREAM_COLUMNS = ["n_events", "n_detections", "tp", "fp", "fn", "tp_chance", "duration_h", "mean_delay_s",
                  "median_delay_s", "f1", "precision", "recall", "f1_chance", "f1_lift", "delay_penalised_f1",
                  "episode_recall"]
REQUIRED = [*ORDER, *COMBO_COLUMNS, *STREAM_COLUMNS]
NOT_NULL = [*ORDER, "n_events", "n_detections", "tp", "fp", "fn", "duration_h"]
BATCH_ROWS = 1 << 16  # rows per batch read from the engine, and per row group of detection_metrics
SUMMARY_ROWS = 1 << 17  # rows per grid_summary call (whole candidates; several small parts make one call)


def _checked_schema(path) -> pa.Schema:
    """The schema (without metadata) of a metrics table, which must hold every column of :data:`REQUIRED`."""
    schema = pq.read_schema(path).remove_metadata()
    missing = [c for c in REQUIRED if c not in schema.names]
    if missing:
        raise InputError(path, f"missing column(s) {missing}")
    return schema


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

    Sums and means add each group's rows in frame order, and how depends on the whole frame's order:
    pandas adds the groups of a frame sorted by group with ``ufunc.reduceat`` (when the column has no
    NaN), otherwise with Kahan summation, which can differ in the last bit. The report's frames, as
    the whole frame of :func:`write_report_tables`, are ordered by record, then candidate (Kahan
    summation in record order; one record: one row per group, the same either way).
    """
    keys = SUMMARY_KEYS
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
    return _best_table([row for _, row in _best_rows(metrics)])


def _best_rows(metrics: pd.DataFrame):
    """``(run key, row)`` of :func:`best_configs`, one per run of ``metrics``."""
    for key, group in each_group(metrics, RUN_KEYS):
        s = stack(group, ["combo_id"])
        if not s.cands.empty:
            yield key, {**dict(zip(RUN_KEYS, key)), **_run_row(s)}


def _best_table(rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(rows)
    if not out.empty:
        out["insample_f1_lift"] = out["insample_f1_mean"] - out["insample_f1_chance"]
        out["insample_pooled_f1_lift"] = out["insample_pooled_f1"] - out["insample_pooled_f1_chance"]
    return out


# --- the engine ---------------------------------------------------------------------------------


def engine_settings() -> tuple[Path, str]:
    """The folder for the engine's temporary files (``ECGFLOW_TMPDIR``, else ``TMPDIR``, else the
    system's) and its memory limit (``ECGFLOW_MEMORY_LIMIT``, DuckDB syntax, default 512MB)."""
    folder = os.environ.get(TMPDIR_ENV) or tempfile.gettempdir()
    if not Path(folder).is_dir():
        raise EcgflowError(f"environment variable {TMPDIR_ENV}: {folder} is not a folder")
    return Path(folder), os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT


def _connect(folder: Path, memory_limit: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that spills to ``folder``, on the CPUs this process may use."""
    try:
        con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": str(folder),
                                     "threads": _cpus(), "preserve_insertion_order": False})
    except duckdb.Error as e:
        raise EcgflowError(f"environment variable {MEMORY_LIMIT_ENV}={memory_limit!r}: {e}") from None
    con.execute("SET enable_progress_bar = false")  # no progress bars in the job's log
    return con


def _cpus() -> int:
    """CPUs this process may run on (a SLURM job's allocation, not the node's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _q(name: str) -> str:
    """A quoted SQL identifier (``window`` is a keyword)."""
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    """A quoted SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def _cols(names) -> str:
    return ", ".join(_q(c) for c in names)


def _schemas(paths: list[str]) -> pa.Schema:
    """The combined table's schema: every table's columns (permissive type promotion; string columns
    dictionary-encoded), after checking that every table has the columns the tables read."""
    schema = pa.unify_schemas([_checked_schema(p) for p in paths], promote_options="permissive")
    for name in STRING_COLUMNS:
        if name in schema.names:
            schema = schema.set(schema.get_field_index(name), pa.field(name, pa.dictionary(pa.int32(), pa.string())))
    return schema


def _dimensions(con) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Candidates (one per tolerance, policy, detector, stream, combination and timing, numbered ``cid``
    in that order; ``pid`` numbers their (detector, stream, tolerance, policy) in that order) and records
    (numbered ``rid`` in sorted order, with their event count and duration), as engine tables ``cands``
    and ``recs`` and as frames. Raises :class:`InputError` (naming a file) on nulls in
    :data:`NOT_NULL` columns or a record whose rows disagree on its event count or duration."""
    nulls = ", ".join(f"count(*) - count({_q(c)}) AS {_q('null_' + c)}" for c in NOT_NULL)
    checks = con.sql(f"SELECT filename, record, min(n_events) AS ne_min, max(n_events) AS ne_max, "
                     f"min(duration_h) AS h_min, max(duration_h) AS h_max, {nulls} "
                     f"FROM metrics GROUP BY filename, record ORDER BY filename, record").df()
    for row in checks.itertuples(index=False):
        bad = [c for c in NOT_NULL if getattr(row, "null_" + c)]
        if bad:
            raise InputError(row.filename, f"null values in column(s) {bad}")
    per_rec = checks.groupby("record", sort=True).agg(ne_min=("ne_min", "min"), ne_max=("ne_max", "max"),
                                                      h_min=("h_min", "min"), h_max=("h_max", "max"),
                                                      filename=("filename", "first"))
    for rec, row in per_rec.iterrows():
        if row["ne_min"] != row["ne_max"] or row["h_min"] != row["h_max"]:
            raise InputError(row["filename"], f"record {rec}: n_events or duration_h differs between its rows")
    con.sql(f"CREATE TEMP TABLE cands AS SELECT row_number() OVER (ORDER BY {_cols(CAND_ORDER)}) - 1 AS cid, "
            f"dense_rank() OVER (ORDER BY {_cols(CHUNK_ORDER)}) - 1 AS pid, * "
            f"FROM (SELECT {_cols(CAND_ORDER)}, count(*) AS n_rows FROM metrics GROUP BY ALL)")
    cands = con.sql(f"SELECT cid, pid, n_rows, {_cols(CAND_ORDER)} FROM cands ORDER BY cid").df()
    for c in ("detector", "stream", "policy", "timing"):
        cands[c] = pd.Categorical(cands[c].to_numpy(object), categories=sorted(set(cands[c].astype(str))))
    recs = pd.DataFrame({"record": per_rec.index.astype(str), "rid": np.arange(len(per_rec)),
                         "n_events": per_rec["ne_max"].to_numpy(np.float64),
                         "duration_h": per_rec["h_max"].to_numpy(np.float64)})
    con.register("recs_frame", recs[["record", "rid"]])
    con.sql("CREATE TEMP TABLE recs AS SELECT * FROM recs_frame")
    con.unregister("recs_frame")
    return cands, recs


def _coded_rows(columns: list[str], where: str = "", order: str = "") -> str:
    """SQL: pair id, candidate id, record id and ``columns`` of the metrics rows."""
    return (f"SELECT c.pid, c.cid, r.rid, {', '.join('m.' + _q(c) for c in columns)} FROM metrics m "
            f"JOIN cands c USING ({_cols(CAND_ORDER)}) JOIN recs r USING (record) {where} {order}")


class _Combined:
    """detection_metrics written batch by batch from the engine's stream (:func:`_stream_tables`): the
    key columns rebuilt from the candidate and record ids, every column as ``schema`` has it."""

    def __init__(self, schema: pa.Schema, cands: pd.DataFrame, recs: pd.DataFrame):
        self.schema = schema
        self.dicts = {c: (cands[c].cat.codes.to_numpy(np.int32), pa.array(list(cands[c].cat.categories), pa.string()))
                      for c in ("detector", "stream", "policy", "timing")}
        self.dicts["record"] = (None, pa.array(recs["record"].tolist(), pa.string()))
        self.plain = {c: cands[c].to_numpy() for c in ("combo_id", "tolerance_s")}

    def table(self, batch: pa.RecordBatch) -> pa.Table:
        cid = batch.column("cid").to_numpy()
        columns = []
        for field in self.schema:
            if field.name in self.dicts:
                codes, dictionary = self.dicts[field.name]
                codes = batch.column("rid").to_numpy().astype(np.int32) if codes is None else codes[cid]
                column = pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), dictionary)
            elif field.name in self.plain:
                column = pa.array(self.plain[field.name][cid])
            else:
                column = batch.column(field.name)
            if pa.types.is_dictionary(field.type) and not pa.types.is_dictionary(column.type):
                column = pc.dictionary_encode(column.cast(pa.string()))
            elif column.type != field.type:
                column = column.cast(field.type)
            columns.append(column)
        return pa.Table.from_arrays(columns, schema=self.schema)


class _Parts:
    """The engine's stream (record batches ordered by ``pid``) cut into its (detector, stream, tolerance,
    policy) parts, each as numpy columns (preallocated: the part's row count is known), so that a part
    holds no more than the columns :data:`STREAM_COLUMNS` and :data:`~ecgflow.report.study.COMBO_COLUMNS`
    (strings as codes into :attr:`labels`) and the engine's batches are released as they are read."""

    def __init__(self, schema: pa.Schema, cands: pd.DataFrame):
        self.sizes = cands.groupby("pid")["n_rows"].sum().to_numpy()
        kinds = {c: schema.field(c).type for c in [*COMBO_COLUMNS, *STREAM_COLUMNS]}
        self.strings = [c for c, t in kinds.items() if pa.types.is_dictionary(t) or pa.types.is_string(t)
                        or pa.types.is_large_string(t)]
        self.dtypes = {c: np.int64 if pa.types.is_integer(t) and c in NOT_NULL else np.float64
                       for c, t in kinds.items() if c not in self.strings}
        self.labels = {c: [] for c in self.strings}  # code -> string
        self._codes = {c: {} for c in self.strings}  # string -> code

    def _new(self, pid: int) -> dict:
        n = int(self.sizes[pid])
        part = {"pid": pid, "n": 0, "cid": np.empty(n, np.int64), "rid": np.empty(n, np.int64)}
        part.update({c: np.empty(n, d) for c, d in self.dtypes.items()})
        part.update({c: np.empty(n, np.int32) for c in self.strings})
        return part

    def _fill(self, part: dict, batch: pa.RecordBatch) -> None:
        i, n = part["n"], batch.num_rows
        for c in ("cid", "rid", *self.dtypes):
            part[c][i:i + n] = batch.column(c).to_numpy(zero_copy_only=False)
        for c in self.strings:
            encoded = pc.dictionary_encode(batch.column(c).cast(pa.string()))
            codes = self._codes[c]
            for value in encoded.dictionary.to_pylist():
                if value not in codes:
                    codes[value] = len(codes)
                    self.labels[c].append(value)
            lut = np.array([codes[v] for v in encoded.dictionary.to_pylist()] + [-1], np.int32)
            part[c][i:i + n] = lut[encoded.indices.fill_null(len(lut) - 1).to_numpy()]
        part["n"] = i + n

    def __call__(self, batches):
        """``(pid, part)`` per part: ``part`` maps ``cid``, ``rid`` and the columns to numpy arrays."""
        part = None
        for batch in batches:
            pid = batch.column("pid").to_numpy()
            cuts = [0, *(np.flatnonzero(np.diff(pid)) + 1).tolist(), len(pid)]
            for a, b in zip(cuts[:-1], cuts[1:]):
                if part is None or part["pid"] != pid[a]:
                    if part is not None:
                        yield self._done(part)
                    part = self._new(int(pid[a]))
                self._fill(part, batch.slice(a, b - a))
        if part is not None:
            yield self._done(part)

    @staticmethod
    def _done(part: dict):
        if part["n"] != len(part["cid"]):
            raise RuntimeError("the engine's stream and its row counts disagree")  # cannot happen
        return part.pop("pid"), part


def _dense(cid: np.ndarray, rid: np.ndarray, columns: dict, c0: int, n_cands: int, n_records: int) -> dict:
    """``columns`` (arrays of the rows ``cid``, ``rid``; candidate ids ``c0`` to ``c0 + n_cands``) as
    (candidate x record) float arrays, NaN where a candidate has no row for a record."""
    out = {}
    for col, values in columns.items():
        arr = np.full((n_cands, n_records), np.nan)
        arr[cid - c0, rid] = np.asarray(values, np.float64)
        out[col] = arr
    return out


def _check_unique(part: dict, cands: pd.DataFrame, recs: pd.DataFrame) -> None:
    """Raise :class:`InputError` if a record has two rows for one candidate (a table given twice)."""
    key = part["rid"] * len(cands) + part["cid"]  # rows sorted by record, candidate
    dup = np.flatnonzero(np.diff(key) == 0)
    if len(dup):
        rid, cid = divmod(int(key[dup[0]]), len(cands))
        cand = {k: (v.item() if hasattr(v, "item") else v) for k, v in cands.iloc[cid][CAND_ORDER].items()}
        raise InputError("metrics", f"record {recs['record'].iloc[rid]} has more than one row for {cand}")


def _firsts(part: dict, parts: _Parts, firsts: dict) -> None:
    """Fill ``firsts`` (combination column -> values per candidate id) with each candidate's first
    non-null value of the column in ``part`` (rows ordered by record), as ``groupby.first`` takes it."""
    for c, out in firsts.items():
        values = part[c]
        valid = values >= 0 if c in parts.strings else ~np.isnan(values)
        ids, at = np.unique(part["cid"][valid], return_index=True)
        found = values[valid][at]
        out[ids] = np.array(parts.labels[c], object)[found] if c in parts.strings else found


def _frame(part: dict, rows, parts: _Parts, cands: pd.DataFrame, records: pd.CategoricalDtype) -> pd.DataFrame:
    """Rows ``rows`` (a slice or mask) of ``part`` as the metrics frame :func:`grid_summary` reads."""
    cid = part["cid"][rows]
    out = {}
    for c in SUMMARY_KEYS:
        col = cands[c]
        if isinstance(col.dtype, pd.CategoricalDtype):
            out[c] = pd.Categorical.from_codes(col.cat.codes.to_numpy()[cid], dtype=col.dtype)
        else:
            out[c] = col.to_numpy()[cid]
    out["record"] = pd.Categorical.from_codes(part["rid"][rows], dtype=records)
    for c in [*COMBO_COLUMNS, *STREAM_COLUMNS]:
        if c in parts.strings:
            labels = np.array([*parts.labels[c], None], object)  # code -1: null
            out[c] = pd.array(labels[part[c][rows]], dtype="str")
        else:
            out[c] = part[c][rows]
    return pd.DataFrame(out)


def _index(mask: np.ndarray):
    """Positions where ``mask`` holds, as a slice where they are evenly spaced (a view, no copy)."""
    idx = np.flatnonzero(mask)
    if len(idx) == len(mask):
        return slice(None)
    if len(idx) > 1 and (np.diff(idx) == idx[1] - idx[0]).all():
        return slice(int(idx[0]), int(idx[-1]) + 1, int(idx[1] - idx[0]))
    return idx


def _sub_stack(values: dict, cands: pd.DataFrame, recs: pd.DataFrame, cols, contiguous=False) -> Stack | None:
    """The :class:`~ecgflow.report.study.Stack` that :func:`~ecgflow.report.study.stack` builds from the
    rows of candidates ``cols`` (mask over ``cands``): ``values`` are (record x candidate) arrays over
    all records and ``cands``, NaN TP where a record has no row. ``None`` without rows. The arrays are
    views of ``values`` where they can be, or, with ``contiguous``, C-ordered copies as ``stack``'s are
    (sums over records of non-integer values then add in the same order)."""
    idx = _index(cols)
    tp = values["tp"][:, idx]
    present = ~np.isnan(tp)
    rows = present.any(axis=1)
    if not rows.any():
        return None
    ridx = _index(rows)
    keep = present[rows].all(axis=0)
    del present
    kidx = _index(keep)

    def pick(a):
        a = a[:, idx][ridx]
        a = a if isinstance(kidx, slice) and kidx == slice(None) else a[:, kidx]
        return np.ascontiguousarray(a) if contiguous else a

    sub = cands.loc[cols, CANDIDATE_KEYS + COMBO_COLUMNS].reset_index(drop=True)
    return Stack(sub[keep].reset_index(drop=True), recs["record"].to_numpy(object)[ridx],
                 recs["n_events"].to_numpy()[ridx], recs["duration_h"].to_numpy()[ridx],
                 {k: pick(v) for k, v in values.items()})


def _timing_stacks(values: dict, cands: pd.DataFrame, recs: pd.DataFrame, contiguous=False):
    """``(timing, stack or None)`` per study timing ("chosen": every candidate)."""
    for timing in STUDY_TIMINGS:
        cols = np.ones(len(cands), bool) if timing == "chosen" else (cands["timing"] == timing).to_numpy()
        yield timing, (_sub_stack(values, cands, recs, cols, contiguous) if cols.any() else None)


def _cpsc_stacks(con, cands: pd.DataFrame, recs: pd.DataFrame):
    """CPSC 2021 stacks per study timing: the rows of the first tolerance and policy with a CPSC 2021
    score, as :func:`~ecgflow.report.study.cpsc2021_table` stacks them (arrays in memory, C order)."""
    n_first = int(((cands["tolerance_s"] == cands["tolerance_s"].iloc[0])
                   & (cands["policy"] == cands["policy"].iloc[0])).sum())  # cids of the first tolerance and policy
    scored = f"WHERE m.cpsc_u IS NOT NULL AND NOT isnan(m.cpsc_u) AND c.cid < {n_first}"
    table = con.sql(_coded_rows([*VALUE_COLUMNS, *CPSC_COLUMNS], scored)).to_arrow_table()
    if not table.num_rows:
        return [(timing, None) for timing in STUDY_TIMINGS]
    used = np.unique(table["cid"].to_numpy())  # candidates with a score, in cid (= stack) order
    sub = cands.iloc[used].reset_index(drop=True)
    table = table.set_column(table.schema.get_field_index("cid"), "cid",
                             pa.array(np.searchsorted(used, table["cid"].to_numpy())))
    columns = {c: table[c].to_numpy(zero_copy_only=False) for c in [*VALUE_COLUMNS, *CPSC_COLUMNS]}
    dense = _dense(table["cid"].to_numpy(), table["rid"].to_numpy(), columns, 0, len(used), len(recs))
    values = {k: np.ascontiguousarray(v.T) for k, v in dense.items()}
    del dense, table
    return list(_timing_stacks(values, sub, recs, contiguous=True))


def write_report_tables(metric_paths, outputs: dict, dataset: str, config_hash: str) -> None:
    """Read per-record metrics tables and write ``outputs`` (keys ``detection_metrics``,
    ``grid_summary``, ``best_configs``, ``study``, and optionally ``cpsc2021_score``: Parquet paths)
    with dataset and config hash as metadata.

    Every table must have the columns the tables read (:data:`REQUIRED`; :class:`InputError` naming
    the file otherwise), without nulls in :data:`NOT_NULL`, and a record's rows must agree on its
    ``n_events`` and ``duration_h``; other columns missing from some tables are null in
    detection_metrics. The tables equal those of the frame of all rows ordered by record and
    candidate (:func:`grid_summary`, :func:`best_configs`, :func:`~ecgflow.report.study.study_table`,
    :func:`~ecgflow.report.study.cpsc2021_table`); detection_metrics holds every row, ordered by
    detector, stream, tolerance, policy, record, combination and timing.

    How: DuckDB reads the tables (memory limit ``ECGFLOW_MEMORY_LIMIT``, default 512MB, beyond which it
    spills to a temporary folder under ``ECGFLOW_TMPDIR``, default ``TMPDIR``) and sorts their rows,
    candidates and records as integer ids, by (detector, stream, tolerance, policy), record and
    candidate, a sort per (detector, stream) pair (so a sort holds one pair's rows; an engine out of
    memory is an :class:`EcgflowError` naming the setting). That stream is written out as
    detection_metrics, and each (detector, stream,
    tolerance, policy) part of it becomes the grid summary's frames (whole candidates, about
    :data:`SUMMARY_ROWS` rows each), the best configurations' (record x combination) arrays and a
    slice of its tolerance and policy's (record x candidate) arrays, written to files in the
    temporary folder. After the stream, each tolerance and policy's study runs on those files mapped
    into memory (read in full for TP and FP only). Peak memory: about the engine's limit plus one
    part, or the study of one tolerance and policy (about six (record x candidate) arrays), whichever
    is larger; temporary disk: the engine's spill plus 64 bytes per metrics row."""
    meta = {"dataset": dataset, "config_hash": config_hash}
    paths = sorted({str(p) for p in metric_paths})
    if not paths:
        raise InputError("metrics", "no metrics tables to combine")
    schema = _schemas(paths)
    folder, memory_limit = engine_settings()
    with tempfile.TemporaryDirectory(prefix="ecgflow-report-", dir=folder) as tmp:
        tmp = Path(tmp)
        con = _connect(tmp, memory_limit)
        try:
            files = "[" + ", ".join(_lit(p) for p in paths) + "]"
            con.sql(f"CREATE TEMP VIEW metrics AS SELECT * FROM read_parquet({files}, union_by_name = true, "
                    f"filename = true)")
            cands, recs = _dimensions(con)
            blocks = _stream_tables(con, schema, cands, recs, tmp, outputs, meta)
            cpsc = (_cpsc_stacks(con, cands, recs) if "cpsc_u" in schema.names
                    else [(timing, None) for timing in STUDY_TIMINGS])
        except duckdb.OutOfMemoryException:
            raise EcgflowError(f"the report tables of {len(paths)} metrics tables need more memory than "
                               f"{MEMORY_LIMIT_ENV}={memory_limit}: raise it (and the job's memory with it)") from None
        finally:
            con.close()
        cpsc_means = {timing: cpsc_mean(s) for timing, s in cpsc}
        if "cpsc2021_score" in outputs:
            write_parquet(cpsc2021_from_stacks(cpsc, dataset), outputs["cpsc2021_score"], meta)
        del cpsc
        rows = []
        for (tol, policy), block, files in blocks:
            values = {k: np.memmap(f, np.float64, "r", shape=(len(recs), len(block)), order="F")
                      for k, f in files.items()}
            for timing, s in _timing_stacks(values, block, recs):
                if s is not None:
                    rows.append(study_row(s, dataset, tol, policy, timing, cpsc_means[timing]))
            del values
            for f in files.values():
                f.unlink()
        write_parquet(pd.DataFrame(rows), outputs["study"], meta)


def _batches(con, sql: str):
    """The result of ``sql`` as Arrow record batches of :data:`BATCH_ROWS` rows."""
    yield from con.sql(sql).to_arrow_reader(BATCH_ROWS)


def _stream_tables(con, schema: pa.Schema, cands: pd.DataFrame, recs: pd.DataFrame, tmp: Path, outputs: dict,
                   meta: dict) -> list:
    """Write detection_metrics, grid_summary and best_configs from the engine's stream of coded rows,
    and each tolerance and policy's study arrays to files in ``tmp``; fill the combination columns of
    ``cands`` (first non-null value in record order). Returns ``[((tolerance, policy), candidates,
    {column: file})]``, each file the (record x candidate) array of a column in Fortran order.

    Each (detector, stream, tolerance, policy) part of the stream is ordered by record, then candidate,
    as in the frame of all rows ordered by record (so the grid summary adds the same numbers in the same
    way: see :func:`grid_summary`)."""
    n_rec = len(recs)
    records = pd.CategoricalDtype(recs["record"].tolist())
    spans = cands.groupby("pid")["cid"].agg(["min", "max"]).to_numpy()  # a part's candidates: consecutive ids
    block = (cands[["tolerance_s", "policy"]] != cands[["tolerance_s", "policy"]].shift()).any(axis=1).cumsum() - 1
    block_start = np.searchsorted(block.to_numpy(), np.arange(block.iloc[-1] + 1))
    combined = _Combined(schema, cands, recs)
    parts = _Parts(schema, cands)
    firsts = {c: np.full(len(cands), None, object) if c in parts.strings else np.full(len(cands), np.nan)
              for c in COMBO_COLUMNS}
    carried = [f.name for f in schema if f.name not in ORDER]
    summaries, pending, best, files, handles = [], [], [], {}, {}

    def summarise(adding: int = 0):
        """grid_summary of the pending frames, unless ``adding`` rows more stay within SUMMARY_ROWS."""
        if pending and (not adding or sum(len(f) for f in pending) + adding > SUMMARY_ROWS):
            frame = pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0]
            pending.clear()
            summaries.append(grid_summary(frame))

    with parquet_parts(outputs["detection_metrics"], schema, meta) as append:
        def stream():
            """The coded rows in (pid, record, candidate) order, a sort per (detector, stream) pair."""
            pairs = cands.sort_values("pid")[["detector", "stream"]].drop_duplicates()  # pid: pair first
            for detector, stream_name in pairs.itertuples(index=False):
                where = f"WHERE m.detector = {_lit(detector)} AND m.stream = {_lit(stream_name)}"
                for batch in _batches(con, _coded_rows(carried, where, "ORDER BY c.pid, r.rid, c.cid")):
                    append(combined.table(batch))
                    yield batch

        try:
            for pid, part in parts(stream()):
                _check_unique(part, cands, recs)
                c0, c1 = int(spans[pid, 0]), int(spans[pid, 1]) + 1
                _firsts(part, parts, firsts)
                # grid summary: whole candidates, a bounded number of rows at a time, in the stream's order
                n_rows = len(part["cid"])
                for a, b in _spans(c0, c1, -(-n_rows // SUMMARY_ROWS)):
                    rows = slice(None) if (a, b) == (c0, c1) else (part["cid"] >= a) & (part["cid"] < b)
                    summarise(adding=n_rows if isinstance(rows, slice) else int(rows.sum()))
                    pending.append(_frame(part, rows, parts, cands, records))
                # study: the part's (candidate x record) arrays, appended to its tolerance and policy's
                # files, are that block's (record x candidate) arrays in Fortran order
                dense = _dense(part["cid"], part["rid"], {k: part[k] for k in VALUE_COLUMNS}, c0, c1 - c0, n_rec)
                del part, rows
                b = int(block.iloc[c0])
                if b not in handles:
                    files[b] = {k: tmp / f"study{b}_{k}.f64" for k in VALUE_COLUMNS}
                    handles[b] = {k: open(f, "wb") for k, f in files[b].items()}
                if handles[b]["tp"].tell() != (c0 - block_start[b]) * n_rec * 8:
                    raise RuntimeError("the engine's stream skipped a candidate")  # cannot happen: ids from the rows
                for k, arr in dense.items():
                    arr.tofile(handles[b][k])
                # best configurations: one run per timing of the part
                pair = cands.iloc[c0:c1].assign(**{c: v[c0:c1] for c, v in firsts.items()}).reset_index(drop=True)
                for timing, s in _timing_stacks({k: arr.T for k, arr in dense.items()}, pair, recs):
                    if timing != "chosen" and s is not None and not s.cands.empty:
                        key = (str(pair["detector"].iloc[0]), str(pair["stream"].iloc[0]),
                               pair["tolerance_s"].iloc[0], str(pair["policy"].iloc[0]), timing)
                        best.append((key, {**dict(zip(RUN_KEYS, key)), **_run_row(s)}))
                del dense, s
            summarise()
        finally:
            for h in handles.values():
                for f in h.values():
                    f.close()
    summary = pd.concat(summaries, ignore_index=True).sort_values(SUMMARY_KEYS, kind="stable").reset_index(drop=True)
    write_parquet(summary, outputs["grid_summary"], meta)
    write_parquet(_best_table([row for _, row in sorted(best, key=lambda kr: kr[0])]), outputs["best_configs"], meta)
    for c, v in firsts.items():
        cands[c] = v
    return [((cands["tolerance_s"].iloc[block_start[b]], str(cands["policy"].iloc[block_start[b]])),
             cands[block == b].reset_index(drop=True), files[b]) for b in sorted(files)]


def _spans(c0: int, c1: int, n: int) -> list[tuple[int, int]]:
    """``[c0, c1)`` cut into ``n`` (at least one) consecutive spans of about equal length."""
    edges = np.linspace(c0, c1, max(1, min(n, c1 - c0)) + 1).round().astype(int)
    return list(zip(edges[:-1].tolist(), edges[1:].tolist()))
