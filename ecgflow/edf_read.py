"""Read one lead of an EDF/EDF+ file (signal and EDF+ annotations) with edfio, checked as WFDB records are;
and write small EDF files (tests, demo)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import edfio
import numpy as np

from .errors import InputError
from .parquet import atomic_path
from .wfdb_read import check_signal

# Physical dimensions converted to mV (lower case; the micro sign as latin-1, Greek mu, or UTF-8 read as latin-1).
TO_MV = {"v": 1e3, "mv": 1.0, "uv": 1e-3, "\u00b5v": 1e-3, "\u03bcv": 1e-3, "\u00e2\u00b5v": 1e-3, "nv": 1e-6}
_ECG_PREFIX = re.compile(r"^ecg\s+")
# edfio warns (and carries on) where a file is damaged: these warnings are errors here, except on a header
# that gives -1 data records (allowed while recording), which edfio counts.
_UNKNOWN_COUNT = "header indicates -1 data records"
_EDFIO_ACTIONS = (" Data was truncated.", " Updating header.", ", returning uncalibrated signal")


@dataclass
class EdfRecord:
    """One lead of an EDF file: float32 signal in ``units`` (mV where the file's dimension is a voltage)."""

    signal: np.ndarray
    lead: str
    fs: float
    n_samples: int
    annotations: list[tuple[float, float | None, str]] = field(default_factory=list)
    units: str = "mV"


def _norm(label: str) -> str:
    return _ECG_PREFIX.sub("", label.strip().lower())


def lead_index(path: Path, labels: list[str], lead) -> int:
    """Index in ``labels`` of the first candidate in ``lead`` (an index, a label, or a list of them in order
    of preference) that matches: a label matches exactly after stripping whitespace, else ignoring case and
    an ``ECG`` prefix (``"MLII"`` finds ``"ECG MLII"``)."""
    for cand in lead if isinstance(lead, list) else [lead]:
        if isinstance(cand, (int, np.integer)) and not isinstance(cand, bool):
            if 0 <= cand < len(labels):
                return int(cand)
        elif isinstance(cand, str):
            for key, names in ((cand.strip(), labels), (_norm(cand), [_norm(lb) for lb in labels])):
                if key in names:
                    return names.index(key)
    raise InputError(path, f"no lead matches {lead!r}; the file has {labels}")


def _raise_on_warnings(path: Path, caught) -> None:
    problems = [str(w.message) for w in caught if _UNKNOWN_COUNT not in str(w.message)]
    for action in _EDFIO_ACTIONS:
        problems = [p.replace(action, "") for p in problems]
    if problems:
        raise InputError(path, f"damaged EDF file ({'; '.join(problems)})")


def read_edf(path, lead, max_flat_s: float = 10.0) -> EdfRecord:
    """Read the lead of EDF/EDF+ file ``path`` that matches ``lead`` (see :func:`lead_index`; indices count
    the ordinary signals, not "EDF Annotations"), with its EDF+ annotations ``(onset_s, duration_s or None,
    text)`` (empty for plain EDF).

    Physical values in V, mV, uV/µV (or nV) are converted to mV; other dimensions (or none) are left as they
    are and named in ``units``. Raises InputError naming the file when it does not parse as EDF, is truncated,
    is discontinuous (EDF+D with gaps), has no such lead, or its signal has missing samples or a flat line
    longer than ``max_flat_s`` seconds (:func:`ecgflow.wfdb_read.check_signal`).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "EDF file missing")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            edf = edfio.read_edf(path, header_encoding="latin-1")
            signals = edf.signals
            labels = [s.label.strip() for s in signals]
            continuous = edf.is_continuous
            annotations = [(float(a.onset), None if a.duration is None else float(a.duration), a.text)
                           for a in edf.annotations]
        except Exception as exc:  # edfio raises many kinds of errors on what is not EDF
            raise InputError(path, f"does not parse as EDF ({type(exc).__name__}: {exc})") from None
        _raise_on_warnings(path, caught)
        if not continuous:
            raise InputError(path, "discontinuous EDF+ (EDF+D with gaps between data records): not supported")
        chosen = signals[lead_index(path, labels, lead)]
        try:
            signal = chosen.data.astype(np.float32)  # edfio calibrates to float64
        except Exception as exc:
            problem = f"signal {chosen.label.strip()!r} does not read ({type(exc).__name__}: {exc})"
            raise InputError(path, problem) from None
        _raise_on_warnings(path, caught)
    dimension = chosen.physical_dimension.strip()
    scale = TO_MV.get(dimension.lower())
    if scale not in (None, 1.0):
        signal *= np.float32(scale)
    fs = float(chosen.sampling_frequency)
    check_signal(path, signal, fs, max_flat_s)
    return EdfRecord(signal=signal, lead=chosen.label.strip(), fs=fs, n_samples=len(signal),
                     annotations=annotations, units="mV" if scale is not None else dimension)


def write_edf(path, signals: dict[str, np.ndarray], fs: float, annotations: Iterable = (),
              dimension: str = "mV") -> Path:
    """Write ``signals`` (label -> physical values, all of one length, sampled at ``fs`` Hz, a whole number)
    to the EDF file ``path`` atomically: EDF+C when ``annotations`` (``(onset_s, duration_s or None, text)``)
    are given, plain EDF otherwise.

    Data records last 1 s. A length that is not a multiple of ``fs`` is padded to the next whole second by
    repeating each signal's last value, so :func:`read_edf` then returns up to ``fs - 1`` more samples than
    were written (a multiple of ``fs`` comes back exactly). Each signal is stored in 16 bits over its own
    range: values come back within (max - min) / 65535 of what was written.
    """
    if not float(fs).is_integer() or fs <= 0:
        raise ValueError(f"fs {fs} is not a positive whole number of Hz: 1-s EDF data records need whole samples")
    fs = int(fs)
    edf_signals = []
    for label, x in signals.items():
        x = np.asarray(x, dtype=np.float64)
        x = np.pad(x, (0, -len(x) % fs), mode="edge")
        edf_signals.append(edfio.EdfSignal(x, fs, label=label, physical_dimension=dimension))
    notes = [edfio.EdfAnnotation(float(onset), duration, text) for onset, duration, text in annotations]
    edf = edfio.Edf(edf_signals, data_record_duration=1, annotations=notes or None)
    with atomic_path(path) as tmp:
        edf.write(tmp)
    return Path(path)
