"""Helpers of the detector tests: river reference loops, real and synthetic streams, tiny record files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgflow.parquet import write_parquet

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason=f"real PhysioNet data not found at {SHARED}")
GOLDEN = Path(__file__).resolve().parent / "golden" / "skmultiflow"


def river_indices(name: str, x, **params) -> np.ndarray:
    """Indices where river's detector fires, updating it one element at a time in a Python loop."""
    from river import drift

    det = {"adwin": drift.ADWIN, "pagehinkley": drift.PageHinkley, "ddm": drift.binary.DDM}[name](**params)
    values = [int(v) for v in x] if name == "ddm" else np.asarray(x, dtype=np.float64).tolist()
    out = []
    for i, v in enumerate(values):
        det.update(v)
        if det.drift_detected:
            out.append(i)
    return np.array(out, dtype=np.int64)


def regime_stream(seed: int, n_regimes: int = 40, length: int = 2500, scale: float = 2.0) -> np.ndarray:
    """Gaussian noise whose mean jumps at every regime boundary."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(m, 1.0, length) for m in rng.normal(0.0, scale, n_regimes)])


def binary_stream(seed: int, n_regimes: int = 40, length: int = 2500) -> np.ndarray:
    """0/1 stream whose rate of ones changes at every regime boundary."""
    rng = np.random.default_rng(seed)
    rates = np.repeat(rng.uniform(0.02, 0.6, n_regimes), length)
    return (rng.random(rates.size) < rates).astype(np.float64)


def afdb_beats(record: str, limit: int | None = None) -> tuple[pd.DataFrame, float]:
    """Beats table (column sample) of an afdb record's .qrs annotations, and its sampling rate."""
    import wfdb

    ann = wfdb.rdann(str(SHARED / "afdb" / record), "qrs")
    s = np.asarray(ann.sample, dtype=np.int64)[:limit]
    return pd.DataFrame({"sample": s}), float(ann.fs)


def mitdb_tidy(record: str, n: int) -> tuple[pd.DataFrame, float]:
    """Tidy-like table (sample, ecg float32 of the first channel) of the first ``n`` samples of a mitdb record."""
    import wfdb

    rec = wfdb.rdrecord(str(SHARED / "mitdb" / record), sampto=n, channels=[0])
    ecg = rec.p_signal[:, 0].astype(np.float32)
    return pd.DataFrame({"sample": np.arange(ecg.size, dtype=np.int64), "ecg": ecg}), float(rec.fs)


def write_record(root: Path, dataset: str = "toy", record: str = "r01", fs: float = 250.0, n: int = 60_000, seed: int = 0):
    """Tiny tidy/beats/events files under ``root/results/{dataset}``: sinusoid ECG whose level and
    beat rhythm change at 1/3 and 2/3 of the record. Returns the tidy path."""
    rng = np.random.default_rng(seed)
    sample = np.arange(n, dtype=np.int64)
    level = np.where((sample >= n // 3) & (sample < 2 * n // 3), 0.8, 0.0)
    ecg = (np.sin(2 * np.pi * 1.2 * sample / fs) * 0.3 + level + rng.normal(0, 0.05, n)).astype(np.float32)
    regular = np.arange(100, n // 3, int(0.8 * fs))
    irregular = np.cumsum(rng.integers(int(0.3 * fs), int(1.1 * fs), size=n)) + n // 3
    irregular = irregular[irregular < 2 * n // 3]
    tail = np.arange(irregular[-1] + int(0.8 * fs), n, int(0.8 * fs))
    beats = np.concatenate([regular, irregular, tail])
    meta = {"dataset": dataset, "record": record, "fs": fs, "n_samples": n, "duration_s": n / fs}
    base = root / "results" / dataset
    tidy = pd.DataFrame({"record": record, "sample": sample, "time_s": sample / fs, "ecg": ecg, "rhythm": "(N",
                         "regime_change": np.zeros(n, dtype=np.int8)})
    write_parquet(tidy, base / "tidy" / f"{record}.parquet", meta)
    write_parquet(pd.DataFrame({"sample": beats, "symbol": "N", "aami_class": "N",
                                "rr_s": np.r_[np.nan, np.diff(beats) / fs]}), base / "beats" / f"{record}.parquet", meta)
    events = np.array([n // 3, 2 * n // 3], dtype=np.int64)
    write_parquet(pd.DataFrame({"sample": events, "time_s": events / fs, "rhythm_from": ["(N", "(AFIB"],
                                "rhythm_to": ["(AFIB", "(N"]}), base / "events" / f"{record}.parquet", meta)
    return base / "tidy" / f"{record}.parquet"


def river_adwin_changes(x, **params) -> tuple[np.ndarray, np.ndarray]:
    """River ADWIN's alarms and cut points: the first element of the window it keeps (``i + 1 - width``)."""
    from river import drift

    det = drift.ADWIN(**params)
    alarm, cut = [], []
    for i, v in enumerate(np.asarray(x, dtype=np.float64).tolist()):
        det.update(v)
        if det.drift_detected:
            alarm.append(i)
            cut.append(i + 1 - int(det.width))
    return np.array(alarm, dtype=np.int64), np.array(cut, dtype=np.int64)


def hysteresis_reference(x, hi, band, dwell):
    """Plain-Python hysteresis: (alarm, change, direction) lists."""
    out, high, run = ([], [], []), False, 0
    for i, v in enumerate(x):
        run = run + 1 if ((v < hi - band) if high else (v > hi)) else 0
        if run >= dwell:
            for lst, val in zip(out, (i, i - dwell + 1, -1 if high else 1)):
                lst.append(val)
            high, run = not high, 0
    return out


def cusum_reference(x, h, p0, p1):
    """Plain-Python two-sided Bernoulli CUSUM: (alarm, change, direction) lists."""
    up, down = math.log(p1 / p0), math.log((1 - p1) / (1 - p0))
    out, high, s, last_zero = ([], [], []), False, 0.0, -1
    for i, v in enumerate(x):
        llr = up if v == 1 else down
        s += -llr if high else llr
        if s <= 0:
            s, last_zero = 0.0, i
        elif s > h:
            for lst, val in zip(out, (i, last_zero + 1, -1 if high else 1)):
                lst.append(val)
            high, s, last_zero = not high, 0.0, i
    return out


def cosen_reference(rr, r):
    """Coefficient of sample entropy of one window of RR intervals (seconds), straight from its definition."""
    w = len(rr)
    b = sum(abs(rr[i] - rr[j]) <= r for i in range(w - 1) for j in range(i + 1, w - 1))
    a = sum(abs(rr[i] - rr[j]) <= r and abs(rr[i + 1] - rr[j + 1]) <= r for i in range(w - 1) for j in range(i + 1, w - 1))
    return -math.log((a or 0.5) / (b or 0.5)) + math.log(2 * r) - math.log(sum(rr) / w)


def af_beats(seed: int, fs: float = 250.0, n_regular: int = 600, n_af: int = 600) -> tuple[pd.DataFrame, int]:
    """Beats of sinus rhythm (RR 0.8 s, 1 % jitter) followed by AF (RR uniform in 0.4-1.1 s) and sinus
    again; returns the beats table and the sample of the first AF beat (the true onset)."""
    rng = np.random.default_rng(seed)
    rr = np.concatenate([rng.normal(0.8, 0.008, n_regular), rng.uniform(0.4, 1.1, n_af), rng.normal(0.8, 0.008, n_regular)])
    s = np.round(np.cumsum(rr) * fs).astype(np.int64)
    return pd.DataFrame({"sample": s}), int(s[n_regular])
