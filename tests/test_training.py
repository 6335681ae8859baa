"""Training: dataset builders, networks, recipe (determinism), thresholds, metric tables, figures."""

from __future__ import annotations

import ast
import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import wfdb
import yaml
from sklearn.metrics import (average_precision_score, confusion_matrix, f1_score, precision_recall_fscore_support,
                             roc_auc_score)

from ecgflow.beats import AAMI_CLASSES
from ecgflow.errors import ConfigError, InputError
from ecgflow.parquet import read_metadata, write_parquet
from ecgflow.sources import dataset_spec
from ecgflow.training import datasets, evaluate, figures, models, targets, train
from ecgflow.training.figures import write_figures
from ecgflow.training.run import run_training
from ecgflow.training.targets import FIGURES, TABLES
from ecgflow.record_read import read_record

from conftest import write_wfdb

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
PTBXL = SHARED / "ptbxl"
MITDB = SHARED / "mitdb"
LEADS = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]
CODES = {"NORM": "NORM", "MI": "IMI", "STTC": "NDT", "CD": "CLBBB", "HYP": "LVH"}


# ------------------------------------------------------------------------------------------ fixtures

def write_ptbxl_folder(folder: Path, n: int, seed: int = 0) -> Path:
    """A PTB-XL-layout folder whose classes leave distinct marks on the signal (record 0 has no class)."""
    rng = np.random.default_rng(seed)
    statements = pd.DataFrame({"description": ["x"] * 6, "diagnostic": [1.0] * 5 + [np.nan],
                               "diagnostic_class": list(CODES) + [np.nan]}, index=[*CODES.values(), "SR"])
    folder.mkdir(parents=True, exist_ok=True)
    statements.to_csv(folder / "scp_statements.csv")
    record_dir = folder / "records100" / "00000"
    record_dir.mkdir(parents=True, exist_ok=True)
    rows, t = [], np.arange(1000) / 100
    for i in range(n):
        ecg_id = i + 1
        present = [] if i == 0 else [c for c in CODES if rng.random() < 0.35] or ["NORM"]
        signal = 0.1 * rng.standard_normal((1000, 12)) + np.sin(2 * np.pi * 1.2 * t)[:, None]
        for k, cls in enumerate(CODES):
            if cls in present:
                signal[:, 2 * k + 1] += 0.8 * np.sin(2 * np.pi * (3 + 2 * k) * t)
        name = f"{ecg_id:05d}_lr"
        wfdb.wrsamp(name, fs=100, units=["mV"] * 12, sig_name=LEADS, p_signal=signal, fmt=["16"] * 12,
                    write_dir=str(record_dir))
        codes = {CODES[c]: 100.0 for c in present} | {"SR": 0.0}
        rows.append({"ecg_id": ecg_id, "scp_codes": str(codes), "strat_fold": 1 + i % 10,
                     "filename_lr": f"records100/00000/{name}"})
    pd.DataFrame(rows).to_csv(folder / "ptbxl_database.csv", index=False)
    return folder


def write_tidy_record(root: Path, record: str, seed: int, fs: float = 250.0, n_beats: int = 80) -> None:
    """Tidy and beats tables of one record, and its two-lead WFDB record under ``raw/`` (lead MLII is the
    tidy lead, V1 its negative): N beats are narrow positive spikes, S beats wider ones, V beats wide
    negative ones."""
    rng = np.random.default_rng(seed)
    peaks = np.cumsum(rng.integers(int(0.6 * fs), int(1.0 * fs), n_beats)) + int(fs)
    n = int(peaks[-1] + fs)
    symbols = rng.choice(["N", "N", "V", "A", "+"], n_beats)
    aami = pd.Series(symbols).map({"N": "N", "V": "V", "A": "S"})
    ecg = 0.02 * rng.standard_normal(n)
    t = np.arange(n)
    for p, s in zip(peaks, symbols):
        width, amp = {"V": (0.04 * fs, -1.0), "A": (0.025 * fs, 1.0)}.get(s, (0.01 * fs, 1.0))
        ecg += amp * np.exp(-0.5 * ((t - p) / width) ** 2)
    meta = {"dataset": "tiny", "record": record, "fs": fs, "lead": "MLII"}
    (root / "raw").mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(record, fs=fs, units=["mV", "mV"], sig_name=["MLII", "V1"], p_signal=np.stack([ecg, -0.5 * ecg], 1),
                fmt=["16", "16"], adc_gain=[1000, 1000], baseline=[0, 0], write_dir=str(root / "raw"))
    write_parquet(pd.DataFrame({"record": record, "sample": t.astype(np.int64), "time_s": t / fs,
                                "ecg": ecg.astype(np.float32), "rhythm": "(N",
                                "regime_change": np.zeros(n, np.int8)}), root / "tidy" / f"{record}.parquet", meta)
    rr = np.r_[np.nan, np.diff(peaks) / fs]
    write_parquet(pd.DataFrame({"sample": peaks.astype(np.int64), "symbol": symbols, "aami_class": aami,
                                "rr_s": rr}), root / "beats" / f"{record}.parquet", meta)


@pytest.fixture(scope="module")
def ptbxl_folder(tmp_path_factory) -> Path:
    return write_ptbxl_folder(tmp_path_factory.mktemp("ptbxl"), 120)


