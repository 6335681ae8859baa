"""Data stage: WFDB records -> tidy, beats and events tables (synthetic and real records)."""

import numpy as np
import pandas as pd
import pytest
import wfdb

from conftest import SHARED, needs_shared, write_wfdb
from ecgflow.parquet import read_metadata
from ecgflow.sources import dataset_spec, list_records
from ecgflow.tidy import write_tidy
from ecgflow.record_read import read_record


def tidy_one(dataset, folder, record, out):
    rec = read_record(dataset_spec(dataset), folder, record)
    paths = {kind: out / kind / f"{record}.parquet" for kind in ("tidy", "beats", "events")}
    write_tidy(rec, dataset, paths["beats"], paths["events"], paths["tidy"] if rec.signal is not None else None)
    return rec, paths


def test_synthetic_record_tables(tmp_path):
    write_wfdb(tmp_path / "raw", "r1")
    rec, paths = tidy_one("demo", tmp_path / "raw", "r1", tmp_path / "out")
    tidy = pd.read_parquet(paths["tidy"])
    assert list(tidy.columns) == ["record", "sample", "time_s", "ecg", "rhythm", "regime_change"]
    assert len(tidy) == 5000 and tidy["ecg"].dtype == np.float32 and tidy["regime_change"].dtype == np.int8
    assert tidy.index[tidy.regime_change == 1].tolist() == [2000, 3500]
    assert tidy.loc[1999, "rhythm"] == "(N" and tidy.loc[2000, "rhythm"] == "(AFIB"
    np.testing.assert_allclose(tidy["ecg"].to_numpy()[:50], 0.2 * np.sin(2 * np.pi * 1.2 * np.arange(50) / 250), atol=0.005)
    beats = pd.read_parquet(paths["beats"])
    assert beats["sample"].tolist() == list(range(100, 4950, 200))
    assert (beats["aami_class"] == "N").all()
    assert np.isnan(beats["rr_s"].iloc[0]) and np.allclose(beats["rr_s"].iloc[1:], 0.8)
    events = pd.read_parquet(paths["events"])
    assert events[["sample", "rhythm_from", "rhythm_to"]].values.tolist() == [[2000, "(N", "(AFIB"], [3500, "(AFIB", "(N"]]
    meta = read_metadata(paths["tidy"])
    assert meta["dataset"] == "demo" and meta["record"] == "r1" and meta["fs"] == 250.0
    assert set(meta["sha256"]) == {"r1.hea", "r1.dat", "r1.atr"} and meta["ecgflow_version"]


def rhythm_changes_from_atr(path):
    """Independent count: later rhythm marks that differ from the rhythm in force."""
    ann = wfdb.rdann(str(path), "atr")
    rhythms = [n.strip("\x00 ") for s, n in zip(ann.symbol, ann.aux_note) if s == "+" and n.strip("\x00 ").startswith("(")]
    return sum(1 for a, b in zip(rhythms, rhythms[1:]) if a != b)


@needs_shared
@pytest.mark.parametrize("record", ["100", "201", "203", "222"])
def test_mitdb_regime_changes_match_atr(tmp_path, record):
    rec, paths = tidy_one("mitdb", SHARED / "mitdb", record, tmp_path)
    tidy = pd.read_parquet(paths["tidy"], columns=["regime_change"])
    expected = rhythm_changes_from_atr(SHARED / "mitdb" / record)
    assert int(tidy["regime_change"].sum()) == expected == len(pd.read_parquet(paths["events"]))
    assert len(tidy) == 650000 and rec.fs == 360


@needs_shared
def test_mitdb_lists_48_records():
    assert len(list_records(dataset_spec("mitdb"), SHARED / "mitdb")) == 48


@needs_shared
def test_cpsc2021_conventions(tmp_path):
    counts = {}
    for record in list_records(dataset_spec("cpsc2021"), SHARED / "cpsc2021"):
        _, paths = tidy_one("cpsc2021", SHARED / "cpsc2021", record, tmp_path)
        counts[record] = len(pd.read_parquet(paths["events"]))
    # paroxysmal records open and close episodes inside the record; persistent AF and non-AF records have none
    assert counts["data_101_8"] == 4 and counts["data_92_4"] == 2
    assert counts["data_84_1"] == 0 and counts["data_0_2"] == 0
    beats = pd.read_parquet(tmp_path / "beats" / "data_84_1.parquet")
    assert "None" not in set(beats["symbol"]) and set(beats["symbol"]) <= {"N", "V"}


@needs_shared
def test_afdb_annotation_only(tmp_path):
    rec, paths = tidy_one("afdb", SHARED / "afdb", "04015", tmp_path)
    assert rec.signal is None and not paths["tidy"].exists()
    qrs = wfdb.rdann(str(SHARED / "afdb" / "04015"), "qrs")
    beats = pd.read_parquet(paths["beats"])
    assert len(beats) == len(qrs.sample) and read_metadata(paths["beats"])["fs"] == 250.0
    events = pd.read_parquet(paths["events"])
    assert len(events) == rhythm_changes_from_atr(SHARED / "afdb" / "04015") > 0
    assert set(events["rhythm_to"]) <= {"(N", "(AFIB", "(AFL", "(J"}


def test_every_output_is_written_atomically_with_the_usual_permissions(tmp_path):
    """Parquet tables, NumPy arrays and model checkpoints share one atomic writer: the mode of a file
    that ``open`` creates (0o666 less the umask), and nothing left behind when the writer fails."""
    import os

    import torch

    from ecgflow.parquet import atomic_path, write_parquet

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    mode = plain.stat().st_mode & 0o777
    write_parquet(pd.DataFrame({"a": [1]}), tmp_path / "t.parquet")
    with atomic_path(tmp_path / "X.npy") as tmp, open(tmp, "wb") as fh:
        np.save(fh, np.zeros(3))
    with atomic_path(tmp_path / "model.pt") as tmp:
        torch.save({"w": torch.zeros(2)}, tmp)
    for name in ("t.parquet", "X.npy", "model.pt"):
        assert (tmp_path / name).stat().st_mode & 0o777 == mode, name
    old = os.umask(0o077)
    try:
        write_parquet(pd.DataFrame({"a": [1]}), tmp_path / "private.parquet")
    finally:
        os.umask(old)
    assert (tmp_path / "private.parquet").stat().st_mode & 0o777 == 0o600
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "broken.npy") as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("writer failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.npy", "model.pt", "plain.txt", "private.parquet", "t.parquet"]
