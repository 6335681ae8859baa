"""Datasets: named entries of the config's ``datasets`` mapping, saying how a folder of records is read.

An entry says where the records are (``data_dir``), their signal format (``wfdb``, which includes the
challenge-style ``.mat`` files that WFDB headers describe, or ``edf``), where beats come from (an
annotation extension, or ``detect``), where rhythm labels come from (an annotation extension and its
convention, or none), the lead, whether a signal is required and what a bad record does to the run.
``demo``, ``mitdb``, ``afdb`` and ``cpsc2021`` are built-in entries (:data:`BUILTIN`); a config entry of
the same name changes only the keys it gives, and ``base`` starts an entry from another one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError, InputError
from .rhythm import CONVENTIONS

FORMATS = ("wfdb", "edf")
DETECT = "detect"  # beats: detected from the signal by ecgflow.qrs
BAD_RECORDS = ("fail", "skip")
READ_KEYS = ("format", "lead", "beats", "reference_beats", "rhythm", "convention", "signal", "bad_records")

# An entry's keys and their defaults (what a user entry without ``base`` starts from).
ENTRY_DEFAULTS = {
    "base": None,
    "format": "wfdb",
    "data_dir": None,
    "records": None,
    "lead": None,  # null: the config's top-level ``lead``
    "beats": "atr",
    "reference_beats": None,  # beat annotations that detected beats are measured against
    "rhythm": "atr",
    "convention": "transitions",
    "signal": "required",
    "bad_records": "fail",
    "cpsc_score": False,
    "physionet": None,
    "tolerances_s": [2, 4, 10, 30],  # scored when evaluation.tolerances_s is null (2 s is the seed study's)
}
BUILTIN = {
    "demo": {"tolerances_s": [1, 2, 4]},  # a fast `make run`
    "mitdb": {"physionet": "mitdb"},
    "afdb": {"beats": "qrs", "signal": "optional", "physionet": "afdb"},
    "cpsc2021": {"convention": "episodes", "cpsc_score": True, "physionet": "cpsc2021"},
}


@dataclass(frozen=True)
class DatasetSpec:
    """How one dataset's records are read (see the module docstring)."""

    name: str
    format: str = "wfdb"
    data_dir: str | None = None
    records: tuple | None = None
    lead: object = None
    beats: str = "atr"  # an annotation extension, or "detect"
    reference_beats: str | None = None
    rhythm: str | None = "atr"  # an annotation extension (WFDB), "annotations" (EDF+), or None
    convention: str = "transitions"
    signal: str = "required"  # "required" or "optional" (afdb: most records are annotation-only)
    bad_records: str = "fail"
    cpsc_score: bool = False
    physionet: str | None = None
    tolerances_s: tuple = (2, 4, 10, 30)

    @property
    def detects_beats(self) -> bool:
        return self.beats == DETECT

    @property
    def beat_ext(self) -> str | None:
        """The beat annotation extension; None when beats are detected."""
        return None if self.detects_beats else self.beats

    @property
    def rhythm_ext(self) -> str | None:
        """The rhythm annotation file extension of a WFDB dataset; None otherwise."""
        return self.rhythm if self.format == "wfdb" else None

    @property
    def labelled(self) -> bool:
        """Whether the records carry rhythm labels (and so can be scored)."""
        return self.rhythm is not None

    @property
    def generated(self) -> bool:
        return self.name == "demo"

    @property
    def signal_ext(self) -> str:
        return "hea" if self.format == "wfdb" else "edf"

    def reader(self) -> dict:
        """The keys that decide how a record is read (a change reruns the tidy jobs, and only that)."""
        return {k: getattr(self, k) for k in READ_KEYS}

    def annotation_exts(self) -> list[str]:
        """The WFDB annotation files each record is read from (rhythm, beats, reference beats)."""
        exts = [self.rhythm_ext, self.beat_ext, self.reference_beats if self.format == "wfdb" else None]
        return [e for e in dict.fromkeys(exts) if e]


def _entry(name: str, entries: dict, seen=()) -> dict:
    """The merged keys of entry ``name``: defaults, then its base (or the built-in of that name), then
    the config's keys."""
    if name in seen:
        raise ConfigError(f"datasets.{name}.base", f"cycle of bases {' -> '.join((*seen, name))}")
    own = dict(entries.get(name) or {})
    base = own.get("base")
    if base is not None:
        if base not in entries and base not in BUILTIN:
            raise ConfigError(f"datasets.{name}.base", f"unknown dataset {base!r}; known: {sorted({*BUILTIN, *entries})}")
        merged = _entry(base, entries, (*seen, name))
        if merged["beats"] != DETECT and own.get("beats") == DETECT and "reference_beats" not in own:
            merged["reference_beats"] = merged["beats"]  # detected beats are measured against the base's
    else:
        merged = {**ENTRY_DEFAULTS, **BUILTIN.get(name, {})}
    merged.update({k: v for k, v in own.items() if k != "base"})
    return merged