@pytest.fixture(scope="module")
def superclass_dir(ptbxl_folder, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("superclass")
    datasets.build_superclass(ptbxl_folder, out)
    return out


@pytest.fixture(scope="module")
def beats_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    records = [f"r{i}" for i in range(1, 6)]
    for i, record in enumerate(records):
        write_tidy_record(root, record, seed=i)
    out = root / "dataset"
    datasets.build_beats(tiny_inputs(root, records), "tiny", out, window_s=(0.25, 0.45), length=64, val_fraction=0.2,
                         seed=0)
    return out


def tiny_inputs(root: Path, records) -> dict:
    return {r: (root / "tidy" / f"{r}.parquet", root / "beats" / f"{r}.parquet", root / "raw" / f"{r}.hea")
            for r in records}


FAST = {"epochs": 3, "batch_size": 16, "lr": 0.003, "weight_decay": 0.01, "dropout": 0.3, "patience": 5,
        "lr_patience": 3, "lr_factor": 0.5}


# ------------------------------------------------------------------------------------- superclass data

def test_superclass_labels_multi_hot_and_drop():
    db = pd.DataFrame({"ecg_id": [3, 1, 2], "strat_fold": [10, 9, 1], "filename_lr": ["c", "a", "b"],
                       "scp_codes": ["{'IMI': 15.0, 'LVH': 100.0}", "{'SR': 0.0}", "{'NORM': 100.0}"]})
    statements = pd.DataFrame({"diagnostic_class": ["MI", "HYP", "NORM", np.nan]},
                              index=["IMI", "LVH", "NORM", "SR"])
    table = datasets.superclass_labels(db, statements, "db.csv")
    assert table["ecg_id"].tolist() == [2, 3]  # ecg 1 has no superclass, rows sorted by ecg_id
    assert table[list(datasets.SUPERCLASSES)].to_numpy().tolist() == [[1, 0, 0, 0, 0], [0, 1, 0, 0, 1]]


def test_superclass_labels_bad_codes():
    db = pd.DataFrame({"ecg_id": [1], "strat_fold": [1], "filename_lr": ["a"], "scp_codes": ["not a dict"]})
    with pytest.raises(InputError, match="scp_codes"):
        datasets.superclass_labels(db, pd.DataFrame({"diagnostic_class": ["MI"]}, index=["IMI"]), "db.csv")


def test_fold_split():
    assert [datasets.fold_split(f) for f in (1, 8, 9, 10)] == ["train", "train", "val", "test"]
    with pytest.raises(ValueError):
        datasets.fold_split(11)


def test_build_superclass(ptbxl_folder, superclass_dir):
    X, index, meta = datasets.load_dataset(superclass_dir)
    assert isinstance(X, np.memmap) and X.dtype == np.float32 and X.shape == (119, 12, 1000)
    assert index.columns.tolist()[:3] == ["row", "ecg_id", "split"]
    assert 1 not in index["ecg_id"].tolist()  # record without a superclass dropped
    assert set(index["split"]) == {"train", "val", "test"}
    assert (index.loc[index["strat_fold"] == 9, "split"] == "val").all()
    assert meta["classes"] == list(datasets.SUPERCLASSES)
    first = index.iloc[0]
    signal = wfdb.rdrecord(str(ptbxl_folder / "records100" / "00000" / f"{first['ecg_id']:05d}_lr")).p_signal
    np.testing.assert_allclose(X[0], signal.T, atol=1e-6)


def test_build_superclass_missing_record(ptbxl_folder, tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(ptbxl_folder, folder)
    (folder / "records100" / "00000" / "00002_lr.dat").unlink()
    with pytest.raises(InputError, match="00002_lr"):
        datasets.build_superclass(folder, tmp_path / "out")


def test_build_superclass_needs_database(tmp_path):
    with pytest.raises(InputError, match="ptbxl_database"):
        datasets.build_superclass(tmp_path, tmp_path / "out")


@pytest.mark.skipif(not PTBXL.exists(), reason="real PTB-XL sample absent (../shared/data/ptbxl)")
def test_real_ptbxl_sample(tmp_path):
    folder = tmp_path / "ptbxl"
    folder.mkdir()
    db = pd.read_csv(datasets.ptbxl_database_path(PTBXL))
    db[db["ecg_id"] == 1].to_csv(folder / "ptbxl_database_subset.csv", index=False)
    shutil.copy(PTBXL / "scp_statements.csv", folder)
    (folder / "records100" / "00000").mkdir(parents=True)  # the sample keeps the record one level higher
    for suffix in (".hea", ".dat"):
        (folder / "records100" / "00000" / f"00001_lr{suffix}").symlink_to(PTBXL / "records100" / f"00001_lr{suffix}")
    index = datasets.build_superclass(folder, tmp_path / "out")
    X, _, _ = datasets.load_dataset(tmp_path / "out")
    assert index[["ecg_id", "split", *datasets.SUPERCLASSES]].values.tolist() == [[1, "train", 1, 0, 0, 0, 0]]
    assert X.shape == (1, 12, 1000)
    signal = wfdb.rdrecord(str(PTBXL / "records100" / "00001_lr")).p_signal
    np.testing.assert_allclose(X[0], signal.T.astype(np.float32))
    assert ast.literal_eval(db.loc[db["ecg_id"] == 1, "scp_codes"].iloc[0])["NORM"] == 100.0


@pytest.mark.skipif(not PTBXL.exists(), reason="real PTB-XL sample absent (../shared/data/ptbxl)")
def test_real_ptbxl_folder_reports_missing_records(tmp_path):
    # the sample's table points at records100/00000/00001_lr and at records 6000-6009, none of them there
    with pytest.raises(InputError, match="00001_lr.hea"):
        datasets.build_superclass(PTBXL, tmp_path / "out")


# ------------------------------------------------------------------------------------------ beats data

def test_test_records_mitdb_and_validation_from_ds1_only():
    records = [*datasets.DS1, *datasets.DS2, *datasets.PACED]
    train_side, test = datasets.test_records(records, 0.2, seed=0, dataset="mitdb")
    assert train_side == sorted(datasets.DS1) and test == sorted(datasets.DS2)
    rng = np.random.default_rng(0)
    counts = pd.DataFrame(rng.integers(0, 300, (len(records) - 4, 5)), index=sorted(datasets.DS1 + datasets.DS2),
                          columns=list(AAMI_CLASSES))
    split = datasets.record_split(counts, test, 0.2, seed=0)
    val = [r for r, s in split.items() if s == "val"]
    assert len(val) == 4 and set(val) <= set(datasets.DS1)  # DS2 never informs a choice
    assert all(split[r] == "test" for r in datasets.DS2) and not set(datasets.PACED) & set(split)
    assert split == datasets.record_split(counts.iloc[::-1], test, 0.2, seed=0)


def test_choose_validation_covers_every_class():
    # one record holds most S beats, two hold the F beats: a random pick would often miss them
    counts = pd.DataFrame({"N": [1000] * 8, "S": [300, 0, 0, 0, 0, 0, 0, 40], "V": [10, 200, 0, 0, 5, 0, 0, 0],
                           "F": [0, 0, 0, 20, 0, 0, 0, 20], "Q": 0}, index=[f"r{i}" for i in range(8)])
    val = datasets.choose_validation(counts, 2, seed=0)
    shares = counts.loc[val].sum() / counts.sum()
    assert val == sorted(val) and shares["S"] > 0 and shares["F"] > 0 and shares["V"] > 0
    assert datasets.choose_validation(counts, 2, seed=0, max_candidates=5) == datasets.choose_validation(
        counts, 2, seed=0, max_candidates=5)
    with pytest.raises(ValueError, match="cannot hold out"):
        datasets.choose_validation(counts, 8, seed=0)


def test_test_records_other():
    train_side, test = datasets.test_records([f"d0{i}" for i in range(1, 7)], 0.2, seed=0, dataset="demo")
    assert len(test) == 1 and len(train_side) == 5 and not set(test) & set(train_side)
    with pytest.raises(ValueError):
        datasets.test_records(["a", "b"], 0.2, seed=0, dataset="demo")


def test_lead_choice_default_picks_mlii():
    lead = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["lead"]
    assert lead == ["MLII", 0]


@pytest.mark.skipif(not MITDB.exists(), reason="real mitdb absent (../shared/data/mitdb)")
def test_lead_choice_on_mitdb_114():
    lead = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["lead"]
    record = read_record(dataset_spec("mitdb"), MITDB, "114", lead=lead)  # V5 on channel 0, MLII on 1
    assert record.lead == "MLII"
    mlii = wfdb.rdrecord(str(MITDB / "114"), channels=[1], sampto=1000).p_signal[:, 0]
    np.testing.assert_allclose(record.signal[:1000], mlii, atol=1e-4)
    assert read_record(dataset_spec("mitdb"), MITDB, "100", lead=lead).lead == "MLII"  # MLII on channel 0


def test_beat_windows_record_normalisation():
    fs = 100.0
    ecg = np.zeros((2, 1000))
    for peak, amp in ((300, 1.0), (500, 1.0), (700, 3.0)):  # a 3x taller beat stays 3x taller
        ecg[:, peak - 2:peak + 3] += amp * np.array([[0.5, 1, 2, 1, 0.5], [0.25, 0.5, 1, 0.5, 0.25]])
    windows, kept = datasets.beat_windows(ecg + 5.0, np.array([10, 300, 500, 700, 995]), fs, (0.25, 0.45), 71)
    assert kept.tolist() == [False, True, True, True, False] and windows.shape == (3, 2, 71)
    np.testing.assert_allclose(np.median(windows, axis=2), 0, atol=1e-6)  # baseline (offset 5) removed
    p2p = windows.max(2) - windows.min(2)
    np.testing.assert_allclose(np.median(p2p, axis=0), 1.0, rtol=1e-5)  # the record's median beat: amplitude 1
    np.testing.assert_allclose(p2p[2] / p2p[0], 3.0, rtol=1e-5)
    deviation, morphology = datasets.template_channels(windows)
    np.testing.assert_allclose(deviation[:2], 0, atol=1e-6)  # the dominant beat is the template
    np.testing.assert_allclose(morphology[:, :2], 1.0, atol=1e-6)  # correlation with the template per lead
    np.testing.assert_allclose(morphology[2, 2:], 4.0, rtol=1e-4)  # (3 - 1)^2: deviation energy over the template's


def test_second_lead_is_the_other_channel_checked_like_the_tidy_lead(tmp_path):
    x = np.random.default_rng(0).normal(0, 0.5, (3000, 2))
    hea = write_wfdb(tmp_path, "r1", n=3000, signal=x).with_suffix(".hea")
    signal, name = datasets.second_lead(hea, "MLII", 3000)
    assert name == "V1" and signal.dtype == np.float64 and np.allclose(signal, x[:, 1], atol=0.01)
    assert datasets.second_lead(hea, "V1", 3000)[1] == "MLII"
    with pytest.raises(InputError, match="r1.hea.*expected 10 samples"):
        datasets.second_lead(hea, "MLII", 10)
    dat = tmp_path / "r1.dat"
    dat.write_bytes(dat.read_bytes()[:1000])
    with pytest.raises(InputError, match="r1.dat.*truncated"):
        datasets.second_lead(hea, "MLII", 3000)


def test_bandpass_removes_baseline_wander():
    fs = 250.0
    t = np.arange(int(20 * fs)) / fs
    qrs = np.sin(2 * np.pi * 10 * t)
    filtered = datasets.bandpass(np.stack([qrs + 2 * np.sin(2 * np.pi * 0.05 * t) + 3.0]), fs)[0]
    middle = slice(int(5 * fs), int(15 * fs))
    np.testing.assert_allclose(filtered[middle], qrs[middle], atol=0.1)


def test_build_beats(beats_dir):
    X, index, meta = datasets.load_dataset(beats_dir)
    assert X.shape == (len(index), 2, 64) and X.dtype == np.float32
    assert index.columns.tolist() == ["row", "record", "sample", "split", "aami_class", "label"]
    assert set(index["aami_class"]) <= set("NSV")  # '+' (no AAMI class) dropped
    assert index.groupby("record")["split"].nunique().max() == 1  # whole records per split
    assert sorted(meta["split"].values()).count("train") == 3
    assert meta["leads"]["r1"] == ["MLII", "V1"] and meta["channels"] == "deviation"
    # V1 is -0.5 x MLII: after the per-record scaling its deviation channel is the negative of MLII's
    np.testing.assert_allclose(X[:, 1], -X[:, 0], atol=0.01)  # up to the 1 uV quantisation of the record
    features = datasets.load_features(beats_dir, meta)
    assert isinstance(features, np.memmap) and features.dtype == np.float32
    assert features.shape == (len(index), len(datasets.FEATURES)) and meta["features"] == list(datasets.FEATURES)
    # pre-RR is measured from the previous beat row, '+' beats (dropped from X) included
    beats = pd.read_parquet(beats_dir.parent / "beats" / "r1.parquet")
    rows = index["record"] == "r1"
    expected = beats.set_index("sample").loc[index.loc[rows, "sample"], "rr_s"].to_numpy()
    known = ~np.isnan(expected)
    np.testing.assert_allclose(features[rows.to_numpy(), 0][known], expected[known], rtol=1e-6)
    assert datasets.load_features(beats_dir, {**meta, "features": []}) is None
    # the patient columns: each record's own features over its median and interquartile range
    k = len(datasets.RR_FEATURES + datasets.MORPHOLOGY_FEATURES)
    for record in index["record"].unique():
        part = features[(index["record"] == record).to_numpy()]
        np.testing.assert_allclose(part[:, k:], datasets.patient_normalised(part[:, :k]), rtol=1e-4, atol=1e-4)


def test_build_beats_single_lead_and_both_channels(beats_dir, tmp_path):
    root, records = beats_dir.parent, [f"r{i}" for i in range(1, 6)]
    inputs = {r: paths[:2] for r, paths in tiny_inputs(root, records).items()}
    datasets.build_beats(inputs, "tiny", tmp_path / "one", (0.25, 0.45), 64, 0.2, seed=0, leads=1)
    assert datasets.load_dataset(tmp_path / "one")[0].shape[1] == 1
    with pytest.raises(InputError, match="WFDB header"):
        datasets.build_beats(inputs, "tiny", tmp_path / "two", (0.25, 0.45), 64, 0.2, seed=0, leads=2)
    datasets.build_beats(tiny_inputs(root, records), "tiny", tmp_path / "both", (0.25, 0.45), 64, 0.2, seed=0,
                         channels="both")
    both, _, _ = datasets.load_dataset(tmp_path / "both")
    np.testing.assert_array_equal(both[:, 2:], datasets.load_dataset(beats_dir)[0])  # windows, then deviations


def test_rr_features_premature_beat():
    fs, samples = 100.0, np.array([0, 100, 200, 300, 370, 500, 600, 700])  # beat 4 early, then a pause
    f = pd.DataFrame(datasets.rr_features(samples, fs, local=4), columns=datasets.RR_FEATURES)
    np.testing.assert_allclose(f["pre_rr_s"], [1, 1, 1, 1, 0.7, 1.3, 1, 1])  # first beat: its post-RR
    np.testing.assert_allclose(f["post_rr_s"], [1, 1, 1, 0.7, 1.3, 1, 1, 1])  # last beat: its pre-RR
    # two intervals each side, fewer at the ends: beat 2 -> intervals 0-3 (3.7 s / 4), beat 4 -> 2-5
    # (short + long cancel), beat 6 -> 4-6 (3.3 s / 3)
    np.testing.assert_allclose(f["local_rr_s"], [1, 1, 0.925, 1, 1, 1, 1.1, 1])
    np.testing.assert_allclose(f["record_rr_s"], 1.0)
    assert f.loc[4, "pre_local"] == pytest.approx(0.7) and f.loc[5, "post_local"] == pytest.approx(1.0)
    assert f.loc[4, "pre_post"] == pytest.approx(0.7 / 1.3) and f.loc[3, "pre_post"] == pytest.approx(1 / 0.7)
    # running rhythm: mean RR of the preceding beats (here all of them: 300 s window)
    np.testing.assert_allclose(f.loc[4, "pre_running"], 0.7 / (3.7 / 4))
    np.testing.assert_allclose(f.loc[0, "pre_running"], 1.0)  # first beat: its own post-RR
    assert f.loc[5, "prev_pre_local"] == f.loc[4, "pre_local"] and f.loc[3, "next_pre_local"] == f.loc[4, "pre_local"]
    assert f.loc[0, "local_irregularity"] == 0 and f.loc[4, "local_irregularity"] == pytest.approx(1.2 / 5)
    short = datasets.rr_features(samples, fs, local=4, running_s=1.5)  # only the last beat counts: its pre-RR
    np.testing.assert_allclose(short[1:, datasets.RR_FEATURES.index("pre_running")], 1.0)
    uneven = datasets.rr_features(np.array([0, 100, 300, 600]), 100.0, local=2)
    np.testing.assert_allclose(uneven[:, 2], [1.0, 1.5, 2.5, 3.0])  # one interval each side
    np.testing.assert_allclose(uneven[:, 3], 2.0)
    with pytest.raises(ValueError, match="at least two"):
        datasets.rr_features(np.array([5]), fs)
    with pytest.raises(ValueError, match="strictly increasing"):
        datasets.rr_features(np.array([5, 5, 9]), fs)


def test_patient_normalised():
    rng = np.random.default_rng(0)
    features = np.column_stack([rng.normal(0.8, 0.1, 101), np.full(101, 0.9), rng.uniform(0, 1, 101)])
    z = datasets.patient_normalised(features)
    np.testing.assert_allclose(np.median(z, axis=0), 0.0, atol=1e-12)
    q1, q3 = np.percentile(z[:, [0, 2]], [25, 75], axis=0)
    np.testing.assert_allclose(q3 - q1, 1.0)
    np.testing.assert_array_equal(z[:, 1], 0.0)  # a constant column (record_rr_s): spread taken as 1
    # a premature beat in a patient with a fast rhythm and one with a slow rhythm look the same
    np.testing.assert_allclose(datasets.patient_normalised(2 * features), z)
    assert datasets.patient_normalised(np.zeros((0, 3))).shape == (0, 3)


def test_build_beats_rejects_unordered_beats(tmp_path):
    write_tidy_record(tmp_path, "r1", seed=0)
    path = tmp_path / "beats" / "r1.parquet"
    beats = pd.read_parquet(path)
    write_parquet(pd.concat([beats, beats.iloc[[3]]]), path, read_metadata(path))  # a duplicated beat
    inputs = {r: (tmp_path / "tidy" / "r1.parquet", path) for r in ("r1", "r2", "r3")}
    with pytest.raises(InputError, match="strictly increasing"):
        datasets.build_beats(inputs, "tiny", tmp_path / "out", (0.25, 0.45), 64, 0.2, seed=0, leads=1)


# -------------------------------------------------------------------------------------------- models

def test_superclass_net_shapes_and_attention():
    torch.manual_seed(0)
    net = models.SuperclassNet().eval()
    logits, attention = net(torch.randn(3, 12, 1000))
    assert logits.shape == (3, 5) and attention.shape == (3, 125)
    torch.testing.assert_close(attention.sum(1), torch.ones(3))
    assert (attention >= 0).all()
    assert [m.out_channels for m in net.modules() if isinstance(m, torch.nn.Conv1d)] == [32, 64, 128]


def test_beat_net_shapes():
    assert models.BeatNet().eval()(torch.randn(4, 1, 128)).shape == (4, 5)
    assert models.BeatNet(in_channels=2).eval()(torch.randn(3, 2, 64)).shape == (3, 5)


def test_beat_net_with_features():
    torch.manual_seed(0)
    net = models.BeatNet(in_channels=2, n_features=3, dropout=0.0).eval()
    net.feature_norm.fit([1.0, 0.0, 2.0], [0.5, 1.0, 0.0])
    x, f = torch.randn(4, 2, 128), torch.randn(4, 3)
    logits = net(x, f)
    assert logits.shape == (4, 5) and net.head[1].in_features == 64 + 3
    assert "feature_norm.mean" in net.state_dict()  # statistics travel with the checkpoint
    pooled = net.encoder(x).mean(dim=2)
    expected = net.head(torch.cat([pooled, (f - torch.tensor([1.0, 0.0, 2.0])) / torch.tensor([0.5, 1.0, 1.0])], 1))
    torch.testing.assert_close(logits, expected)
    assert not torch.equal(net(x, f + 1), logits)  # the features reach the logits
    with pytest.raises(ValueError, match="no features"):
        net(x)
    with pytest.raises(ValueError, match="extra features"):
        models.BeatNet(in_channels=2)(x, f)


def test_standardise_guards_flat_channels():
    norm = models.Standardise(2)
    norm.fit([1.0, 2.0], [2.0, 0.0])
    torch.testing.assert_close(norm(torch.tensor([[[3.0], [5.0]]])), torch.tensor([[[1.0], [3.0]]]))


# ------------------------------------------------------------------------------------------ recipe

def test_pos_weight_and_class_weights():
    y = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 0, 0]], dtype=np.float32)
    np.testing.assert_allclose(train.pos_weight(y), [1.0, np.sqrt(3), 1.0])
    w = train.class_weights(np.array([0, 0, 0, 0, 2]), 3)
    assert w[1] == 0 and w[0] < w[2]
    np.testing.assert_allclose((w * [4, 0, 1]).sum() / 5, 1.0, rtol=1e-6)


