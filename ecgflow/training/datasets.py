"""Training datasets: arrays stored as ``X.npy`` (float32) beside a Parquet index.

Two tasks:

- ``superclass``: PTB-XL-layout folders, 12 leads x 1000 samples (100 Hz), multi-label diagnostic
  superclasses. A statement code counts toward its ``diagnostic_class`` whatever its likelihood value
  (the usual PTB-XL aggregation); records without a superclass are dropped; ``strat_fold`` 1-8 is
  train, 9 validation, 10 test. Signals are stored in mV as read; the model standardises its input.
- ``beats``: one window per AAMI-labelled beat of the data stage's tidy lead and of the record's
  second lead, band-passed, resampled to a fixed length and taken relative to the record's median beat
  (leads x length), plus per-beat features in ``features.npy`` (float32, beats x :data:`FEATURES`: RR
  intervals normalised to the patient's own rhythm, neighbouring beats, morphology, and each of these
  again relative to the record's median and interquartile range). mitdb uses the de
  Chazal inter-patient split (DS1 training side, DS2 test, paced records excluded); other datasets a
  seeded record-level test set. Validation records come from the training side only, chosen so that
  each class has its share of validation beats (:func:`choose_validation`).

Index columns: ``row`` (position in ``X``), identifiers, ``split`` (train/val/test), labels. The index
metadata lists the columns of ``features.npy`` under ``features`` when the dataset has them.
"""

from __future__ import annotations

import ast
import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.signal
import wfdb

from .. import wfdb_read
from ..beats import AAMI_CLASSES
from ..errors import InputError
from ..logs import progress
from ..parquet import atomic_path, read_metadata, write_parquet

SUPERCLASSES = ("NORM", "MI", "STTC", "CD", "HYP")
SPLITS = ("train", "val", "test")
PTBXL_DATABASE_NAMES = ("ptbxl_database.csv", "ptbxl_database_subset.csv")
PTBXL_LEADS = 12
PTBXL_LENGTH = 1000

DS1 = ("101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122", "124", "201", "203",
       "205", "207", "208", "209", "215", "220", "223", "230")
DS2 = ("100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210", "212", "213", "214",
       "219", "221", "222", "228", "231", "232", "233", "234")
PACED = ("102", "104", "107", "217")
RR_FEATURES = ("pre_rr_s", "post_rr_s", "local_rr_s", "record_rr_s", "pre_local", "post_local", "pre_post",
               "pre_running", "post_running", "local_running", "prev_pre_local", "next_pre_local",
               "local_irregularity")
MORPHOLOGY_FEATURES = ("template_corr_1", "template_corr_2", "template_energy_1", "template_energy_2")
PATIENT_FEATURES = tuple(f"{name}_patient" for name in RR_FEATURES + MORPHOLOGY_FEATURES)
FEATURES = RR_FEATURES + MORPHOLOGY_FEATURES + PATIENT_FEATURES
LOCAL_RR_INTERVALS = 10
RUNNING_RR_S = 300.0
BAND_HZ = (0.5, 40.0)
CHANNELS = ("deviation", "both")


# ---------------------------------------------------------------------------------------------- I/O

def save_dataset(X: np.ndarray, index: pd.DataFrame, out_dir, metadata: dict,
                 features: np.ndarray | None = None) -> Path:
    """Write ``X.npy``, ``features.npy`` when given (both atomically) and ``index.parquet`` into ``out_dir``."""
    out_dir = Path(out_dir)
    _save_npy(np.ascontiguousarray(X, dtype=np.float32), out_dir / "X.npy")
    if features is not None:
        _save_npy(np.ascontiguousarray(features, dtype=np.float32), out_dir / "features.npy")
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


def load_features(dataset_dir, metadata: dict, mmap: bool = True) -> np.ndarray | None:
    """The ``features.npy`` array of a built dataset (memory-mapped unless ``mmap=False``), or ``None``
    when its ``metadata`` lists no ``features``."""
    names = metadata.get("features")
    if not names:
        return None
    path = Path(dataset_dir) / "features.npy"
    if not path.exists():
        raise InputError(path, "missing: build the dataset first")
    features = np.load(path, mmap_mode="r" if mmap else None)
    expected = (int(metadata["shape"][0]), len(names))
    if features.shape != expected or features.dtype != np.float32:
        raise InputError(path, f"expected float32 {expected}, got {features.dtype} {features.shape}")
    return features


