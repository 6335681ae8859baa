"""Training datasets: arrays stored as ``X.npy`` (float32) beside a Parquet index.

Two tasks:

- ``superclass``: PTB-XL-layout folders, 12 leads x 1000 samples (100 Hz), multi-label diagnostic
  superclasses. A statement code counts toward its ``diagnostic_class`` whatever its likelihood value
  (the usual PTB-XL aggregation); records without a superclass are dropped; ``strat_fold`` 1-8 is
  train, 9 validation, 10 test. Signals are stored in mV as read; the model standardises its input.
- ``beats``: one window per AAMI-labelled beat of the data stage's tidy signal, resampled to a fixed
  length and standardised per window, plus the beat's RR-interval features in ``rr.npy`` (float32,
  beats x :data:`RR_FEATURES`, see :func:`rr_features`). mitdb uses the de Chazal inter-patient split
  (DS1 train with whole records held out for validation, DS2 test, paced records excluded); other
  datasets use a seeded record-level split (see :func:`record_split`).

Index columns: ``row`` (position in ``X``), identifiers, ``split`` (train/val/test), labels. The index
metadata lists the columns of ``rr.npy`` under ``rr_features`` when the dataset has them.
"""

from __future__ import annotations

import ast
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import wfdb

from ..errors import InputError
from ..logs import progress
from ..parquet import read_metadata, write_parquet

SUPERCLASSES = ("NORM", "MI", "STTC", "CD", "HYP")
AAMI_CLASSES = ("N", "S", "V", "F", "Q")
SPLITS = ("train", "val", "test")
PTBXL_DATABASE_NAMES = ("ptbxl_database.csv", "ptbxl_database_subset.csv")
PTBXL_LEADS = 12
PTBXL_LENGTH = 1000

DS1 = ("101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122", "124", "201", "203",
       "205", "207", "208", "209", "215", "220", "223", "230")
DS2 = ("100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210", "212", "213", "214",
       "219", "221", "222", "228", "231", "232", "233", "234")
PACED = ("102", "104", "107", "217")
RR_FEATURES = ("pre_rr_s", "post_rr_s", "local_rr_s", "record_rr_s", "pre_local", "post_local", "pre_post")
LOCAL_RR_INTERVALS = 10


# ---------------------------------------------------------------------------------------------- I/O