def test_balanced_sampling_weights():
    labels = np.array([0] * 900 + [1] * 90 + [2] * 9 + [4] * 1)
    w = train.balanced_weights(labels, 5, balance=1.0)
    mass = np.bincount(labels, weights=w, minlength=5)
    np.testing.assert_allclose(mass[:3], mass[0])  # balance 1: every class drawn as often
    assert mass[4] == pytest.approx(mass[0] / 2)  # 1 beat < floor (0.002 x 1000 = 2 beats): not up-weighted further
    half = np.bincount(labels, weights=train.balanced_weights(labels, 5, balance=0.5), minlength=5)
    np.testing.assert_allclose(half[1] / half[0], np.sqrt(90 / 900))
    np.testing.assert_allclose(train.balanced_weights(labels, 5, 0.0), 1.0)


def test_augment_beats_seeded():
    x, f = torch.ones(4, 2, 32), torch.ones(4, 3)
    a = train.augment_beats(x, f, torch.Generator().manual_seed(1))
    b = train.augment_beats(x, f, torch.Generator().manual_seed(1))
    torch.testing.assert_close(a[0], b[0])
    torch.testing.assert_close(a[1], b[1])
    assert not torch.equal(a[0], x) and ((a[1] >= 0.97) & (a[1] <= 1.03)).all()
    assert train.augment_beats(x, None, torch.Generator().manual_seed(1))[1] is None