def _save_npy(X: np.ndarray, path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, X)


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
    labels = superclass_matrix(database, statements, path)
    table = pd.concat([database[["ecg_id", "strat_fold", "filename_lr"]], labels], axis=1)[labels.any(axis=1)]
    table = table.astype({"ecg_id": "int64", "strat_fold": "int8", "filename_lr": "str"})
    return table.sort_values("ecg_id", kind="stable").reset_index(drop=True)


def superclass_matrix(database: pd.DataFrame, statements: pd.DataFrame, path="ptbxl_database.csv") -> pd.DataFrame:
    """One int8 0/1 column per superclass for every row of ``database`` (same index): a statement code of
    ``scp_codes`` counts toward its ``diagnostic_class`` whatever its likelihood value."""
    code_class = statements["diagnostic_class"].dropna().to_dict()
    out = np.zeros((len(database), len(SUPERCLASSES)), dtype=np.int8)
    ids = database["ecg_id"] if "ecg_id" in database.columns else database.index
    for i, (ecg_id, codes) in enumerate(zip(ids, database["scp_codes"])):
        try:
            parsed = ast.literal_eval(codes)
        except (ValueError, SyntaxError) as err:
            raise InputError(path, f"ecg_id {ecg_id}: scp_codes is not a dict literal ({err})") from None
        for code in parsed:
            if code in code_class:
                out[i, SUPERCLASSES.index(code_class[code])] = 1
    return pd.DataFrame(out, columns=list(SUPERCLASSES), index=database.index)


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

