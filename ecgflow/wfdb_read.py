"""Read one WFDB record (header, signal, annotations) with wfdb, checking everything that can be wrong."""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import wfdb
from numpy.lib.stride_tricks import sliding_window_view

from .beats import BEAT_SYMBOLS
from .errors import InputError
from .rhythm import Rhythms, clean_aux, rhythm_episodes
from .sources import DatasetSpec

# Bits per sample of the WFDB storage formats wfdb reads.
_FORMAT_BITS = {"8": 8, "16": 16, "24": 24, "32": 32, "61": 16, "80": 8, "160": 16, "212": 12, "310": 32 / 3, "311": 32 / 3}
_NOT_RHYTHMS = {"", "None"}
# Beat alignment: share of beats whose signal is steeper (within +-QRS_HALF_S) than halfway to the
# next beat. Measured on mitdb and cpsc2021: 0.91-1.00 with the record's own annotations, 0.38-0.56
# with another record's.
QRS_HALF_S = 0.06
MIN_BEAT_ALIGNMENT = 0.75


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
    beat_alignment: float | None = None  # see :func:`beat_alignment`; None without a signal or beats


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# Record line of a header: name[/segments] n_signals [fs[/counter_fs[(base_counter)]] [n_samples ...]]
_NUMBER = r"\d+(?:\.\d*)?"
_FS = re.compile(rf"{_NUMBER}(?:/{_NUMBER}(?:\({_NUMBER}\))?)?")


def _check_record_line(path: Path) -> None:
    """The header's record line names a sampling rate and a length that are numbers (wfdb would
    read ``36O`` as no rate, or ``65OOOO`` as 65 samples)."""
    lines = [ln.split("#")[0].split() for ln in path.read_text(errors="replace").splitlines()]
    fields = next((f for f in lines if f), [])
    if len(fields) < 4:
        problem = f"record line {' '.join(fields)!r} lacks the sampling rate or the number of samples"
    elif not fields[1].isdigit():
        problem = f"number of signals {fields[1]!r} on the record line is not an integer"
    elif not _FS.fullmatch(fields[2]):
        problem = f"sampling rate {fields[2]!r} on the record line is not a number"
    elif not fields[3].isdigit():
        problem = f"number of samples {fields[3]!r} on the record line is not an integer"
    else:
        return
    raise InputError(path, f"header does not parse: {problem}")


def header(path: Path):
    """The parsed WFDB header ``path`` (``.hea``); raises InputError naming it when it does not parse."""
    _check_record_line(path)
    try:
        parsed = wfdb.rdheader(str(path.with_suffix("")))
    except Exception as exc:  # wfdb raises many kinds of errors on a malformed header
        raise InputError(path, f"header does not parse ({type(exc).__name__}: {exc})") from None
    if not parsed.fs or parsed.fs <= 0:
        raise InputError(path, f"header does not parse: sampling rate {parsed.fs!r} is not positive")
    return parsed


def _check_dat_files(hea: Path, header) -> list[Path]:
    """Every signal file the header names exists and is long enough for sig_len samples."""
    files = []
    for fname in dict.fromkeys(header.file_name):
        dat = hea.parent / fname
        if not dat.exists():
            raise InputError(dat, f"signal file missing (named in {hea.name})")
        chans = [i for i, f in enumerate(header.file_name) if f == fname]
        bits = sum(_FORMAT_BITS.get(str(header.fmt[i]), 16) for i in chans)
        offset = (header.byte_offset[chans[0]] or 0) if header.byte_offset else 0
        need = offset + int(np.ceil(header.sig_len * bits / 8))
        have = dat.stat().st_size
        if have < need:
            raise InputError(dat, f"truncated: {have} bytes, header {hea.name} implies {need} ({header.sig_len} samples)")
        files.append(dat)
    return files


def _lead_index(hea: Path, header, lead) -> int:
    candidates = lead if isinstance(lead, list) else [lead]
    for cand in candidates:
        if isinstance(cand, int) and 0 <= cand < header.n_sig:
            return cand
        if isinstance(cand, str) and cand in header.sig_name:
            return header.sig_name.index(cand)
    raise InputError(hea, f"no lead matches {lead!r}; the record has {header.sig_name}")


def _check_signal(dat: Path, x: np.ndarray, fs: float, max_flat_s: float) -> None:
    bad = ~np.isfinite(x)
    if bad.any():
        first = int(np.argmax(bad))
        raise InputError(dat, f"{int(bad.sum())} missing (NaN) samples, the first at sample {first}")
    if len(x) < 2:
        raise InputError(dat, "signal has fewer than 2 samples")
    change = np.flatnonzero(np.diff(x) != 0)
    bounds = np.concatenate(([-1], change, [len(x) - 1]))
    runs = np.diff(bounds)
    longest = int(runs.max())
    if longest > max_flat_s * fs:
        start = int(bounds[np.argmax(runs)] + 1)
        raise InputError(dat, f"flat line of {longest / fs:.1f} s from sample {start} (limit max_flat_s={max_flat_s})")


def beat_alignment(x: np.ndarray, beats: np.ndarray, fs: float) -> float:
    """Share of annotated beats at which the signal is steeper than halfway to the next beat: the
    largest absolute first difference within +-``QRS_HALF_S`` of each. Beats on QRS complexes give
    values near 1, beats annotated on another record's signal about 0.5. NaN with under 2 beats."""
    beats = beats[(beats >= 0) & (beats < len(x))]
    if len(beats) < 2:
        return float("nan")
    w = max(1, int(round(QRS_HALF_S * fs)))
    slope = np.abs(np.diff(x.astype(np.float64), prepend=float(x[0])))
    windows = sliding_window_view(np.pad(slope, w), 2 * w + 1)  # a view: only the rows used are read
    halfway = beats[:-1] + np.diff(beats) // 2
    return float(np.mean(windows[beats[:-1]].max(axis=1) > windows[halfway].max(axis=1)))