def test_monitored_macro_f1_leaves_out_sparse_classes():
    y = np.array([0] * 50 + [1] * 30 + [2] * 3 + [4] * 40)
    assert train.monitored_classes(y, min_beats=20) == [0, 1]  # V too few, Q never (AAMI macro: N, S, V, F)
    logits = np.eye(5)[np.r_[y[:80], [0, 0, 0], y[83:]]]  # the 3 V beats missed
    predicted = logits.argmax(1)
    assert train.monitored_metric("beats", y, logits, min_val_beats=20) == pytest.approx(
        f1_score(y, predicted, labels=[0, 1], average="macro"))
    assert train.monitored_metric("beats", y, logits, min_val_beats=1) == pytest.approx(
        f1_score(y, predicted, labels=[0, 1, 2], average="macro", zero_division=0))


def test_train_config_validation():
    assert train.TrainConfig.from_mapping({**FAST, "window_s": [0.2, 0.4]}).epochs == 3
    with pytest.raises(ConfigError, match="train.beats.balance"):
        train.TrainConfig.from_mapping({"balance": 2}, "train.beats")
    with pytest.raises(ConfigError, match="augment"):
        train.TrainConfig.from_mapping({"augment": "yes"})
    with pytest.raises(ConfigError, match="train.beats.epochs"):
        train.TrainConfig.from_mapping({"epochs": 0}, "train.beats")
    with pytest.raises(ConfigError, match="lr_factor"):
        train.TrainConfig.from_mapping({"lr_factor": 1.5})
    with pytest.raises(ConfigError, match="must be a number"):
        train.TrainConfig.from_mapping({"lr": "1e-3"})  # YAML reads 1e-3 (no dot) as a string