def test_records(records, val_fraction: float, seed: int, dataset: str) -> tuple[list[str], list[str]]:
    """``(train_side, test)`` records of the beats task.

    mitdb: de Chazal 2004, DS1 is the training side, DS2 the test set; paced and unlisted records are
    left out. Other datasets: the sorted records are shuffled with ``seed`` and the first
    ``max(1, round(val_fraction * n))`` are test (at least three records needed).
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction}")
    records = sorted(set(map(str, records)))
    if dataset == "mitdb":
        train = [r for r in records if r in DS1]
        test = [r for r in records if r in DS2]
        if len(train) < 2 or not test:
            raise ValueError(f"mitdb split needs at least two DS1 records and one DS2 record, got {records}")
        return train, test
    if len(records) < 3:
        raise ValueError(f"a train/val/test record split needs at least three records, got {records}")
    n_test = min((len(records) - 1) // 2, max(1, round(val_fraction * len(records))))
    order = [records[i] for i in np.random.default_rng(seed).permutation(len(records))]
    return sorted(order[n_test:]), sorted(order[:n_test])


def choose_validation(counts: pd.DataFrame, n_val: int, seed: int, max_candidates: int = 20000) -> list[str]:
    """The ``n_val`` records (rows of ``counts``: beats per class) whose share of each class's beats is
    closest to ``n_val / len(counts)``: the mean absolute gap over the classes present in at least two
    records is minimised over every subset (or ``max_candidates`` seeded random ones when there are more),
    ties going to the first in a seeded order. Sorted record names."""
    records = list(counts.index)
    if not 1 <= n_val < len(records):
        raise ValueError(f"cannot hold out {n_val} of {len(records)} records for validation")
    C = counts.to_numpy(np.float64)
    total, target = C.sum(0), n_val / len(records)
    usable = (C > 0).sum(0) >= 2
    rng = np.random.default_rng(seed)
    if math.comb(len(records), n_val) <= max_candidates:
        candidates = np.array(list(itertools.combinations(range(len(records)), n_val)))
    else:
        candidates = np.sort(np.array([rng.choice(len(records), n_val, replace=False)
                                       for _ in range(max_candidates)]), axis=1)
    candidates = candidates[rng.permutation(len(candidates))]
    share = C[candidates].sum(1) / np.maximum(total, 1)
    gap = np.abs(share - target)[:, usable].mean(1) if usable.any() else np.zeros(len(candidates))
    return sorted(records[i] for i in candidates[int(np.argmin(gap))])


def class_counts(index: pd.DataFrame) -> pd.DataFrame:
    """Beats per record (rows, sorted) and AAMI class (columns, all of :data:`AAMI_CLASSES`) of a beats index."""
    return pd.crosstab(index["record"], pd.Categorical(index["aami_class"], categories=AAMI_CLASSES), dropna=False)


def record_split(counts: pd.DataFrame, test: list[str], val_fraction: float, seed: int) -> dict[str, str]:
    """Record -> split: ``test`` records are test; ``max(1, round(val_fraction * n))`` of the other
    records (rows of ``counts``, beats per class) are validation, chosen by :func:`choose_validation`
    so that every class has its share of validation beats; the rest train."""
    train_side = counts.drop(index=[r for r in test if r in counts.index])
    n_val = min(len(train_side) - 1, max(1, round(val_fraction * len(train_side))))
    val = set(choose_validation(train_side, n_val, seed))
    split = {r: ("val" if r in val else "train") for r in train_side.index}
    split.update({r: "test" for r in test})
    return dict(sorted(split.items()))


def bandpass(signal: np.ndarray, fs: float) -> np.ndarray:
    """Zero-phase Butterworth band-pass (order 2, :data:`BAND_HZ`, the upper edge kept below 0.45 fs) of
    ``signal`` (leads x samples): removes baseline wander and high-frequency noise."""
    lo, hi = BAND_HZ[0], min(BAND_HZ[1], 0.45 * fs)
    sos = scipy.signal.butter(2, [lo / (fs / 2), hi / (fs / 2)], btype="band", output="sos")
    return scipy.signal.sosfiltfilt(sos, np.asarray(signal, dtype=np.float64), axis=-1)


def beat_windows(signal: np.ndarray, peaks: np.ndarray, fs: float, window_s,
                 length: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows (beats x leads x ``length``) ``window_s[0]`` s before to ``window_s[1]`` s after each peak of
    ``signal`` (leads x samples), linearly resampled; returns ``(windows, kept)``, ``kept`` marking the
    peaks whose window lies inside the signal. Each window is shifted to median 0, and each lead is
    divided by the record's median peak-to-peak window amplitude, so amplitudes compare within a patient."""
    signal = np.atleast_2d(np.asarray(signal, dtype=np.float64))
    pre, post = float(window_s[0]) * fs, float(window_s[1]) * fs
    peaks = np.asarray(peaks, dtype=np.int64)
    kept = (peaks - pre >= 0) & (peaks + post <= signal.shape[1] - 1)
    positions = (peaks[kept, None] + np.linspace(-pre, post, length)[None, :]).ravel()
    grid = np.arange(signal.shape[1])
    windows = np.stack([np.interp(positions, grid, lead).reshape(-1, length) for lead in signal], axis=1)
    windows -= np.median(windows, axis=2, keepdims=True)
    if len(windows):
        scale = np.median(windows.max(axis=2) - windows.min(axis=2), axis=0)
        windows /= np.where(scale > 1e-8, scale, 1.0)[None, :, None]
    return windows.astype(np.float32), kept


