"""Parquet I/O: atomic writes (temporary file, then rename) with key-value metadata."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__


def write_parquet(df: pd.DataFrame | pa.Table, path, metadata: dict | None = None) -> Path:
    """Write ``df`` (DataFrame or Arrow table) to ``path`` atomically, with ``metadata`` (JSON-encoded values).

    The ecgflow version is always added. Nothing is visible at ``path`` until the file is complete.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta.pop(b"pandas", None)  # carries library versions and index details: not part of the content
    for key, value in {**(metadata or {}), "ecgflow_version": __version__}.items():
        meta[str(key).encode()] = json.dumps(value, sort_keys=True).encode()
    table = table.replace_schema_metadata(meta)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a run that was killed mid-write
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates files readable by their owner only
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_metadata(path) -> dict:
    """The key-value metadata that :func:`write_parquet` stored, decoded."""
    raw = pq.read_schema(path).metadata or {}
    return {k.decode(): json.loads(v) for k, v in raw.items() if k != b"pandas"}