def test_resolve_device():
    assert train.resolve_device("cpu").type == "cpu"
    with pytest.raises(ConfigError):
        train.resolve_device("tpu")
    if not torch.cuda.is_available():
        assert train.resolve_device("auto").type == "cpu"
        with pytest.raises(ConfigError, match="no CUDA"):
            train.resolve_device("cuda")


def _outputs(out: Path, task: str = "superclass"):
    tables = {n: pd.read_parquet(out / f"{n}.parquet") for n in TABLES[task]}
    tables["history"] = tables["history"].drop(columns="seconds")
    return tables


def test_superclass_training_deterministic_and_learns(superclass_dir, tmp_path):
    runs = []
    for name in ("a", "b"):
        run_training("superclass", superclass_dir, tmp_path / name, FAST, seed=3, device="cpu", threads=1,
                     dataset="synthetic")
        runs.append(_outputs(tmp_path / name))
    for key in runs[0]:
        pd.testing.assert_frame_equal(runs[0][key], runs[1][key])
    a = torch.load(tmp_path / "a" / "model.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b" / "model.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    metrics = runs[0]["metrics"].set_index("class")
    assert metrics.loc["macro", "auroc"] > 0.8
    assert metrics.index.tolist() == [*datasets.SUPERCLASSES, "macro", "micro"]
    history = runs[0]["history"]
    assert history["epoch"].tolist() == [1, 2, 3] and (history["monitor"] == "macro_auroc").all()
    assert history["best"].any()
    assert not (tmp_path / "a" / "figures").exists()  # figures are drawn by their own rule
    write_figures("superclass", tmp_path / "a", tmp_path / "a" / "figures", superclass_dir)
    for figure in FIGURES["superclass"]:
        assert (tmp_path / "a" / "figures" / f"{figure}.png").stat().st_size > 1000
    confusion = runs[0]["confusion"].set_index("class")
    predictions = runs[0]["predictions"]
    assert confusion.loc["MI", "tp"] == ((predictions["MI_true"] == 1) & (predictions["MI_pred"] == 1)).sum()
    assert (confusion[["tn", "fp", "fn", "tp"]].sum(axis=1) == len(predictions)).all()
    assert read_metadata(tmp_path / "a" / "metrics.parquet")["best_epoch"] in (1, 2, 3)


def test_checkpoint_round_trip(superclass_dir, tmp_path):
    X, index, _ = datasets.load_dataset(superclass_dir)
    cfg = train.TrainConfig.from_mapping({**FAST, "epochs": 1})
    result = train.fit("superclass", X, index, cfg, seed=0, device="cpu", threads=1)
    train.save_checkpoint(result.model, tmp_path / "m.pt", "superclass", cfg)
    model, state = train.load_checkpoint(tmp_path / "m.pt")
    rows = np.array([5, 0, 3])
    np.testing.assert_array_equal(train.predict(model, X, rows, 2, torch.device("cpu")),
                                  train.predict(result.model, X, rows, 2, torch.device("cpu")))
    assert state["classes"] == list(datasets.SUPERCLASSES)


def test_early_stopping(superclass_dir):
    X, index, _ = datasets.load_dataset(superclass_dir)
    cfg = train.TrainConfig.from_mapping({**FAST, "epochs": 6, "patience": 1, "lr": 1e-9})
    result = train.fit("superclass", X, index, cfg, seed=0, device="cpu", threads=1)
    history = result.history
    assert len(history) < 6  # a frozen model stops improving: stopped after `patience` epochs without gain
    assert len(history) - result.best_epoch == 1


BEATS_FAST = {**FAST, "batch_size": 32, "balance": 1.0, "samples_per_epoch": 200, "augment": True, "min_val_beats": 5}


def test_beats_training(beats_dir, tmp_path):
    for name in ("a", "b"):
        tables = run_training("beats", beats_dir, tmp_path / name, BEATS_FAST, seed=0, device="cpu", threads=1,
                              dataset="tiny")
    runs = [_outputs(tmp_path / name, "beats") for name in ("a", "b")]
    for key in runs[0]:
        pd.testing.assert_frame_equal(runs[0][key], runs[1][key])
    model, state = train.load_checkpoint(tmp_path / "a" / "model.pt")
    b = torch.load(tmp_path / "b" / "model.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(state["state_dict"][k], b[k]) for k in b)
    X, index, meta = datasets.load_dataset(beats_dir)
    features = datasets.load_features(beats_dir, meta)
    assert state["features"] == list(datasets.FEATURES) and model.n_features == features.shape[1]
    assert state["in_channels"] == 2
    train_rows = index.loc[index["split"] == "train", "row"].to_numpy()
    torch.testing.assert_close(model.feature_norm.mean[0], torch.tensor(features[train_rows].mean(0)), rtol=1e-4,
                               atol=1e-5)
    test_rows = index.loc[index["split"] == "test", "row"].to_numpy()
    probs = train.probabilities("beats", train.predict(model, X, test_rows, 16, torch.device("cpu"), features=features))
    np.testing.assert_allclose(probs, tables["predictions"][[f"p_{c}" for c in AAMI_CLASSES]].to_numpy(),
                               rtol=1e-5, atol=1e-6)
    metrics = tables["metrics"].set_index("class")
    test = index[index["split"] == "test"]
    predictions = tables["predictions"]
    assert metrics.loc["micro", "accuracy"] == pytest.approx((predictions["true"] == predictions["predicted"]).mean())
    assert metrics.loc["micro", "accuracy"] > 0.8
    assert metrics.loc["micro", "support"] == (test["aami_class"] != "Q").sum()
    confusion = tables["confusion"].set_index("true")
    assert confusion.to_numpy().sum() == len(test) and confusion.loc["V", "V"] == (
        (predictions["true"] == "V") & (predictions["predicted"] == "V")).sum()
    assert tables["thresholds"]["threshold"].isna().all()
    assert (tables["history"]["monitor"] == "macro_f1").all()
    assert read_metadata(tmp_path / "a" / "metrics.parquet")["val_records"] == sorted(
        index.loc[index["split"] == "val", "record"].unique())
    paths = write_figures("beats", tmp_path / "a", tmp_path / "a" / "figures")
    assert [p.stem for p in paths] == list(FIGURES["beats"]) and all(p.stat().st_size > 1000 for p in paths)


def test_figures_do_not_import_training_code():
    """A change to a plot reruns the figure rules only: the training script never imports the plotting
    module, and the figures module never imports the recipe (torch)."""
    def imports(module: str) -> set[str]:
        seen, todo = set(), [module]
        while todo:
            name = todo.pop()
            path = ROOT / (name.replace(".", "/") + ".py")
            if name in seen or not path.exists():
                continue
            seen.add(name)
            package = name.rpartition(".")[0]
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    if node.level:
                        parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                        base = ".".join(parts + ([base] if base else []))
                    todo += [base] + [f"{base}.{a.name}" for a in node.names]
                elif isinstance(node, ast.Import):
                    todo += [a.name for a in node.names]
        return seen

    assert "ecgflow.training.figures" not in imports("ecgflow.training.run")
    assert not {"ecgflow.training.train", "ecgflow.training.models"} & imports("ecgflow.training.figures")


def test_missing_split(superclass_dir, tmp_path):
    X, index, meta = datasets.load_dataset(superclass_dir, mmap=False)
    datasets.save_dataset(X, index.assign(split=index["split"].replace("test", "train")), tmp_path, meta)
    with pytest.raises(InputError, match="no 'test' rows"):
        run_training("superclass", tmp_path, tmp_path / "out", FAST, device="cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: the bf16/pinned-memory path needs a GPU")
def test_cuda_training(superclass_dir):
    X, index, _ = datasets.load_dataset(superclass_dir)
    result = train.fit("superclass", X, index, train.TrainConfig.from_mapping({**FAST, "epochs": 1}),
                       device="cuda")
    assert result.device.type == "cuda" and np.isfinite(result.history["train_loss"]).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: CPU and GPU training cannot be compared")
def test_beats_cpu_and_cuda_reach_comparable_validation_metrics(beats_dir, tmp_path):
    """The tiny beats task, 2 epochs through run_training on the CPU and on CUDA (bf16 autocast): the
    validation metric of each epoch agrees within 0.15 and both models learn."""
    params = {**BEATS_FAST, "epochs": 2}
    histories = {device: run_training("beats", beats_dir, tmp_path / device, params, seed=0, device=device,
                                      threads=1, dataset="tiny")["history"] for device in ("cpu", "cuda")}
    cpu, cuda = histories["cpu"]["val_metric"].to_numpy(), histories["cuda"]["val_metric"].to_numpy()
    assert len(cpu) == len(cuda) == 2 and np.all(np.abs(cpu - cuda) <= 0.15)
    assert cpu.max() > 0.5 and cuda.max() > 0.5


@pytest.fixture(scope="module")
def bench():
    """``benchmarks/training.py`` as a module."""
    spec = importlib.util.spec_from_file_location("bench_training", ROOT / "benchmarks" / "training.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_training_benchmark_row(bench):
    row = bench.throughput("beats", torch.device("cpu"), steps=1, warmup=1, repeats=1)
    assert row["samples_per_s"] > 0 and row["device"] == "cpu" and row["batch_size"] == 256


def test_inner_folds_hold_out_disjoint_ds1_records(bench):
    rng = np.random.default_rng(0)
    counts = pd.DataFrame(rng.integers(0, 50, (len(datasets.DS1), 5)), index=list(datasets.DS1),
                          columns=list(AAMI_CLASSES))
    folds = bench.inner_folds(counts, seed=0)
    assert len(folds) == 4 and all(len(fold) == 5 and fold == sorted(fold) for fold in folds)
    held_out = [record for fold in folds for record in fold]
    assert len(set(held_out)) == 20 and set(held_out) <= set(datasets.DS1)
    assert bench.inner_folds(counts, seed=0) == folds  # deterministic


def test_benchmark_record_rows(bench):
    predictions = pd.DataFrame({"record": ["a", "a", "a", "b", "b"], "true": ["S", "S", "N", "N", "V"],
                                "predicted": ["S", "N", "S", "N", "N"]})
    rows = bench.record_rows(predictions).set_index(["record", "class"])
    assert rows.loc[("a", "S"), ["support", "detected", "false_positives"]].tolist() == [2, 1, 1]
    assert rows.loc[("a", "S"), "se"] == 0.5 and rows.loc[("b", "V"), "detected"] == 0
    assert rows.loc[("b", "N"), "false_positives"] == 1 and rows.loc[("b", "N"), "se"] == 1.0
    assert rows.loc[("a", "N"), "detected"] == 0 and len(rows) == 4
    only_called = bench.record_rows(predictions.assign(predicted=["S", "S", "S", "F", "N"])).set_index(["record", "class"])
    assert only_called.loc[("b", "F"), ["support", "detected", "false_positives"]].tolist() == [0, 0, 1]
    assert np.isnan(only_called.loc[("b", "F"), "se"])


def test_benchmark_recipe_overrides(bench):
    config = ROOT / "config" / "config.yaml"
    _, params = bench.recipe(config, ["balance=0.5", "patience=3"])
    assert params["balance"] == 0.5 and params["patience"] == 3
    assert bench.recipe(config, [])[1] == yaml.safe_load(config.read_text())["train"]["beats"]
    with pytest.raises(SystemExit, match="balanse"):
        bench.recipe(config, ["balanse=0.5"])
    with pytest.raises(ConfigError, match="train.beats.balance"):
        bench.recipe(config, ["balance=2"])


# ------------------------------------------------------------------------------------------ evaluation

def test_best_f1_threshold():
    y = np.array([0, 0, 1, 1, 0, 1])
    p = np.array([0.1, 0.3, 0.35, 0.8, 0.5, 0.9])
    threshold, f1 = evaluate.best_f1_threshold(y, p)
    assert threshold == 0.35 and f1 == pytest.approx(f1_score(y, p >= 0.35))
    assert evaluate.best_f1_threshold(np.zeros(3), p[:3])[0] == 0.5


def test_tune_thresholds_table():
    y = np.array([[1, 0], [0, 0], [1, 0]])
    p = np.array([[0.2, 0.1], [0.1, 0.9], [0.3, 0.2]])
    table = evaluate.tune_thresholds(y, p, ["A", "B"])
    assert table["threshold"].tolist() == [0.2, 0.5] and table["tuned"].tolist() == [True, False]
    assert table["val_support"].tolist() == [2, 0]


def test_multilabel_metrics_against_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, (50, 3))
    p = np.clip(y * 0.4 + rng.random((50, 3)) * 0.6, 0, 1)
    thresholds = np.array([0.5, 0.4, 0.6])
    table = evaluate.multilabel_metrics(y, p, thresholds, ["a", "b", "c"]).set_index("class")
    assert table.columns.tolist() == evaluate.METRIC_COLUMNS[1:]
    for k, name in enumerate("abc"):
        assert table.loc[name, "auroc"] == pytest.approx(roc_auc_score(y[:, k], p[:, k]))
        assert table.loc[name, "average_precision"] == pytest.approx(average_precision_score(y[:, k], p[:, k]))
        assert table.loc[name, "f1"] == pytest.approx(f1_score(y[:, k], p[:, k] >= 0.5))
        assert table.loc[name, "f1_tuned"] == pytest.approx(f1_score(y[:, k], p[:, k] >= thresholds[k]))
    assert table.loc["macro", "f1"] == pytest.approx(f1_score(y, p >= 0.5, average="macro"))
    assert table.loc["micro", "f1"] == pytest.approx(f1_score(y, p >= 0.5, average="micro"))
    assert table.loc["macro", "auroc"] == pytest.approx(roc_auc_score(y, p, average="macro"))
    assert table.loc["micro", "support"] == y.sum()


def test_multilabel_metrics_class_without_positives():
    y = np.array([[1, 0], [0, 0]])
    table = evaluate.multilabel_metrics(y, np.array([[0.9, 0.7], [0.1, 0.2]]), [0.5, 0.5], ["a", "b"])
    table = table.set_index("class")
    assert np.isnan(table.loc["b", "auroc"]) and table.loc["b", "precision"] == 0.0
    assert table.loc["macro", "auroc"] == 1.0 and table.loc["macro", "f1"] == 1.0  # b has no support


def test_singlelabel_metrics_against_sklearn():
    rng = np.random.default_rng(1)
    labels = rng.choice(5, 400, p=[0.6, 0.15, 0.15, 0.07, 0.03])
    p = rng.dirichlet(np.ones(5), 400) + 1.5 * np.eye(5)[labels] * (rng.random(400) < 0.7)[:, None]
    p /= p.sum(1, keepdims=True)
    table = evaluate.singlelabel_metrics(labels, p, list(AAMI_CLASSES)).set_index("class")
    predicted = p.argmax(1)
    pr, rc, f1, support = precision_recall_fscore_support(labels, predicted, labels=range(5), zero_division=0)
    np.testing.assert_allclose(table.loc[list(AAMI_CLASSES), ["precision", "recall", "f1"]].to_numpy(),
                               np.column_stack([pr, rc, f1]))
    m = confusion_matrix(labels, predicted, labels=range(5))
    fp = m.sum(0) - np.diag(m)
    np.testing.assert_allclose(table.loc[list(AAMI_CLASSES), "fpr"], fp / (len(labels) - m.sum(1)))
    nsvf = [0, 1, 2, 3]  # Q is reported but left out of the macro and micro figures
    assert table.loc["macro", "f1"] == pytest.approx(f1_score(labels, predicted, labels=nsvf, average="macro"))
    assert table.loc["micro", "f1"] == pytest.approx(f1_score(labels, predicted, labels=nsvf, average="micro"))
    assert table.loc["micro", "accuracy"] == pytest.approx((predicted == labels).mean())
    assert table.loc["macro", "support"] == (labels < 4).sum() and table.loc["Q", "support"] == (labels == 4).sum()
    for k, c in enumerate(AAMI_CLASSES):
        assert table.loc[c, "auroc"] == pytest.approx(roc_auc_score(labels == k, p[:, k]))


def test_singlelabel_metrics_absent_class():
    labels = np.array([0, 0, 1, 2, 2, 2])
    p = np.eye(5)[[0, 1, 1, 2, 2, 0]] * 0.9 + 0.02
    table = evaluate.singlelabel_metrics(labels, p, list("NSVFQ")).set_index("class")
    assert table.loc["F", "support"] == 0 and np.isnan(table.loc["F", "auroc"]) and table.loc["F", "f1"] == 0


def test_ensemble_predictions_average_probabilities():
    base = pd.DataFrame({"row": [3, 4, 5], "record": "r", "sample": [10, 20, 30], "true": ["N", "S", "V"]})
    p1 = base.assign(**{f"p_{c}": v for c, v in zip("NSVFQ", np.array([[0.6, 0.3, 0.1, 0, 0], [0.5, 0.4, 0.1, 0, 0],
                                                                       [0.2, 0.2, 0.6, 0, 0]]).T)})
    p2 = base.assign(**{f"p_{c}": v for c, v in zip("NSVFQ", np.array([[0.7, 0.2, 0.1, 0, 0], [0.1, 0.8, 0.1, 0, 0],
                                                                       [0.1, 0.1, 0.8, 0, 0]]).T)})
    ensemble = evaluate.ensemble_predictions([p1, p2], "NSVFQ")
    np.testing.assert_allclose(ensemble["p_S"], [0.25, 0.6, 0.15], rtol=1e-6)
    assert ensemble["predicted"].tolist() == ["N", "S", "V"]  # run 1 alone calls the S beat N
    with pytest.raises(ValueError, match="same test rows"):
        evaluate.ensemble_predictions([p1, p2.iloc[::-1].reset_index(drop=True)], "NSVFQ")


# ------------------------------------------------------------------------------------------- figures

def _history(lr):
    return pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [0.5, 0.45, 0.44], "val_loss": [0.6, 0.58, 0.59],
                         "monitor": "macro_f1", "val_metric": [0.8000, 0.8025, 0.8010], "lr": lr,
                         "best": [True, True, False], "seconds": 1.0})


