"""Read one record of a dataset: its signal (WFDB or EDF), its beats (annotated or detected) and its
rhythm labels (WFDB annotations, EDF+ annotations, or none), checking everything that can be wrong."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .beats import BEAT_SYMBOLS
from .errors import InputError
from .rhythm import Rhythms, clean_aux, rhythm_episodes
from .sources import DatasetSpec
from .wfdb_read import MIN_BEAT_ALIGNMENT, annotations, beat_alignment, check_extent, read_lead, sha256

# A detected beat's symbol: WFDB's "unclassifiable beat" (its class is unknown).
DETECTED_SYMBOL = "Q"
UNLABELLED = Rhythms(np.zeros(1, dtype=np.int64), ("",))
_NOT_RHYTHMS = {"", "None"}


@dataclass
class RawRecord:
    """What the tidy stage needs of one record."""

    name: str
    fs: float
    n_samples: int
    signal: np.ndarray | None  # float32 mV of the chosen lead; None for annotation-only records
    lead: str | None
    beat_samples: np.ndarray
    beat_symbols: np.ndarray
    rhythms: Rhythms
    sha256: dict[str, str]
    beat_alignment: float | None = None  # see :func:`ecgflow.wfdb_read.beat_alignment`
    beats_source: str = "annotations"  # or "detected"
    qrs: dict = field(default_factory=dict)  # detected vs reference beats: tp, fp, fn (when both exist)


@dataclass
class _Signal:
    signal: np.ndarray | None = None
    lead: str | None = None
    fs: float | None = None
    n_samples: int | None = None
    files: list = field(default_factory=list)
    marks: tuple = ((), ())  # rhythm marks of an EDF+ file: samples, labels


def _read_signal(spec: DatasetSpec, base: Path, lead, max_flat_s: float) -> _Signal:
    if spec.format == "edf":
        from .edf_read import read_edf

        path = base.with_suffix(".edf")
        if not path.exists():
            raise InputError(path, "EDF file missing")
        edf = read_edf(path, lead, max_flat_s)
        notes = [(int(round(onset * edf.fs)), clean_aux(text)) for onset, _, text in edf.annotations]
        marks = [(s, t) for s, t in notes if t.startswith("(")]
        return _Signal(edf.signal, edf.lead, float(edf.fs), int(edf.n_samples), [path],
                       (np.array([s for s, _ in marks], np.int64), [t for _, t in marks]))
    hea = base.with_suffix(".hea")
    if not hea.exists():
        if spec.signal == "required":
            raise InputError(hea, "header file missing")
        return _Signal()
    signal, name, header, dats = read_lead(hea, lead, max_flat_s)
    return _Signal(signal, name, float(header.fs), int(header.sig_len), [hea, *dats])


def _detected_beats(sig: _Signal, source: Path) -> np.ndarray:
    from .qrs import detect_beats

    if sig.signal is None:
        raise InputError(source, "no beat annotations and no signal to detect beats in")
    return detect_beats(sig.signal, sig.fs, source=source)


def read_record(spec: DatasetSpec, data_dir, record: str, lead=0, max_flat_s: float = 10.0) -> RawRecord:
    """Read a record of dataset ``spec`` from ``data_dir``; raises InputError naming the bad file."""
    base = Path(data_dir) / record
    ann_paths = {ext: Path(f"{base}.{ext}") for ext in spec.annotation_exts()}
    for ext, path in ann_paths.items():
        if not path.exists() and ext != spec.reference_beats:
            raise InputError(path, "annotation file missing")
    sig = _read_signal(spec, base, lead, max_flat_s)
    read = {ext: annotations(path, ext) for ext, path in ann_paths.items() if path.exists()}
    fs, n_samples = sig.fs, sig.n_samples
    if sig.signal is None:  # annotation-only: the sampling rate is stored in the annotation file
        fs = float(next((r[3] for r in read.values() if r[3]), 0))
        if fs <= 0:
            raise InputError(ann_paths[spec.rhythm_ext], "no header and no sampling rate in the annotation file")
        n_samples = int(max((r[0][-1] for r in read.values() if len(r[0])), default=0)) + 1
    for ext, (samples, *_rest) in read.items():
        check_extent(ann_paths[ext], samples, n_samples)

    if spec.rhythm_ext:
        r_samples, _, r_notes, _ = read[spec.rhythm_ext]
        is_rhythm = np.array([n not in _NOT_RHYTHMS and n.startswith("(") for n in r_notes], dtype=bool)
        rhythms = rhythm_episodes(r_samples[is_rhythm], [n for n, k in zip(r_notes, is_rhythm) if k], n_samples,
                                  spec.convention)
    elif spec.rhythm == "annotations":
        rhythms = rhythm_episodes(sig.marks[0], sig.marks[1], n_samples, spec.convention)
    else:
        rhythms = UNLABELLED

    reference = None
    ref_ext = spec.beat_ext or spec.reference_beats
    if ref_ext in read:
        b_samples, b_symbols, _, _ = read[ref_ext]
        is_beat = np.array([s in BEAT_SYMBOLS for s in b_symbols], dtype=bool)
        reference = (b_samples[is_beat], b_symbols[is_beat])
    qrs, beats_source = {}, "annotations"
    if spec.detects_beats:
        beats = _detected_beats(sig, sig.files[0] if sig.files else base)
        symbols = np.full(len(beats), DETECTED_SYMBOL, dtype=object)
        beats_source = "detected"
        if reference is not None:
            from .qrs import match_beats

            tp, fp, fn = match_beats(reference[0], beats, fs)
            qrs = {"reference": ref_ext, "tp": int(tp), "fp": int(fp), "fn": int(fn)}
    else:
        beats, symbols = reference

    alignment = None
    if sig.signal is not None and not spec.detects_beats:
        alignment = beat_alignment(sig.signal, beats, fs)
        alignment = None if np.isnan(alignment) else alignment
        if alignment is not None and alignment < MIN_BEAT_ALIGNMENT:
            beat_path = ann_paths[spec.beat_ext]
            warnings.warn(f"record {record}: only {alignment:.0%} of the beats in {beat_path.name} sit where the signal "
                          f"of lead {sig.lead} is steeper than between beats (expected over 90%): is {beat_path.name} "
                          f"the annotation file of another record?", stacklevel=2)
    sources = [*sig.files, *(p for p in ann_paths.values() if p.exists())]
    return RawRecord(
        name=record,
        fs=fs,
        n_samples=n_samples,
        signal=sig.signal,
        lead=sig.lead,
        beat_samples=np.asarray(beats, dtype=np.int64),
        beat_symbols=np.asarray(symbols, dtype=object),
        rhythms=rhythms,
        sha256={p.name: sha256(p) for p in dict.fromkeys(sources)},
        beat_alignment=alignment,
        beats_source=beats_source,
        qrs=qrs,
    )
