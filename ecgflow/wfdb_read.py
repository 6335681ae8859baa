"""Read one WFDB record (header, signal, annotations) with wfdb, checking everything that can be wrong."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import wfdb
from numpy.lib.stride_tricks import sliding_window_view

from .errors import InputError
from .rhythm import clean_aux

# Bits per sample of the WFDB storage formats wfdb reads.
_FORMAT_BITS = {"8": 8, "16": 16, "24": 24, "32": 32, "61": 16, "80": 8, "160": 16, "212": 12, "310": 32 / 3, "311": 32 / 3}
# Beat alignment: share of beats whose signal is steeper (within +-QRS_HALF_S) than halfway to the
# next beat. Measured on mitdb and cpsc2021: 0.91-1.00 with the record's own annotations, 0.38-0.56
# with another record's.
QRS_HALF_S = 0.06
MIN_BEAT_ALIGNMENT = 0.75


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


def check_signal(path: Path, x: np.ndarray, fs: float, max_flat_s: float) -> None:
    """Raise InputError naming ``path`` when ``x`` has missing (NaN, infinite) samples, fewer than 2 samples,
    or a flat line longer than ``max_flat_s`` seconds at ``fs`` Hz."""
    bad = ~np.isfinite(x)
    if bad.any():
        first = int(np.argmax(bad))
        raise InputError(path, f"{int(bad.sum())} missing (NaN) samples, the first at sample {first}")
    if len(x) < 2:
        raise InputError(path, "signal has fewer than 2 samples")
    change = np.flatnonzero(np.diff(x) != 0)
    bounds = np.concatenate(([-1], change, [len(x) - 1]))
    runs = np.diff(bounds)
    longest = int(runs.max())
    if longest > max_flat_s * fs:
        start = int(bounds[np.argmax(runs)] + 1)
        raise InputError(path, f"flat line of {longest / fs:.1f} s from sample {start} (limit max_flat_s={max_flat_s})")


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


def annotations(path: Path, ext: str):
    """``(samples, symbols, aux notes, fs)`` of WFDB annotation file ``path``; samples must ascend."""
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


def check_extent(path: Path, samples: np.ndarray, n_samples: int) -> None:
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
    check_signal(dats[0], signal, float(parsed.fs), max_flat_s)
    return signal, parsed.sig_name[channel], parsed, dats