def save_dataset(X: np.ndarray, index: pd.DataFrame, out_dir, metadata: dict,
                 rr: np.ndarray | None = None) -> Path:
    """Write ``X.npy``, ``rr.npy`` when given (both atomically) and ``index.parquet`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _save_npy(np.ascontiguousarray(X, dtype=np.float32), out_dir / "X.npy")
    if rr is not None:
        _save_npy(np.ascontiguousarray(rr, dtype=np.float32), out_dir / "rr.npy")
    write_parquet(index, out_dir / "index.parquet", metadata)
    return out_dir


def load_dataset(dataset_dir, mmap: bool = True) -> tuple[np.ndarray, pd.DataFrame, dict]:
    """``(X, index, metadata)`` of a built dataset; ``X`` memory-mapped read-only unless ``mmap=False``."""
    dataset_dir = Path(dataset_dir)
    x_path, index_path = dataset_dir / "X.npy", dataset_dir / "index.parquet"
    for path in (x_path, index_path):
        if not path.exists():
            raise InputError(path, "missing: build the dataset first")
    X = np.load(x_path, mmap_mode="r" if mmap else None)
    index = pd.read_parquet(index_path)
    if len(index) != X.shape[0] or not np.array_equal(index["row"].to_numpy(), np.arange(len(index))):
        raise InputError(index_path, f"index rows do not match X.npy ({X.shape[0]} windows)")
    return X, index, read_metadata(index_path)


def load_rr(dataset_dir, metadata: dict, mmap: bool = True) -> np.ndarray | None:
    """The ``rr.npy`` features of a built dataset (memory-mapped unless ``mmap=False``), or ``None`` when its
    ``metadata`` lists no ``rr_features``."""
    names = metadata.get("rr_features")
    if not names:
        return None
    path = Path(dataset_dir) / "rr.npy"
    if not path.exists():
        raise InputError(path, "missing: build the dataset first")
    rr = np.load(path, mmap_mode="r" if mmap else None)
    expected = (int(metadata["shape"][0]), len(names))
    if rr.shape != expected or rr.dtype != np.float32:
        raise InputError(path, f"expected float32 {expected}, got {rr.dtype} {rr.shape}")
    return rr


def _save_npy(X: np.ndarray, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, X)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------------------------- superclass

def ptbxl_database_path(folder) -> Path:
    """The database table of a PTB-XL-layout folder (``ptbxl_database.csv``, or the ``_subset`` sample)."""
    folder = Path(folder)
    for name in PTBXL_DATABASE_NAMES:
        if (folder / name).exists():
            return folder / name
    raise InputError(folder, f"no {' or '.join(PTBXL_DATABASE_NAMES)}")


def superclass_labels(database: pd.DataFrame, statements: pd.DataFrame, path) -> pd.DataFrame:
    """``ecg_id``, ``strat_fold``, ``filename_lr`` and one 0/1 column per superclass (rows without any dropped)."""
    for column in ("ecg_id", "scp_codes", "strat_fold", "filename_lr"):
        if column not in database.columns:
            raise InputError(path, f"missing column '{column}'")
    code_class = statements["diagnostic_class"].dropna().to_dict()
    rows = []
    for ecg_id, codes, fold, filename in database[["ecg_id", "scp_codes", "strat_fold", "filename_lr"]].itertuples(
            index=False):
        try:
            parsed = ast.literal_eval(codes)
        except (ValueError, SyntaxError) as err:
            raise InputError(path, f"ecg_id {ecg_id}: scp_codes is not a dict literal ({err})") from None
        classes = {code_class[code] for code in parsed if code in code_class}
        if classes:
            rows.append((int(ecg_id), int(fold), str(filename), *(int(c in classes) for c in SUPERCLASSES)))
    table = pd.DataFrame(rows, columns=["ecg_id", "strat_fold", "filename_lr", *SUPERCLASSES])
    table = table.astype({"ecg_id": "int64", "strat_fold": "int8", **{c: "int8" for c in SUPERCLASSES}})
    return table.sort_values("ecg_id", kind="stable").reset_index(drop=True)


def fold_split(fold: int) -> str:
    """PTB-XL's recommended split: folds 1-8 train, 9 validation, 10 test."""
    if not 1 <= fold <= 10:
        raise ValueError(f"strat_fold {fold} outside 1..10")
    return "train" if fold <= 8 else ("val" if fold == 9 else "test")


def read_ptbxl_signal(path) -> np.ndarray:
    """One 100 Hz PTB-XL record as float32 ``(12, 1000)`` in mV."""
    try:
        record = wfdb.rdrecord(str(path))
    except (FileNotFoundError, ValueError) as err:
        raise InputError(f"{path}.hea", f"cannot read WFDB record ({err})") from None
    signal = record.p_signal
    if signal is None or signal.shape != (PTBXL_LENGTH, PTBXL_LEADS):
        shape = None if signal is None else signal.shape
        raise InputError(f"{path}.hea", f"expected {PTBXL_LENGTH} samples x {PTBXL_LEADS} leads, got {shape}")
    if not np.isfinite(signal).all():
        raise InputError(f"{path}.dat", "signal has non-finite values")
    return signal.T.astype(np.float32)


def build_superclass(folder, out_dir) -> pd.DataFrame:
    """Build the ``superclass`` dataset of a PTB-XL-layout ``folder`` into ``out_dir``; returns the index."""
    folder = Path(folder)
    db_path = ptbxl_database_path(folder)
    st_path = folder / "scp_statements.csv"
    if not st_path.exists():
        raise InputError(st_path, "missing")
    statements = pd.read_csv(st_path, index_col=0)
    if "diagnostic_class" not in statements.columns:
        raise InputError(st_path, "missing column 'diagnostic_class'")
    table = superclass_labels(pd.read_csv(db_path), statements, db_path)
    if table.empty:
        raise InputError(db_path, "no record has a diagnostic superclass")
    try:
        splits = [fold_split(f) for f in table["strat_fold"]]
    except ValueError as err:
        raise InputError(db_path, str(err)) from None
    X = np.empty((len(table), PTBXL_LEADS, PTBXL_LENGTH), dtype=np.float32)
    for i, filename in enumerate(progress(table["filename_lr"], "PTB-XL records")):
        X[i] = read_ptbxl_signal(folder / filename)
    index = pd.DataFrame({"row": np.arange(len(table), dtype=np.int64), "ecg_id": table["ecg_id"],
                          "split": splits, "strat_fold": table["strat_fold"], **{c: table[c] for c in SUPERCLASSES}})
    save_dataset(X, index, out_dir, {"task": "superclass", "classes": list(SUPERCLASSES), "fs": 100.0,
                                     "shape": list(X.shape), "source": db_path.name})
    return index


