"""Datasets defined by configuration, end to end: a config entry equals its built-in bit for bit, several
datasets run in one invocation, and unannotated recordings (WFDB and EDF, generated and real) go through
``snakemake report`` to AF episodes and burden, bad records skipped with their reason."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import SHARED, needs_shared, run
from ecgflow.demo.records import write_demo_record
from ecgflow.edf_read import write_edf
from ecgflow.parquet import read_metadata
from ecgflow.wfdb_read import read_lead
from workflow_utils import tiny_config, write_config

pytestmark = pytest.mark.slow

TABLES = ("detection_metrics", "grid_summary", "best_configs", "study", "episodes", "burden")
EPISODES = {"detector": "hysteresis", "stream": "cosen", "threshold": -1.0, "window": 12, "min_gap_s": 0}


def hysteresis_only(config: dict) -> dict:
    """``config`` with the one pair the unannotated runs need (fast)."""
    config["detectors"] = {"hysteresis": config["detectors"]["hysteresis"]}
    config["detectors"]["hysteresis"]["streams"] = {"cosen": config["detectors"]["hysteresis"]["streams"]["cosen"]}
    return config


def test_a_config_entry_equals_its_builtin_and_runs_beside_it(workflow, done, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(done, work, symlinks=True)
    config = tiny_config(dataset=["demo", "copy"], datasets={"copy": {"base": "demo", "data_dir": "results/demo/raw"}})
    out = run(workflow, write_config(work, config), "report").stdout
    assert "dataset=demo" not in out  # the demo's results were up to date: only the copy's jobs ran
    for name in TABLES:
        a, b = (work / "results" / d / "tables" / f"{name}.parquet" for d in ("demo", "copy"))
        ta, tb = pq.read_table(a).to_pandas(), pq.read_table(b).to_pandas()
        if "dataset" in ta:
            assert set(ta["dataset"]) == {"demo"} and set(tb["dataset"]) == {"copy"}
            ta, tb = ta.drop(columns="dataset"), tb.drop(columns="dataset")
        pd.testing.assert_frame_equal(ta, tb, check_exact=True, obj=name)


def unannotated_folders(root, n=2, duration_s=240):
    """Demo records without annotation files (WFDB), the same records as EDF, and a flat EDF record."""
    wfdb_dir, edf_dir = root / "wfdb", root / "edf"
    for i in range(1, n + 1):
        base = write_demo_record(wfdb_dir, f"d{i:02d}", seed=7, duration_s=duration_s, fs=250)
        (base.parent / f"{base.name}.atr").unlink()
        x, *_ = read_lead(base.with_suffix(".hea"), "MLII")
        write_edf(edf_dir / f"{base.name}.edf", {"ECG MLII": x}, 250)
    write_edf(edf_dir / "flat.edf", {"ECG MLII": np.zeros(250 * 60)}, 250)
    return wfdb_dir, edf_dir


def unannotated_entry(data_dir, **keys):
    return {"data_dir": str(data_dir), "beats": "detect", "rhythm": None, "bad_records": "skip", **keys}


def test_unannotated_wfdb_and_edf_folders_give_episodes_and_burden(workflow, tmp_path):
    wfdb_dir, edf_dir = unannotated_folders(tmp_path / "data")
    datasets = {"raw": unannotated_entry(wfdb_dir), "raw_edf": unannotated_entry(edf_dir, format="edf")}
    config = hysteresis_only(tiny_config(dataset=["raw", "raw_edf"], datasets=datasets, episodes={"configuration": EPISODES}))
    work = write_config(tmp_path / "work", config)
    run(workflow, work, "report")
    res = work / "results"
    skipped = pd.read_parquet(res / "raw_edf" / "tables" / "skipped.parquet")
    assert skipped["record"].tolist() == ["flat"] and "flat line" in skipped["reason"].iloc[0]
    assert not (res / "raw_edf" / "detections" / "flat.parquet").exists()
    assert pd.read_parquet(res / "raw" / "tables" / "skipped.parquet").empty
    for name in ("raw", "raw_edf"):
        burden = pd.read_parquet(res / name / "tables" / "burden.parquet")
        assert burden["record"].tolist() == ["d01", "d02"]
        assert ((burden["af_burden"] >= 0) & (burden["af_burden"] <= 1)).all() and (burden["covered_share"] > 0.9).all()
        episodes = pd.read_parquet(res / name / "tables" / "episodes.parquet")
        assert list(episodes.columns) == ["record", "onset_s", "offset_s", "duration_s"] and len(episodes)
        assert read_metadata(res / name / "tables" / "episodes.parquet")["configuration"]["detector"] == "hysteresis"
        assert (res / name / "figures" / "episodes" / "d01.png").stat().st_size > 10_000
        assert not (res / name / "metrics").exists()  # no rhythm labels: nothing is scored
    a, b = (pd.read_parquet(res / n / "tables" / "burden.parquet") for n in ("raw", "raw_edf"))
    # EDF's 16-bit quantisation moves a detected beat now and then: the burden agrees closely, not exactly
    assert np.abs(a["af_burden"] - b["af_burden"]).max() < 0.05


@needs_shared
def test_mitdb_records_with_their_annotations_withheld(workflow, tmp_path):
    data = tmp_path / "mitdb_signals"
    data.mkdir()
    for record in ("201", "203"):  # two AF records; header and signal only
        for ext in ("hea", "dat"):
            shutil.copy(SHARED / "mitdb" / f"{record}.{ext}", data)
    datasets = {"mine": {"data_dir": str(data), "beats": "detect", "rhythm": None}}
    config = hysteresis_only(tiny_config(dataset="mine", datasets=datasets, episodes={"configuration": EPISODES}))
    work = write_config(tmp_path / "work", config)
    run(workflow, work, "report")
    burden = pd.read_parquet(work / "results" / "mine" / "tables" / "burden.parquet")
    assert burden["record"].tolist() == ["201", "203"] and (burden["duration_h"] > 0.5).all()
    beats = pd.read_parquet(work / "results" / "mine" / "beats" / "201.parquet")
    assert 1800 < len(beats) < 2400 and read_metadata(work / "results" / "mine" / "beats" / "201.parquet")["beats_source"] == "detected"
