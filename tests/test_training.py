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
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from ecgflow.errors import ConfigError, InputError
from ecgflow.parquet import read_metadata, write_parquet
from ecgflow.training import datasets, evaluate, models, targets, train
from ecgflow.training.run import run_training
from ecgflow.training.targets import FIGURES

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
PTBXL = SHARED / "ptbxl"
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
    """Tidy and beats tables of one record: N beats are narrow positive spikes, S beats wider ones, V beats
    wide negative ones."""
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
    inputs = {r: (root / "tidy" / f"{r}.parquet", root / "beats" / f"{r}.parquet") for r in records}
    datasets.build_beats(inputs, "tiny", out, window_s=(0.25, 0.45), length=64, val_fraction=0.2, seed=0)
    return out


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

def test_record_split_mitdb():
    records = [*datasets.DS1, *datasets.DS2, *datasets.PACED]
    split = datasets.record_split(records, 0.2, seed=0, dataset="mitdb")
    assert all(split[r] == "test" for r in datasets.DS2)
    assert not set(datasets.PACED) & set(split)
    assert sum(v == "val" for v in split.values()) == 4 and {split[r] for r in datasets.DS1} == {"train", "val"}
    assert split == datasets.record_split(list(reversed(records)), 0.2, seed=0, dataset="mitdb")
    assert split != datasets.record_split(records, 0.2, seed=1, dataset="mitdb")


def test_record_split_other():
    split = datasets.record_split([f"d0{i}" for i in range(1, 7)], 0.2, seed=0, dataset="demo")
    assert sorted(split.values()) == ["test", "train", "train", "train", "train", "val"]
    with pytest.raises(ValueError):
        datasets.record_split(["a", "b"], 0.2, seed=0, dataset="demo")


def test_beat_windows():
    fs, ecg = 100.0, np.arange(1000, dtype=np.float64)  # a ramp: windows are ramps too
    windows, kept = datasets.beat_windows(ecg, np.array([10, 500, 995]), fs, (0.25, 0.45), 8)
    assert kept.tolist() == [False, True, False] and windows.shape == (1, 8)
    np.testing.assert_allclose(windows.mean(), 0, atol=1e-6)
    np.testing.assert_allclose(windows.std(), 1, atol=1e-5)
    raw = 500 + np.linspace(-25, 45, 8)
    np.testing.assert_allclose(windows[0], (raw - raw.mean()) / raw.std(), atol=1e-5)
    flat, _ = datasets.beat_windows(np.ones(1000), np.array([500]), fs, (0.25, 0.45), 8)
    assert np.all(flat == 0)


def test_build_beats(beats_dir):
    X, index, meta = datasets.load_dataset(beats_dir)
    assert X.shape == (len(index), 1, 64) and X.dtype == np.float32
    assert index.columns.tolist() == ["row", "record", "sample", "split", "aami_class", "label"]
    assert set(index["aami_class"]) <= set("NSV")  # '+' (no AAMI class) dropped
    assert index.groupby("record")["split"].nunique().max() == 1  # whole records per split
    assert sorted(meta["split"].values()).count("train") == 3
    np.testing.assert_allclose(X[:, 0].std(axis=1), 1, atol=1e-4)
    rr = datasets.load_rr(beats_dir, meta)
    assert isinstance(rr, np.memmap) and rr.dtype == np.float32 and rr.shape == (len(index), 7)
    assert meta["rr_features"] == list(datasets.RR_FEATURES)
    # pre-RR is measured from the previous beat row, '+' beats (dropped from X) included
    beats = pd.read_parquet(beats_dir.parent / "beats" / "r1.parquet")
    rows = index["record"] == "r1"
    expected = beats.set_index("sample").loc[index.loc[rows, "sample"], "rr_s"].to_numpy()
    known = ~np.isnan(expected)
    np.testing.assert_allclose(rr[rows.to_numpy(), 0][known], expected[known], rtol=1e-6)
    assert datasets.load_rr(beats_dir, {**meta, "rr_features": []}) is None


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
    uneven = datasets.rr_features(np.array([0, 100, 300, 600]), 100.0, local=2)
    np.testing.assert_allclose(uneven[:, 2], [1.0, 1.5, 2.5, 3.0])  # one interval each side
    np.testing.assert_allclose(uneven[:, 3], 2.0)
    with pytest.raises(ValueError, match="at least two"):
        datasets.rr_features(np.array([5]), fs)
    with pytest.raises(ValueError, match="strictly increasing"):
        datasets.rr_features(np.array([5, 5, 9]), fs)


def test_build_beats_rejects_unordered_beats(tmp_path):
    write_tidy_record(tmp_path, "r1", seed=0)
    path = tmp_path / "beats" / "r1.parquet"
    beats = pd.read_parquet(path)
    write_parquet(pd.concat([beats, beats.iloc[[3]]]), path, read_metadata(path))  # a duplicated beat
    inputs = {r: (tmp_path / "tidy" / "r1.parquet", path) for r in ("r1", "r2", "r3")}
    with pytest.raises(InputError, match="strictly increasing"):
        datasets.build_beats(inputs, "tiny", tmp_path / "out", (0.25, 0.45), 64, 0.2, seed=0)


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
    logits = models.BeatNet().eval()(torch.randn(4, 1, 128))
    assert logits.shape == (4, 5)