def test_training_curves_figure():
    fig = figures.plot_history(_history([1e-3] * 3), None)
    assert len(fig.axes) == 2  # constant learning rate: no panel for it
    metric_axis = fig.axes[1]
    low, high = metric_axis.get_ylim()
    assert high - low >= 0.1  # a 0.0025 change does not fill the axis
    assert any("kept checkpoint (epoch 2)" in t.get_text() for t in metric_axis.get_legend().get_texts())
    assert all(any(line.get_xdata()[0] == 2 and line.get_linestyle() == ":" for line in ax.get_lines())
               for ax in fig.axes)
    changed = figures.plot_history(_history([1e-3, 1e-3, 5e-4]), None)
    assert len(changed.axes) == 3 and changed.axes[2].get_ylabel() == "learning rate"


def test_roc_figure_legend_and_styles():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 200)
    p = rng.dirichlet(np.ones(3), 200) + np.eye(3)[labels]
    fig = figures.plot_roc(np.eye(3)[labels], p, ["N", "S", "V"], None)
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[1] == f"S (AUROC {roc_auc_score(labels == 1, p[:, 1]):.3f})"
    styles = {(line.get_color(), str(line.get_linestyle())) for line in ax.get_lines()[:3]}
    assert len(styles) == 3


def test_confusion_figure_counts_and_rates():
    predictions = pd.DataFrame({"true": list("NNNSSV"), "predicted": list("NNSSNV")})
    confusion = evaluate.confusion_table("beats", AAMI_CLASSES, predictions)
    assert confusion.set_index("true").loc["S", "N"] == 1 and confusion[list(AAMI_CLASSES)].to_numpy().sum() == 6
    labels = np.array([AAMI_CLASSES.index(c) for c in predictions["true"]])
    p = np.eye(5)[[AAMI_CLASSES.index(c) for c in predictions["predicted"]]]
    metrics = evaluate.singlelabel_metrics(labels, p, AAMI_CLASSES)
    ax = figures.plot_confusion(confusion, metrics, None).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()][:3] == ["N  Se 66.7%", "S  Se 50.0%", "V  Se 100.0%"]
    assert [t.get_text() for t in ax.get_xticklabels()][1] == "S\n+P 50.0%"
    assert sorted(t.get_text() for t in ax.texts).count("2") == 1  # counts written in the cells


# -------------------------------------------------------------------------------------- rule targets

def test_training_targets():
    cfg = {"seed": 0, "superclass": {"data_dir": None}, "beats": {"val_fraction": 0.2}}
    assert targets.superclass_source(cfg, "demo") == ("demo", targets.DEMO_PTBXL)
    assert targets.superclass_source(cfg, "mitdb") == (None, None)
    assert targets.superclass_source({**cfg, "superclass": {"data_dir": "/x/ptbxl/"}}, "mitdb") == ("ptbxl", "/x/ptbxl")
    assert targets.beats_split([], cfg, "afdb") == {}  # annotation-only records: no beats task
    split = targets.beats_split(["100", "102", *datasets.DS1], cfg, "mitdb")
    assert split["test"] == ["100"] and "102" not in split["train_side"] and split["train_side"] == sorted(datasets.DS1)
    outputs = targets.train_outputs("superclass", "demo")
    assert outputs["metrics"] == "results/train/superclass/demo/metrics.parquet" and "attention" in outputs
    assert "attention" not in targets.train_outputs("beats", "demo")
    assert targets.figure_outputs("beats", "demo")["confusion"] == "results/train/beats/demo/figures/confusion.png"
