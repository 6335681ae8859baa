"""Tidy tables of one record: signal (tidy), beats and ground-truth events, written as Parquet."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pyarrow as pa

from .beats import aami_classes
from .errors import InputError
from .parquet import write_parquet
from .record_read import UNLABELLED, RawRecord, read_record
from .sources import DatasetSpec


def signal_table(rec: RawRecord) -> pa.Table:
    """One row per sample: record, sample, time_s, ecg, rhythm, regime_change."""
    n = rec.n_samples
    sample = np.arange(n, dtype=np.int64)
    episode = rec.rhythms.per_sample(n)
    change = np.zeros(n, dtype=np.int8)
    change[rec.rhythms.starts[1:]] = 1
    labels = pa.array(rec.rhythms.labels, type=pa.string())
    return pa.table(
        {
            "record": pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int32), pa.array([rec.name])),
            "sample": sample,
            "time_s": sample / rec.fs,
            "ecg": rec.signal,
            "rhythm": pa.DictionaryArray.from_arrays(episode, labels),
            "regime_change": change,
        }
    )


def beats_table(rec: RawRecord) -> pd.DataFrame:
    """One row per beat annotation: sample, symbol, aami_class, rr_s (NaN for the first beat)."""
    rr = np.diff(rec.beat_samples, prepend=np.nan) / rec.fs
    return pd.DataFrame(
        {
            "sample": rec.beat_samples.astype(np.int64),
            "symbol": pd.array(rec.beat_symbols, dtype="string"),
            "aami_class": pd.array(aami_classes(rec.beat_symbols), dtype="string"),
            "rr_s": rr.astype(np.float64),
        }
    )


def events_table(rec: RawRecord) -> pd.DataFrame:
    """One row per regime change: sample, time_s, rhythm_from, rhythm_to."""
    samples, before, after = rec.rhythms.events()
    return pd.DataFrame(
        {
            "sample": samples.astype(np.int64),
            "time_s": samples / rec.fs,
            "rhythm_from": pd.array(before, dtype="string"),
            "rhythm_to": pd.array(after, dtype="string"),
        }
    )


def write_tidy(rec: RawRecord, dataset: str, beats_path, events_path, tidy_path=None) -> None:
    """Write the record's beats and events tables, and its signal table when it has a signal."""
    meta = {
        "dataset": dataset,
        "record": rec.name,
        "fs": rec.fs,
        "n_samples": rec.n_samples,
        "duration_s": rec.n_samples / rec.fs,
        "lead": rec.lead,
        "initial_rhythm": rec.rhythms.labels[0] or None,
        "beat_alignment": rec.beat_alignment,
        "sha256": rec.sha256,
    }
    if rec.beats_source != "annotations":  # keys added only where they say something: annotated records' tables stay as they were
        meta["beats_source"] = rec.beats_source
    if rec.qrs:
        meta["qrs_reference"] = rec.qrs
    if tidy_path is not None:
        if rec.signal is None:
            raise ValueError(f"record {rec.name} has no signal: it has no tidy signal table")
        write_parquet(signal_table(rec), tidy_path, meta)
    write_parquet(beats_table(rec), beats_path, meta)
    write_parquet(events_table(rec), events_path, meta)


def write_skipped(record: str, dataset: str, reason: str, outputs: dict) -> None:
    """Empty tables of a record left out of the run (``bad_records: skip``), with ``skipped`` (the
    reason) in their metadata, so that the run's later stages see why."""
    meta = {"dataset": dataset, "record": record, "skipped": reason}
    empty = RawRecord(record, 1.0, 0, np.zeros(0, np.float32), None, np.zeros(0, np.int64), np.zeros(0, object),
                      UNLABELLED, {})
    for kind, table in (("tidy", signal_table), ("beats", beats_table), ("events", events_table)):
        if kind in outputs:
            write_parquet(table(empty), outputs[kind], meta)


def tidy_record(reader: dict, raw, record: str, outputs: dict, *, dataset: str, max_flat_s: float = 10.0) -> RawRecord | None:
    """Read ``record`` of the dataset that ``reader`` describes (:meth:`DatasetSpec.reader`) and write
    its tables to ``outputs`` (``beats``, ``events``, and ``tidy`` for a record with a signal). With
    ``bad_records: skip`` a record that cannot be used is written as :func:`write_skipped`; otherwise
    its InputError propagates."""
    spec = DatasetSpec(name=dataset, **reader)
    try:
        rec = read_record(spec, raw, record, lead=0 if spec.lead is None else spec.lead, max_flat_s=max_flat_s)
    except InputError as e:
        if spec.bad_records != "skip":
            raise
        write_skipped(record, dataset, str(e), outputs)
        return None
    write_tidy(rec, dataset, outputs["beats"], outputs["events"], outputs.get("tidy"))
    return rec