def _check(name: str, e: dict) -> None:
    key = f"datasets.{name}"
    if e["format"] not in FORMATS:
        raise ConfigError(f"{key}.format", f"{e['format']!r}; expected one of {list(FORMATS)}")
    if e["convention"] not in CONVENTIONS:
        raise ConfigError(f"{key}.convention", f"{e['convention']!r}; expected one of {list(CONVENTIONS)}")
    if e["bad_records"] not in BAD_RECORDS:
        raise ConfigError(f"{key}.bad_records", f"{e['bad_records']!r}; expected one of {list(BAD_RECORDS)}")
    if e["signal"] not in ("required", "optional"):
        raise ConfigError(f"{key}.signal", f"{e['signal']!r}; expected required or optional")
    if e["format"] == "edf":
        if e["beats"] != DETECT:
            raise ConfigError(f"{key}.beats", "an EDF dataset's beats are detected: set it to detect")
        if e["rhythm"] not in (None, "annotations"):
            raise ConfigError(f"{key}.rhythm", "an EDF dataset's rhythm labels are its EDF+ annotations "
                                               "(rhythm: annotations) or none (rhythm: null)")
    if e["beats"] == DETECT and e["signal"] != "required":
        raise ConfigError(f"{key}.signal", "beats: detect needs every record's signal (signal: required)")
    if e["format"] == "wfdb" and e["rhythm"] == "annotations":
        raise ConfigError(f"{key}.rhythm", "rhythm: annotations is for EDF+; a WFDB dataset names an annotation extension")
    if e["cpsc_score"] and e["rhythm"] is None:
        raise ConfigError(f"{key}.cpsc_score", "the CPSC 2021 score needs rhythm labels")


def dataset_spec(name: str, entries: dict | None = None) -> DatasetSpec:
    """The spec of dataset ``name`` from the config's ``datasets`` mapping and the built-ins; a
    ConfigError names the key at fault."""
    entries = entries or {}
    if name not in entries and name not in BUILTIN:
        raise ConfigError("dataset", f"unknown dataset {name!r}; expected one of {sorted({*BUILTIN, *entries})} "
                                     "or an entry under datasets:")
    e = _entry(name, entries)
    _check(name, e)
    e.pop("base", None)
    e["records"] = tuple(e["records"]) if e["records"] is not None else None
    e["tolerances_s"] = tuple(e["tolerances_s"])
    return DatasetSpec(name=name, **e)


def selected_datasets(config: dict) -> dict[str, DatasetSpec]:
    """The specs of the datasets the config's ``dataset`` names (a name or a list), in that order, with
    the top-level ``data_dir``, ``records`` and ``lead`` filled in where an entry leaves them unset."""
    names = config["dataset"] if isinstance(config["dataset"], list) else [config["dataset"]]
    if len(set(names)) != len(names):
        raise ConfigError("dataset", f"names a dataset twice: {names}")
    entries = config.get("datasets") or {}
    if len(names) > 1 and config.get("data_dir"):
        raise ConfigError("data_dir", "with several datasets, give each its folder as datasets.<name>.data_dir")
    specs = {}
    for name in names:
        spec = dataset_spec(name, entries)
        fill = {"lead": spec.lead if spec.lead is not None else config.get("lead", [0])}
        if spec.data_dir is None and not spec.generated:
            if not config.get("data_dir"):
                raise ConfigError(f"datasets.{name}.data_dir", f"required for dataset {name!r} (the folder of its records)")
            fill["data_dir"] = config["data_dir"]
        if spec.records is None and config.get("records"):
            fill["records"] = tuple(config["records"])
        specs[name] = DatasetSpec(**{**spec.__dict__, **fill})
    return specs


def list_records(spec: DatasetSpec, data_dir=None) -> list[str]:
    """Record names of a dataset folder: its RECORDS file when present, else every rhythm annotation
    file (a labelled WFDB dataset), else every header or EDF file."""
    data_dir = Path(data_dir if data_dir is not None else spec.data_dir)
    if not data_dir.is_dir():
        raise ConfigError(f"datasets.{spec.name}.data_dir", f"{data_dir} is not a folder")
    ext = spec.rhythm_ext or spec.signal_ext
    listing = data_dir / "RECORDS"
    if listing.exists():
        records = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    else:
        records = [p.name[: -len(ext) - 1] for p in data_dir.glob(f"*.{ext}")]
    if not records:
        raise ConfigError(f"datasets.{spec.name}.data_dir", f"{data_dir} holds no {spec.name} records "
                                                            f"(no RECORDS file, no *.{ext})")
    return sorted(records)


def has_signal(spec: DatasetSpec, data_dir, record: str) -> bool:
    """Whether a record has a signal file (a WFDB header, an EDF file) besides its annotations."""
    return (Path(data_dir) / f"{record}.{spec.signal_ext}").exists()


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