def _annotations(path: Path, ext: str):
    try:
        ann = wfdb.rdann(str(path.with_suffix("")), ext)
    except Exception as exc:
        raise InputError(path, f"annotation file does not parse ({type(exc).__name__}: {exc})") from None
    samples = np.asarray(ann.sample, dtype=np.int64)
    if np.any(np.diff(samples) < 0):
        i = int(np.argmax(np.diff(samples) < 0))
        raise InputError(path, f"annotation samples are not monotonic (sample {samples[i + 1]} follows {samples[i]})")
    notes = ann.aux_note if ann.aux_note is not None else [""] * len(samples)
    return samples, np.asarray(ann.symbol, dtype=object), [clean_aux(n) for n in notes], ann.fs


def _check_extent(path: Path, samples: np.ndarray, n_samples: int) -> None:
    """Annotations must lie within the signal (one past the last sample is an end-of-episode mark)."""
    if len(samples) and samples[-1] > n_samples:
        raise InputError(path, f"annotation at sample {samples[-1]} lies past the end of the signal ({n_samples} samples)")


def read_lead(hea: Path, lead, max_flat_s: float = 10.0, parsed=None):
    """``(signal, name, header, signal files)`` of the first lead of the WFDB record ``hea`` that matches
    ``lead`` (an index, a name, or a list of them in order of preference): float32 physical units, checked
    for missing samples and for flat lines longer than ``max_flat_s`` seconds; raises InputError naming
    the file at fault. ``parsed``: the record's header when the caller has already read it."""
    parsed = header(hea) if parsed is None else parsed
    dats = _check_dat_files(hea, parsed)
    channel = _lead_index(hea, parsed, lead)
    try:
        rec = wfdb.rdrecord(str(hea.with_suffix("")), channels=[channel], physical=True, return_res=32)
    except Exception as exc:
        raise InputError(dats[0], f"signal does not read ({type(exc).__name__}: {exc})") from None
    signal = np.asarray(rec.p_signal[:, 0], dtype=np.float32)
    _check_signal(dats[0], signal, float(parsed.fs), max_flat_s)
    return signal, parsed.sig_name[channel], parsed, dats


def read_record(spec: DatasetSpec, data_dir, record: str, lead=0, max_flat_s: float = 10.0) -> RawRecord:
    """Read a record of dataset ``spec`` from ``data_dir``; raises InputError naming the bad file."""
    base = Path(data_dir) / record
    hea = base.with_suffix(".hea")
    rhythm_path = Path(f"{base}.{spec.rhythm_ext}")
    beat_path = Path(f"{base}.{spec.beat_ext}")
    for path in dict.fromkeys([rhythm_path, beat_path]):
        if not path.exists():
            raise InputError(path, "annotation file missing")
    sources = [rhythm_path, beat_path]
    signal = lead_name = None
    if hea.exists() or spec.signal == "required":
        if not hea.exists():
            raise InputError(hea, "header file missing")
        signal, lead_name, header, dats = read_lead(hea, lead, max_flat_s)
        fs, n_samples = float(header.fs), int(header.sig_len)
        sources = [hea, *dats, *sources]
    r_samples, r_symbols, r_notes, r_fs = _annotations(rhythm_path, spec.rhythm_ext)
    b_samples, b_symbols, _, b_fs = _annotations(beat_path, spec.beat_ext)
    if signal is None:  # annotation-only: the sampling rate is stored in the annotation file
        fs = float(r_fs or b_fs or 0)
        if fs <= 0:
            raise InputError(rhythm_path, "no header and no sampling rate in the annotation file")
        n_samples = int(max(r_samples[-1] if len(r_samples) else 0, b_samples[-1] if len(b_samples) else 0)) + 1
    for path, samples in ((rhythm_path, r_samples), (beat_path, b_samples)):
        _check_extent(path, samples, n_samples)
    is_rhythm = np.array([n not in _NOT_RHYTHMS and n.startswith("(") for n in r_notes], dtype=bool)
    rhythms = rhythm_episodes(r_samples[is_rhythm], [n for n, k in zip(r_notes, is_rhythm) if k], n_samples, spec.convention)
    is_beat = np.array([s in BEAT_SYMBOLS for s in b_symbols], dtype=bool)
    alignment = None
    if signal is not None:
        alignment = beat_alignment(signal, b_samples[is_beat], fs)
        alignment = None if np.isnan(alignment) else alignment
        if alignment is not None and alignment < MIN_BEAT_ALIGNMENT:
            warnings.warn(f"record {record}: only {alignment:.0%} of the beats in {beat_path.name} sit where the signal "
                          f"of lead {lead_name} is steeper than between beats (expected over 90%): is {beat_path.name} "
                          f"the annotation file of another record?", stacklevel=2)
    return RawRecord(
        name=record,
        fs=fs,
        n_samples=n_samples,
        signal=signal,
        lead=lead_name,
        beat_samples=b_samples[is_beat],
        beat_symbols=b_symbols[is_beat],
        rhythms=rhythms,
        sha256={p.name: sha256(p) for p in dict.fromkeys(sources)},
        beat_alignment=alignment,
    )