def template_channels(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(deviations, morphology)`` of one record's windows (beats x leads x length): each window minus
    the record's median beat (its dominant morphology) per lead, and per beat and lead the correlation
    with that median beat and the deviation's energy relative to the median beat's (beats x 2 leads,
    columns of :data:`MORPHOLOGY_FEATURES`)."""
    template = np.median(windows, axis=0, keepdims=True)
    deviation = windows - template
    centred = windows - windows.mean(axis=2, keepdims=True)
    t_centred = template - template.mean(axis=2, keepdims=True)
    denom = np.sqrt((centred ** 2).sum(2) * (t_centred ** 2).sum(2))
    corr = np.divide((centred * t_centred).sum(2), denom, out=np.zeros(denom.shape), where=denom > 1e-12)
    energy = (deviation ** 2).sum(2) / np.maximum((template ** 2).sum(2), 1e-12)
    return deviation.astype(np.float32), np.column_stack([corr, energy])


def patient_normalised(features: np.ndarray) -> np.ndarray:
    """Each column of one record's features (beats x k) relative to the record's own distribution:
    ``(x - median) / interquartile range`` over the record's beats (the range taken as 1 where it is 0).
    An unsupervised adaptation to the patient: it uses no label, so a test record is normalised the same
    way from its own beats (columns of :data:`PATIENT_FEATURES`)."""
    features = np.asarray(features, dtype=np.float64)
    if not len(features):
        return features.copy()
    q1, median, q3 = np.percentile(features, [25, 50, 75], axis=0)
    spread = q3 - q1
    return (features - median) / np.where(spread > 1e-9, spread, 1.0)


def rr_features(samples, fs: float, local: int = LOCAL_RR_INTERVALS, running_s: float = RUNNING_RR_S) -> np.ndarray:
    """RR-interval features (float64, beats x :data:`RR_FEATURES`) of every beat of one record.

    ``samples``: the record's beat positions (strictly increasing, at least two), ``fs`` in Hz. As in the
    inter-patient literature (de Chazal et al. 2004; Mondejar-Guerra et al. 2019) the features are not
    causal: they look at the next beat and at the whole record (offline classification of a recording),
    and they are normalised to the patient's own rhythm.

    - ``pre_rr_s``/``post_rr_s``: seconds from the previous beat / to the next beat (the first beat takes
      its post-RR as pre-RR, the last its pre-RR as post-RR);
    - ``local_rr_s``: mean of the ``local`` RR intervals around the beat (``local // 2`` ending at or
      before it, as many starting at or after it; fewer at the record's ends);
    - ``record_rr_s``: mean RR interval of the record;
    - ``pre_local``, ``post_local``, ``pre_post``: pre-RR / local, post-RR / local, pre-RR / post-RR;
    - ``pre_running``, ``post_running``, ``local_running``: pre-RR, post-RR and local RR over the running
      rhythm, the mean RR interval of the ``running_s`` seconds before the beat (the beat's post-RR for
      the first beat);
    - ``prev_pre_local``, ``next_pre_local``: ``pre_local`` of the neighbouring beats (context);
    - ``local_irregularity``: mean absolute change of successive RR intervals around the beat (same
      span as ``local_rr_s``) over the local RR (high in atrial fibrillation).
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
    first = np.minimum(np.searchsorted(t, t - running_s), np.maximum(beat - 1, 0))
    running = np.where(beat > 0, (t - t[first]) / np.maximum(beat - first, 1), post)
    pre_local = pre / local_rr
    change = np.abs(np.diff(pre))
    cumulative = np.r_[0.0, np.cumsum(np.r_[change[:1], change])]  # beat i's change: |pre_i - pre_(i-1)|
    irregularity = (cumulative[hi + 1] - cumulative[lo]) / (hi - lo + 1) / local_rr
    return np.column_stack([pre, post, local_rr, record_rr, pre_local, post / local_rr, pre / post,
                            pre / running, post / running, local_rr / running, np.r_[pre_local[:1], pre_local[:-1]],
                            np.r_[pre_local[1:], pre_local[-1:]], irregularity])


def second_lead(header_path, primary: str | None, n_samples: int) -> tuple[np.ndarray, str]:
    """The first channel of the WFDB record ``header_path`` other than the lead named ``primary`` (float64
    mV, checked for missing samples as the tidy lead is) and its name; the record must have ``n_samples``
    samples."""
    header_path = Path(header_path)
    parsed = wfdb_read.header(header_path)
    others = [i for i, name in enumerate(parsed.sig_name) if name != primary]
    if not others:
        raise InputError(header_path, f"a second lead is needed (train.beats.leads: 2), the record has only "
                                      f"{parsed.sig_name}")
    signal, name, _, _ = wfdb_read.read_lead(header_path, others[0], max_flat_s=math.inf, parsed=parsed)
    if len(signal) != n_samples:
        raise InputError(header_path, f"second lead {name}: expected {n_samples} samples, got {len(signal)}")
    return signal.astype(np.float64), name


def _record_beats(record: str, paths, window_s, length: int, leads: int, channels: str):
    """Windows (beats x channels x length), features and index part of one record's labelled beats."""
    tidy_path, beats_path = Path(paths[0]), Path(paths[1])
    tidy = pd.read_parquet(tidy_path, columns=["sample", "ecg"])
    meta = read_metadata(tidy_path)
    fs = meta.get("fs")
    if not fs or fs <= 0:
        raise InputError(tidy_path, "metadata has no positive 'fs'")
    sample = tidy["sample"].to_numpy()
    if len(sample) and not np.array_equal(sample, sample[0] + np.arange(len(sample))):
        raise InputError(tidy_path, "samples are not contiguous")
    signal, names = [tidy["ecg"].to_numpy(np.float64)], [meta.get("lead")]
    if leads == 2:
        if len(paths) < 3 or paths[2] is None:
            raise InputError(tidy_path, "a second lead needs the record's WFDB header")
        other, name = second_lead(paths[2], meta.get("lead"), len(sample))
        signal.append(other)
        names.append(name)
    beats = pd.read_parquet(beats_path, columns=["sample", "aami_class"]).sort_values("sample", kind="stable")
    try:
        features = rr_features(beats["sample"].to_numpy(), float(fs))
    except ValueError as err:
        raise InputError(beats_path, str(err)) from None
    labelled = beats["aami_class"].isin(AAMI_CLASSES).to_numpy()
    beats, features = beats[labelled], features[labelled]
    offset = int(sample[0]) if len(sample) else 0
    windows, kept = beat_windows(bandpass(np.stack(signal), float(fs)), beats["sample"].to_numpy() - offset,
                                 float(fs), window_s, length)
    beats, features = beats[kept], features[kept]
    deviation, morphology = template_channels(windows)
    if leads == 1:
        morphology = np.column_stack([morphology[:, :1], morphology[:, :1], morphology[:, 1:], morphology[:, 1:]])
    part = pd.DataFrame({"record": record, "sample": beats["sample"].to_numpy(np.int64),
                         "aami_class": beats["aami_class"].to_numpy(str)})
    X = deviation if channels == "deviation" else np.concatenate([windows, deviation], axis=1)
    features = np.column_stack([features, morphology])
    return X, np.column_stack([features, patient_normalised(features)]), part, names


def build_beats(inputs, dataset: str, out_dir, window_s, length: int, val_fraction: float, seed: int,
                leads: int = 2, channels: str = "deviation") -> pd.DataFrame:
    """Build the ``beats`` dataset from data-stage tables.

    ``inputs`` maps record -> ``(tidy_path, beats_path[, header_path])``; the WFDB header is needed for
    the second lead (``leads=2``: the record's first channel other than the tidy lead). Each lead is
    band-passed and windowed around every AAMI-labelled beat (:func:`beat_windows`); ``channels``
    ``deviation`` stores each window's deviation from the record's median beat (:func:`template_channels`),
    ``both`` the windows followed by their deviations (channels = leads x 2). The features
    (:data:`FEATURES`) are the RR features, computed over every beat row of a record, then the
    morphology features, then both relative to the record's kept beats (:func:`patient_normalised`).
    Beats without an AAMI class and windows that run past the signal are dropped.
    Returns the index (``row, record, sample, split, aami_class, label``).
    """
    if leads not in (1, 2):
        raise ValueError(f"leads must be 1 or 2, got {leads}")
    if channels not in CHANNELS:
        raise ValueError(f"channels must be one of {CHANNELS}, got {channels!r}")
    try:
        _, test = test_records(inputs, val_fraction, seed, dataset)
    except ValueError as err:
        raise InputError(f"results/{dataset}/tidy", str(err)) from None
    chunks, feature_chunks, parts, lead_names = [], [], [], {}
    for record in progress(sorted(inputs), "beat windows"):
        windows, features, part, lead_names[record] = _record_beats(record, inputs[record], window_s, length, leads,
                                                                    channels)
        chunks.append(windows)
        feature_chunks.append(features)
        parts.append(part)
    index = pd.concat(parts, ignore_index=True)
    if index.empty:
        raise InputError(f"results/{dataset}/beats", "no beat with an AAMI class")
    counts = class_counts(index).reindex(sorted(inputs), fill_value=0)
    split = record_split(counts, test, val_fraction, seed)
    index.insert(0, "row", np.arange(len(index), dtype=np.int64))
    index.insert(3, "split", index["record"].map(split).astype(str))
    index["label"] = index["aami_class"].map({c: i for i, c in enumerate(AAMI_CLASSES)}).astype("int8")
    X = np.concatenate(chunks)
    save_dataset(X, index, out_dir, {"task": "beats", "dataset": dataset, "classes": list(AAMI_CLASSES),
                                     "window_s": [float(w) for w in window_s], "length": int(length),
                                     "split": split, "leads": lead_names, "channels": channels, "shape": list(X.shape),
                                     "features": list(FEATURES), "local_rr_intervals": LOCAL_RR_INTERVALS,
                                     "running_rr_s": RUNNING_RR_S, "band_hz": list(BAND_HZ)},
                 features=np.concatenate(feature_chunks))
    return index
