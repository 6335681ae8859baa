"""Detect job of one record: the sweeps of every configured (detector, stream) pair, in one table."""

from __future__ import annotations

import json

import pyarrow as pa

from ..errors import InputError
from ..grid import canonical_stream_grid, split_stream_spec
from ..parquet import write_parquet
from ..streams import STREAMS
from ..sweep import read_record_tables, sweep_record
from . import pair_key, split_key

RECORD_KEYS = ("fs", "n_samples")


def pair_setup(detectors: dict, detector: str, stream: str) -> dict:
    """A pair's setup from the config's ``detectors`` section: only that detector's semantics, its
    fixed params (the stream's own ``params`` override the detector's) and that stream's grid, in
    canonical form (keys sorted, grid validated and sorted), so that it compares equal across runs."""
    spec = detectors[detector]
    grid, own = split_stream_spec(spec["streams"][stream])
    params = {**(spec.get("params") or {}), **(own or {})}
    setup = {
        "semantics": spec.get("semantics", "river"),
        "params": params,
        "grid": canonical_stream_grid(grid, detector, stream, f"detectors.{detector}.streams.{stream}"),
    }
    return json.loads(json.dumps(setup, sort_keys=True))


def record_pairs(detectors: dict, has_signal: bool, rhythm: bool = True) -> list[tuple[str, str]]:
    """The configured (detector, stream) pairs that run on a record, sorted: every pair of a stream read
    from the beats, those of a stream of the tidy signal (``ecg``) only on a record with a signal, and
    those of a stream of the rhythm model (``p_af``) only where a model can score the record
    (``rhythm``: its dataset is labelled, or ``train.rhythm.source_dataset`` names one)."""
    kinds = {"beats", *(["tidy"] if has_signal else []), *(["rhythm"] if rhythm else [])}
    return [(detector, stream) for detector, spec in sorted(detectors.items()) for stream in sorted(spec["streams"])
            if STREAMS[stream].source in kinds]


def record_setups(detectors: dict, has_signal: bool, rhythm: bool = True) -> dict:
    """``{"<detector>/<stream>": setup}`` (:func:`pair_setup`) of the pairs that run on a record."""
    return {pair_key(d, s): pair_setup(detectors, d, s) for d, s in record_pairs(detectors, has_signal, rhythm)}


def detect_record(setups: dict, *, dataset: str, record: str, tidy_path=None, beats_path=None,
                  paths: dict | None = None) -> tuple[pa.Table, dict]:
    """Sweeps of every pair of ``setups`` (``{"<detector>/<stream>": setup}``, see
    :func:`ecgflow.sweep.sweep_record`) on one record's files (``paths``: source kind -> file, e.g. tidy,
    beats, rhythm; or ``tidy_path``/``beats_path``), as one table and metadata."""
    paths = {**(paths or {}), **{k: v for k, v in (("tidy", tidy_path), ("beats", beats_path)) if v is not None}}
    tables, runs, loaded, beat_streams = [], {}, {}, {}
    for key in sorted(setups, key=split_key):
        detector, stream = split_key(key)
        kind = STREAMS[stream].source  # each input is read once, whatever pairs use it
        if kind not in loaded:
            loaded[kind] = read_record_tables(stream, paths=paths)
        det, meta = sweep_record(detector, stream, setups[key], paths=paths, loaded=loaded[kind], streams=beat_streams)
        table = pa.Table.from_pandas(det, preserve_index=False).replace_schema_metadata(None)
        n = table.num_rows
        table = table.add_column(0, "stream", pa.array([stream] * n, pa.string()))
        tables.append(table.add_column(0, "detector", pa.array([detector] * n, pa.string())))
        runs[key] = meta
    if not tables:
        raise InputError(record, "no (detector, stream) pair is configured for this record")
    info = {}
    for key in RECORD_KEYS:
        values = {run.get(key) for run in runs.values()} - {None}
        if len(values) > 1:
            raise InputError(record, f"the pairs disagree on {key}: {sorted(values)}")
        info[key] = values.pop() if values else None
    return pa.concat_tables(tables), {"dataset": dataset, "record": record, **info, "runs": runs}


def write_detections(setups: dict, out, *, dataset: str, record: str, tidy_path=None, beats_path=None,
                     paths: dict | None = None) -> pa.Table:
    """:func:`detect_record`, written atomically to ``out``."""
    table, meta = detect_record(setups, dataset=dataset, record=record, tidy_path=tidy_path, beats_path=beats_path,
                                paths=paths)
    write_parquet(table, out, meta)
    return table