def test_beat_net_with_features():
    torch.manual_seed(0)
    net = models.BeatNet(n_features=3, dropout=0.0).eval()
    net.feature_norm.fit([1.0, 0.0, 2.0], [0.5, 1.0, 0.0])
    x, f = torch.randn(4, 1, 128), torch.randn(4, 3)
    logits = net(x, f)
    assert logits.shape == (4, 5) and net.head.in_features == 64 + 3
    assert "feature_norm.mean" in net.state_dict()  # statistics travel with the checkpoint
    pooled = net.encoder(x).mean(dim=2)
    expected = net.head(torch.cat([pooled, (f - torch.tensor([1.0, 0.0, 2.0])) / torch.tensor([0.5, 1.0, 1.0])], 1))
    torch.testing.assert_close(logits, expected)
    assert not torch.equal(net(x, f + 1), logits)  # the features reach the logits
    with pytest.raises(ValueError, match="no features"):
        net(x)
    with pytest.raises(ValueError, match="extra features"):
        models.BeatNet()(x, f)


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


def test_train_config_validation():
    assert train.TrainConfig.from_mapping({**FAST, "window_s": [0.2, 0.4]}).epochs == 3
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


def _outputs(out: Path):
    tables = {n: pd.read_parquet(out / f"{n}.parquet") for n in ("history", "metrics", "thresholds", "predictions")}
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
    for figure in FIGURES["superclass"]:
        assert (tmp_path / "a" / "figures" / f"{figure}.png").stat().st_size > 1000
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


def test_beats_training(beats_dir, tmp_path):
    for name in ("a", "b"):
        tables = run_training("beats", beats_dir, tmp_path / name, {**FAST, "batch_size": 32}, seed=0,
                              device="cpu", threads=1, dataset="tiny")
    runs = [_outputs(tmp_path / name) for name in ("a", "b")]
    for key in runs[0]:
        pd.testing.assert_frame_equal(runs[0][key], runs[1][key])
    model, state = train.load_checkpoint(tmp_path / "a" / "model.pt")
    b = torch.load(tmp_path / "b" / "model.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(state["state_dict"][k], b[k]) for k in b)
    X, index, meta = datasets.load_dataset(beats_dir)
    rr = datasets.load_rr(beats_dir, meta)
    assert state["features"] == list(datasets.RR_FEATURES) and model.n_features == rr.shape[1]
    train_rows = index.loc[index["split"] == "train", "row"].to_numpy()
    torch.testing.assert_close(model.feature_norm.mean[0], torch.tensor(rr[train_rows].mean(0)), rtol=1e-4, atol=1e-6)
    test_rows = index.loc[index["split"] == "test", "row"].to_numpy()
    probs = train.probabilities("beats", train.predict(model, X, test_rows, 16, torch.device("cpu"), features=rr))
    np.testing.assert_allclose(probs, tables["predictions"][[f"p_{c}" for c in datasets.AAMI_CLASSES]].to_numpy(),
                               rtol=1e-5, atol=1e-6)
    metrics = tables["metrics"].set_index("class")
    test = index[index["split"] == "test"]
    assert metrics.loc["micro", "support"] == len(test)
    predictions = tables["predictions"]
    assert metrics.loc["micro", "accuracy"] == pytest.approx((predictions["true"] == predictions["predicted"]).mean())
    assert metrics.loc["micro", "accuracy"] > 0.8
    assert tables["thresholds"]["threshold"].isna().all()
    assert (tables["history"]["monitor"] == "macro_f1").all()
    for figure in FIGURES["beats"]:
        assert (tmp_path / "a" / "figures" / f"{figure}.png").exists()


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


def test_training_benchmark_row():
    spec = importlib.util.spec_from_file_location("bench_training", ROOT / "benchmarks" / "training.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    row = bench.throughput("beats", torch.device("cpu"), steps=1, warmup=1, repeats=1)
    assert row["samples_per_s"] > 0 and row["device"] == "cpu" and row["batch_size"] == 128


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


def test_singlelabel_metrics():
    labels = np.array([0, 0, 1, 2, 2, 2])
    p = np.eye(5)[[0, 1, 1, 2, 2, 0]] * 0.9 + 0.02
    table = evaluate.singlelabel_metrics(labels, p, list("NSVFQ")).set_index("class")
    predicted = p.argmax(1)
    assert table.loc["micro", "accuracy"] == pytest.approx(4 / 6)
    assert table.loc["macro", "f1"] == pytest.approx(f1_score(labels, predicted, labels=[0, 1, 2], average="macro"))
    assert table.loc["F", "support"] == 0 and np.isnan(table.loc["F", "auroc"])
    m = evaluate.confusion_matrix(labels, predicted, 5)
    assert m[2, 0] == 1 and m.sum() == 6 and np.trace(m) == 4


# -------------------------------------------------------------------------------------- rule targets

def test_training_targets():
    cfg = {"seed": 0, "superclass": {"data_dir": None}, "beats": {"val_fraction": 0.2}}
    assert targets.superclass_source(cfg, "demo") == ("demo", targets.DEMO_PTBXL)
    assert targets.superclass_source(cfg, "mitdb") == (None, None)
    assert targets.superclass_source({**cfg, "superclass": {"data_dir": "/x/ptbxl/"}}, "mitdb") == ("ptbxl", "/x/ptbxl")
    assert targets.beats_split([], cfg, "afdb") == {}  # annotation-only records: no beats task
    split = targets.beats_split(["100", "102", *datasets.DS1], cfg, "mitdb")
    assert split["100"] == "test" and "102" not in split
    outputs = targets.train_outputs("superclass", "demo")
    assert outputs["metrics"] == "results/train/superclass/demo/metrics.parquet"
    assert outputs["fig_attention"].endswith("figures/attention.png") and "fig_attention" not in targets.train_outputs(
        "beats", "demo")