# ------------------------------------------------------------------------------------------ beats

def record_split(records, val_fraction: float, seed: int, dataset: str) -> dict[str, str]:
    """Record -> split.

    mitdb: de Chazal 2004; DS2 is test; ``round(val_fraction * n)`` (at least one) DS1 records, drawn
    with ``seed``, are validation; paced and unlisted records are left out. Other datasets: the sorted
    records are shuffled with ``seed``; the first ``max(1, round(val_fraction * n))`` are test, the next
    as many validation, the rest train (at least three records needed).
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction}")
    records = sorted(set(map(str, records)))
    rng = np.random.default_rng(seed)
    if dataset == "mitdb":
        train = [r for r in records if r in DS1]
        test = [r for r in records if r in DS2]
        if len(train) < 2 or not test:
            raise ValueError(f"mitdb split needs at least two DS1 records and one DS2 record, got {records}")
        n_val = min(len(train) - 1, max(1, round(val_fraction * len(train))))
        val = set(rng.choice(train, size=n_val, replace=False).tolist())
        split = {r: ("val" if r in val else "train") for r in train}
        split.update({r: "test" for r in test})
        return dict(sorted(split.items()))
    if len(records) < 3:
        raise ValueError(f"a train/val/test record split needs at least three records, got {records}")
    n_hold = min((len(records) - 1) // 2, max(1, round(val_fraction * len(records))))
    order = [records[i] for i in rng.permutation(len(records))]
    split = {r: "test" for r in order[:n_hold]}
    split.update({r: "val" for r in order[n_hold:2 * n_hold]})
    split.update({r: "train" for r in order[2 * n_hold:]})
    return dict(sorted(split.items()))


def beat_windows(ecg: np.ndarray, peaks: np.ndarray, fs: float, window_s, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows ``window_s[0]`` s before to ``window_s[1]`` s after each peak, linearly resampled to
    ``length`` points and standardised per window; returns ``(windows, kept)`` where ``kept`` marks the
    peaks whose window lies inside the signal."""
    pre, post = float(window_s[0]) * fs, float(window_s[1]) * fs
    peaks = np.asarray(peaks, dtype=np.int64)
    kept = (peaks - pre >= 0) & (peaks + post <= len(ecg) - 1)
    positions = peaks[kept, None] + np.linspace(-pre, post, length)[None, :]
    windows = np.interp(positions.ravel(), np.arange(len(ecg)), ecg.astype(np.float64)).reshape(positions.shape)
    windows -= windows.mean(axis=1, keepdims=True)
    std = windows.std(axis=1, keepdims=True)
    windows /= np.where(std > 1e-8, std, 1.0)
    return windows.astype(np.float32), kept


