"""Output files written atomically (temporary file, then rename), and Parquet I/O with key-value metadata.

:func:`atomic_path` is the one way ecgflow writes an output file (Parquet tables, model
checkpoints, NumPy arrays, PNG figures): nothing is visible at the final path until the file is complete, and
the file gets the permissions of any file the user creates (``0o666`` less the umask).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__

if TYPE_CHECKING:
    import pandas as pd


def _file_mode() -> int:
    """Permissions of a new file under the current umask (``open`` gives 0o666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_path(path) -> Iterator[Path]:
    """A temporary path in ``path``'s folder to write the file to; renamed to ``path`` when the block
    ends without error, removed otherwise. Creates the folder; removes temporary files left there by
    a run killed mid-write.

    >>> with atomic_path("out/model.pt") as tmp:  # doctest: +SKIP
    ...     torch.save(state, tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _file_mode())  # mkstemp creates files readable by their owner only
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


PNG_METADATA = {"Software": None}  # no version string: same data -> same bytes


def save_png(fig, path, dpi: int) -> Path:
    """Write the matplotlib figure ``fig`` as a PNG to ``path`` atomically, without a version string."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, metadata=PNG_METADATA)
    return Path(path)


def _with_metadata(schema: pa.Schema, metadata: dict | None) -> pa.Schema:
    """``schema`` with ``metadata`` (JSON-encoded values) and the ecgflow version, without pandas' entry."""
    meta = dict(schema.metadata or {})
    meta.pop(b"pandas", None)  # carries library versions and index details: not part of the content
    for key, value in {**(metadata or {}), "ecgflow_version": __version__}.items():
        meta[str(key).encode()] = json.dumps(value, sort_keys=True).encode()
    return schema.with_metadata(meta)


def write_parquet(df: pd.DataFrame | pa.Table, path, metadata: dict | None = None) -> Path:
    """Write ``df`` (DataFrame or Arrow table) to ``path`` atomically, with ``metadata`` (JSON-encoded values).

    The ecgflow version is always added. Nothing is visible at ``path`` until the file is complete.
    """
    table = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
    table = table.replace_schema_metadata(_with_metadata(table.schema, metadata).metadata)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return Path(path)


@contextmanager
def parquet_parts(path, schema: pa.Schema, metadata: dict | None = None) -> Iterator:
    """Write a Parquet file of ``schema`` part by part, atomically and with ``metadata`` as
    :func:`write_parquet` does: yields a function that appends an Arrow table of ``schema``'s columns
    (the file's metadata is the schema's, whatever the table's)."""
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, _with_metadata(schema, metadata)) as writer:
        yield writer.write_table


def read_metadata(path) -> dict:
    """The key-value metadata that :func:`write_parquet` stored, decoded."""
    raw = pq.read_schema(path).metadata or {}
    return {k.decode(): json.loads(v) for k, v in raw.items() if k != b"pandas"}
