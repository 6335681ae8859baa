"""Demo long-term records in WFDB format (mitdb-like: 2 leads, fmt 212, gain 200, beat + rhythm annotations)."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np
import wfdb

from ..errors import InputError
from .synth import rhythm_record

LEADS = ("MLII", "V1")
ADC_GAIN = 200
EXTENSIONS = ("dat", "atr", "hea")  # header last: a record is readable only once complete


def demo_record_names(n_records: int) -> list[str]:
    """Names of the first ``n_records`` demo records: d01, d02, ..."""
    return [f"d{i:02d}" for i in range(1, n_records + 1)]


def record_index(name: str) -> int:
    """Index of a demo record from its name (``d07`` -> 7)."""
    match = re.fullmatch(r"d(\d+)", name)
    if not match or int(match.group(1)) < 1:
        raise InputError(name, "demo record names are d01, d02, ... (d followed by a positive number)")
    return int(match.group(1))


def write_demo_record(out_dir, name: str, seed: int, duration_s: float = 1800, fs: float = 250) -> Path:
    """Generate demo record ``name`` and write ``name.hea/.dat/.atr`` into ``out_dir``.

    The record depends only on (seed, record index, duration, fs): adding records leaves the others
    unchanged. Files are written in a temporary folder and renamed into place, header last.
    Returns the record path without extension.
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), record_index(name)]))
    rec = rhythm_record(rng, duration_s, fs, LEADS)
    tl, signal = rec.timeline, rec.signal
    del rec  # the float signal is converted in place and dropped before writing: a 24-h record is 350 MB of it
    signal *= ADC_GAIN
    np.clip(np.round(signal, out=signal), -2048, 2047, out=signal)
    digital = signal.astype(np.int64)
    del signal
    beat_samples = np.round(tl.times * fs).astype(np.int64)
    rhythm_samples = np.round(tl.rhythm_times * fs).astype(np.int64)
    samples = np.concatenate([rhythm_samples, beat_samples])
    symbols = ["+"] * len(rhythm_samples) + list(tl.symbols)
    aux = list(tl.rhythms) + [""] * len(beat_samples)
    order = np.argsort(samples, kind="stable")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=f".{name}.") as tmp:
        wfdb.wrsamp(name, fs=fs, units=["mV"] * len(LEADS), sig_name=list(LEADS), d_signal=digital,
                    fmt=["212"] * len(LEADS), adc_gain=[ADC_GAIN] * len(LEADS), baseline=[0] * len(LEADS),
                    comments=[f"ecgflow demo record {name}: synthetic ECG, seed {int(seed)}"], write_dir=tmp)
        wfdb.wrann(name, "atr", samples[order], symbol=[symbols[i] for i in order],
                   aux_note=[aux[i] for i in order], fs=fs, write_dir=tmp)
        for ext in EXTENSIONS:
            os.replace(Path(tmp) / f"{name}.{ext}", out_dir / f"{name}.{ext}")
    return out_dir / name