def rr_features(samples, fs: float, local: int = LOCAL_RR_INTERVALS) -> np.ndarray:
    """RR-interval features (float64, beats x :data:`RR_FEATURES`) of every beat of one record.

    ``samples``: the record's beat positions (strictly increasing, at least two), ``fs`` in Hz. As in the
    inter-patient literature (de Chazal et al. 2004; Mondejar-Guerra et al. 2019) the features are not
    causal: they look at the next beat and at the whole record (offline classification of a recording).

    - ``pre_rr_s``/``post_rr_s``: seconds from the previous beat / to the next beat (the first beat takes
      its post-RR as pre-RR, the last its pre-RR as post-RR);
    - ``local_rr_s``: mean of the ``local`` RR intervals around the beat (``local // 2`` ending at or
      before it, as many starting at or after it; fewer at the record's ends);
    - ``record_rr_s``: mean RR interval of the record;
    - ``pre_local``, ``post_local``, ``pre_post``: pre-RR / local, post-RR / local, pre-RR / post-RR.
    """
    t = np.asarray(samples, dtype=np.float64) / float(fs)
    n = len(t)
    if n < 2:
        raise ValueError(f"RR features need at least two beats, got {n}")
    rr = np.diff(t)
    if not (rr > 0).all():
        raise ValueError("beat samples are not strictly increasing")
    pre, post = np.r_[rr[0], rr], np.r_[rr, rr[-1]]
    half = max(1, local // 2)
    beat = np.arange(n)
    lo, hi = np.maximum(beat - half, 0), np.minimum(beat + half, n - 1)
    local_rr = (t[hi] - t[lo]) / (hi - lo)  # intervals lo..hi-1 are consecutive: their sum is t[hi] - t[lo]
    record_rr = np.full(n, (t[-1] - t[0]) / (n - 1))
    return np.column_stack([pre, post, local_rr, record_rr, pre / local_rr, post / local_rr, pre / post])


def build_beats(inputs, dataset: str, out_dir, window_s, length: int, val_fraction: float, seed: int) -> pd.DataFrame:
    """Build the ``beats`` dataset from data-stage tables.

    ``inputs`` maps record -> ``(tidy_path, beats_path)``. RR features are computed over every beat row
    of a record; then beats without an AAMI class and windows that run past the signal are dropped.
    Returns the index (``row, record, sample, split, aami_class, label``).
    """
    try:
        split = record_split(inputs, val_fraction, seed, dataset)
    except ValueError as err:
        raise InputError(f"results/{dataset}/tidy", str(err)) from None
    chunks, rr_chunks, parts = [], [], []
    for record in sorted(split):
        tidy_path, beats_path = map(Path, inputs[record])
        tidy = pd.read_parquet(tidy_path, columns=["sample", "ecg"])
        fs = read_metadata(tidy_path).get("fs")
        if not fs or fs <= 0:
            raise InputError(tidy_path, "metadata has no positive 'fs'")
        sample = tidy["sample"].to_numpy()
        if len(sample) and not np.array_equal(sample, sample[0] + np.arange(len(sample))):
            raise InputError(tidy_path, "samples are not contiguous")
        beats = pd.read_parquet(beats_path, columns=["sample", "aami_class"]).sort_values("sample", kind="stable")
        try:
            rr = rr_features(beats["sample"].to_numpy(), float(fs))
        except ValueError as err:
            raise InputError(beats_path, str(err)) from None
        labelled = beats["aami_class"].isin(AAMI_CLASSES).to_numpy()
        beats, rr = beats[labelled], rr[labelled]
        offset = int(sample[0]) if len(sample) else 0
        windows, kept = beat_windows(tidy["ecg"].to_numpy(), beats["sample"].to_numpy() - offset, float(fs),
                                     window_s, length)
        beats = beats[kept]
        chunks.append(windows)
        rr_chunks.append(rr[kept])
        parts.append(pd.DataFrame({"record": record, "sample": beats["sample"].to_numpy(np.int64),
                                   "split": split[record], "aami_class": beats["aami_class"].to_numpy(str)}))
    index = pd.concat(parts, ignore_index=True)
    if index.empty:
        raise InputError(f"results/{dataset}/beats", "no beat with an AAMI class")
    index.insert(0, "row", np.arange(len(index), dtype=np.int64))
    index["label"] = index["aami_class"].map({c: i for i, c in enumerate(AAMI_CLASSES)}).astype("int8")
    X = np.concatenate(chunks)[:, None, :]
    save_dataset(X, index, out_dir, {"task": "beats", "dataset": dataset, "classes": list(AAMI_CLASSES),
                                     "window_s": [float(w) for w in window_s], "length": int(length),
                                     "split": split, "shape": list(X.shape), "rr_features": list(RR_FEATURES),
                                     "local_rr_intervals": LOCAL_RR_INTERVALS},
                 rr=np.concatenate(rr_chunks))
    return index
