"""Datasets defined by configuration: built-in entries, user entries, bases, and the errors naming a key;
records read with detected beats, and the bad inputs of records without annotations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import write_wfdb
from ecgflow.demo.records import write_demo_record
from ecgflow.edf_read import write_edf
from ecgflow.errors import ConfigError, InputError
from ecgflow.parquet import read_metadata
from ecgflow.record_read import read_record
from ecgflow.report.record_checks import qrs_detection_table, skipped_table
from ecgflow.sources import BUILTIN, dataset_spec, has_signal, list_records, selected_datasets
from ecgflow.tidy import tidy_record


def test_builtins_read_as_before():
    mitdb, afdb, cpsc = dataset_spec("mitdb"), dataset_spec("afdb"), dataset_spec("cpsc2021")
    assert (mitdb.beat_ext, mitdb.rhythm_ext, mitdb.convention, mitdb.signal) == ("atr", "atr", "transitions", "required")
    assert (afdb.beat_ext, afdb.rhythm_ext, afdb.signal) == ("qrs", "atr", "optional")
    assert (cpsc.convention, cpsc.cpsc_score) == ("episodes", True)
    assert set(BUILTIN) == {"demo", "mitdb", "afdb", "cpsc2021"} and dataset_spec("demo").generated


def test_an_entry_named_like_a_builtin_changes_only_its_keys():
    spec = dataset_spec("afdb", {"afdb": {"data_dir": "/x"}})
    assert (spec.data_dir, spec.beat_ext, spec.signal) == ("/x", "qrs", "optional")


def test_a_base_gives_detected_beats_the_base_beats_as_reference():
    spec = dataset_spec("mitdb_detected", {"mitdb_detected": {"base": "mitdb", "beats": "detect", "data_dir": "/m"}})
    assert spec.detects_beats and spec.beat_ext is None and spec.reference_beats == "atr"
    assert spec.annotation_exts() == ["atr"] and spec.labelled


def test_an_unlabelled_folder_entry():
    spec = dataset_spec("holter", {"holter": {"data_dir": "/h", "beats": "detect", "rhythm": None}})
    assert not spec.labelled and spec.annotation_exts() == [] and spec.reference_beats is None


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ({"format": "csv"}, "datasets.x.format"),
        ({"convention": "runs"}, "datasets.x.convention"),
        ({"bad_records": "ignore"}, "datasets.x.bad_records"),
        ({"format": "edf", "beats": "atr"}, "datasets.x.beats"),
        ({"format": "edf", "beats": "detect", "rhythm": "atr"}, "datasets.x.rhythm"),
        ({"beats": "detect", "signal": "optional"}, "datasets.x.signal"),
        ({"rhythm": None, "cpsc_score": True}, "datasets.x.cpsc_score"),
        ({"base": "nope"}, "datasets.x.base"),
    ],
)
def test_a_wrong_entry_names_its_key(entry, key):
    with pytest.raises(ConfigError, match=f"config key '{key}'"):
        dataset_spec("x", {"x": entry})


def test_a_cycle_of_bases_is_an_error():
    with pytest.raises(ConfigError, match="cycle of bases"):
        dataset_spec("a", {"a": {"base": "b"}, "b": {"base": "a"}})


def test_selected_datasets_fill_in_the_top_level_keys():
    config = {"dataset": "mitdb", "data_dir": "/m", "records": ["100"], "lead": ["MLII", 0], "datasets": {}}
    spec = selected_datasets(config)["mitdb"]
    assert (spec.data_dir, spec.records, spec.lead) == ("/m", ("100",), ["MLII", 0])


def test_several_datasets_need_their_own_folders():
    config = {"dataset": ["mitdb", "afdb"], "data_dir": "/m", "records": None, "lead": 0, "datasets": {}}
    with pytest.raises(ConfigError, match="config key 'data_dir'"):
        selected_datasets(config)
    config.update(data_dir=None)
    with pytest.raises(ConfigError, match="config key 'datasets.mitdb.data_dir'"):
        selected_datasets(config)
    config["datasets"] = {"mitdb": {"data_dir": "/m"}, "afdb": {"data_dir": "/a"}}
    assert [s.data_dir for s in selected_datasets(config).values()] == ["/m", "/a"]
    with pytest.raises(ConfigError, match="names a dataset twice"):
        selected_datasets({**config, "dataset": ["mitdb", "mitdb"]})


def test_records_of_an_unannotated_folder_are_its_headers_or_edf_files(tmp_path):
    for name in ("r2.hea", "r1.hea", "r1.dat", "e1.edf"):
        (tmp_path / name).write_text("")
    wfdb_spec = dataset_spec("w", {"w": {"beats": "detect", "rhythm": None}})
    edf_spec = dataset_spec("e", {"e": {"format": "edf", "beats": "detect", "rhythm": None}})
    assert list_records(wfdb_spec, tmp_path) == ["r1", "r2"] and list_records(edf_spec, tmp_path) == ["e1"]
    assert has_signal(edf_spec, tmp_path, "e1") and not has_signal(edf_spec, tmp_path, "r1")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"holds no w records \(no RECORDS file, no \*.hea\)"):
        list_records(wfdb_spec, tmp_path / "empty")
    with pytest.raises(ConfigError, match="is not a folder"):
        list_records(wfdb_spec, tmp_path / "missing")


def detect_spec(**keys):
    return dataset_spec("mine", {"mine": {"beats": "detect", "rhythm": None, **keys}})


def test_a_record_with_neither_beats_nor_a_signal(tmp_path):
    (tmp_path / "r1.dat").write_bytes(b"")
    with pytest.raises(InputError, match=r"r1\.hea: header file missing"):
        read_record(detect_spec(), tmp_path, "r1")


def test_a_signal_too_short_to_detect_beats(tmp_path):
    write_wfdb(tmp_path, "r1", n=750)  # 3 s
    with pytest.raises(InputError, match=r"r1\.hea.*too short to detect beats"):
        read_record(detect_spec(), tmp_path, "r1")


def test_an_edf_without_the_chosen_lead(tmp_path):
    write_edf(tmp_path / "r1.edf", {"ECG V1": np.sin(np.arange(2500) / 10)}, 250)
    with pytest.raises(InputError, match=r"r1\.edf: no lead matches \['MLII'\]; the file has \['ECG V1'\]"):
        read_record(detect_spec(format="edf"), tmp_path, "r1", lead=["MLII"])


def test_a_bad_record_leaves_nothing_behind_or_is_skipped_with_its_reason(tmp_path):
    write_wfdb(tmp_path / "raw", "r1", n=750)
    outputs = {kind: tmp_path / kind / "r1.parquet" for kind in ("tidy", "beats", "events")}
    reader = detect_spec().reader()
    with pytest.raises(InputError, match="too short"):
        tidy_record(reader, tmp_path / "raw", "r1", outputs, dataset="mine")
    assert not any(p.exists() for p in outputs.values())
    assert tidy_record({**reader, "bad_records": "skip"}, tmp_path / "raw", "r1", outputs, dataset="mine") is None
    meta = read_metadata(outputs["beats"])
    assert "too short to detect beats" in meta["skipped"] and pd.read_parquet(outputs["beats"]).empty
    assert skipped_table([outputs["beats"]])["record"].tolist() == ["r1"]


def test_detected_beats_of_an_annotated_record_are_measured_against_its_beats(tmp_path):
    base = write_demo_record(tmp_path, "d01", seed=2026, duration_s=120, fs=250)
    spec = dataset_spec("d", {"d": {"base": "demo", "beats": "detect"}})
    rec = read_record(spec, tmp_path, base.name)
    q = rec.qrs
    assert rec.beats_source == "detected" and q["reference"] == "atr"
    assert q["tp"] / (q["tp"] + q["fn"]) > 0.99 and q["tp"] / (q["tp"] + q["fp"]) > 0.99
    outputs = {kind: tmp_path / kind / "d01.parquet" for kind in ("tidy", "beats", "events")}
    tidy_record(spec.reader(), tmp_path, "d01", outputs, dataset="d")
    table = qrs_detection_table([outputs["beats"]])
    assert table["record"].tolist() == ["d01", "total"] and table["tp"].iloc[0] == q["tp"]
    assert not pd.read_parquet(outputs["events"]).empty  # rhythm labels still read from the annotations
