"""Supported datasets: where their records live and how their annotations are read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError, InputError


@dataclass(frozen=True)
class DatasetSpec:
    """How one database stores a record: annotation extensions and rhythm convention."""

    name: str
    beat_ext: str  # annotation file holding the beats
    rhythm_ext: str  # annotation file holding the rhythm marks
    convention: str  # see ecgflow.rhythm
    signal: str  # "required" or "optional" (afdb: most records are annotation-only here)
    physionet: str | None  # PhysioNet database slug for the download rule


DATASETS = {
    "demo": DatasetSpec("demo", "atr", "atr", "transitions", "required", None),
    "mitdb": DatasetSpec("mitdb", "atr", "atr", "transitions", "required", "mitdb"),
    "afdb": DatasetSpec("afdb", "qrs", "atr", "transitions", "optional", "afdb"),
    "cpsc2021": DatasetSpec("cpsc2021", "atr", "atr", "episodes", "required", "cpsc2021"),
}


def dataset_spec(name: str) -> DatasetSpec:
    """The spec of dataset ``name``; a ConfigError names the key when it is unknown."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ConfigError("dataset", f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}") from None


def list_records(name: str, data_dir) -> list[str]:
    """Record names of a dataset folder: its RECORDS file when present, else every rhythm annotation file."""
    spec = dataset_spec(name)
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise ConfigError("data_dir", f"{data_dir} is not a folder")
    listing = data_dir / "RECORDS"
    if listing.exists():
        records = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    else:
        records = [p.name[: -len(spec.rhythm_ext) - 1] for p in data_dir.glob(f"*.{spec.rhythm_ext}")]
    if not records:
        raise ConfigError("data_dir", f"{data_dir} holds no {name} records (no RECORDS file, no *.{spec.rhythm_ext})")
    return sorted(records)


def has_signal(data_dir, record: str) -> bool:
    """Whether a record has a header (and so a signal) besides its annotations."""
    return (Path(data_dir) / f"{record}.hea").exists()


def signal_files(data_dir, record: str) -> list[str]:
    """Names of the signal files that a record's header lists (those of its segments for a
    multi-segment record), each once, in header order."""
    header = Path(data_dir) / f"{record}.hea"
    lines = [line.split() for line in header.read_text().splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise InputError(header, "empty header")
    names = dict.fromkeys(fields[0] for fields in lines[1:] if fields[0] != "~")  # "~": no file (a gap)
    if "/" not in lines[0][0]:
        return list(names)
    files = {}  # multi-segment: each segment is a record of its own
    for segment in names:
        files.update(dict.fromkeys([f"{segment}.hea", *signal_files(data_dir, segment)]))
    return list(files)
