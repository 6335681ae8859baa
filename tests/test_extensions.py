"""Extension points: a detector and a stream registered by a module outside the package run through the
sweep, the scoring and the workflow like the built-in ones."""

from __future__ import annotations

import shutil
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, run
from ecgflow.detectors import DETECTORS, detect_changes
from ecgflow.errors import ConfigError
from ecgflow.extensions import extensions_hash, load_extensions
from ecgflow.grid import DETECTOR_STREAMS, THRESHOLD_NAME, canonical_stream_grid
from ecgflow.streams import STREAMS, WINDOW_NAME
from ecgflow.sweep import sweep
from workflow_utils import tiny_config, write_config

EXAMPLE = ROOT / "docs" / "examples" / "heart_rate.py"
GRID = {"threshold": {"name": "level", "values": [100]}, "window": {"name": "beats", "values": [4]}, "min_gap_s": [0]}


@pytest.fixture
def registered(tmp_path):
    """The example extension loaded from a copy outside the package; unregistered afterwards."""
    shutil.copy(EXAMPLE, tmp_path / "heart_rate.py")
    load_extensions(["heart_rate.py"], base=tmp_path)
    yield tmp_path
    DETECTORS.pop("level"), STREAMS.pop("hr")
    sys.modules.pop("ecgflow_extension_heart_rate")


def beats_at_rates(rates_bpm, n_each, fs=250):
    rr = np.repeat(60.0 / np.asarray(rates_bpm, float), n_each)
    return pd.DataFrame({"sample": np.round(np.cumsum(rr) * fs).astype(np.int64)})


def test_registration_shows_in_every_view(registered):
    assert THRESHOLD_NAME["level"] == "level" and DETECTOR_STREAMS["level"] == ("hr",) and WINDOW_NAME["hr"] == "beats"
    assert canonical_stream_grid(GRID, "level", "hr")["window"] == {"name": "beats", "values": [4]}
    with pytest.raises(ConfigError, match="level does not run on stream 'rr'"):
        canonical_stream_grid(GRID, "level", "rr")
    alarm, change, direction = detect_changes("level", np.array([90.0, 95, 120, 130, 80]), level=100)
    assert alarm.tolist() == [2, 4] and direction.tolist() == [1, -1]


def test_a_registered_pair_runs_through_sweep_and_scoring(registered):
    beats = beats_at_rates([60, 120, 60], 40)  # the RR interval ending at beat 40 is the first at 120 bpm
    det, meta = sweep("level", "hr", canonical_stream_grid(GRID, "level", "hr"), fs=250, beats=beats)
    # over 4 intervals the mean rate passes 100 bpm with the 3rd fast one (beat 42) and falls below
    # it with the 2nd slow one (beat 81)
    up, down = beats["sample"].iloc[42], beats["sample"].iloc[81]
    assert det["alarm_sample"].tolist() == [up, down] and det["direction"].tolist() == [1, -1]
    assert meta["change_estimate"] == "the detector's own" and meta["window_name"] == "beats"
    from ecgflow.evaluation import evaluate_detections

    events = beats["sample"].iloc[[40, 80]].to_numpy()
    result = evaluate_detections(det["alarm_sample"].to_numpy(), events, tolerance=5 * 250)
    assert (result["tp"], result["fp"], result["fn"]) == (2, 0, 0)


def test_a_failing_extension_names_itself(tmp_path):
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ConfigError, match=r"config key 'extensions': broken.py: import failed \(RuntimeError: boom\)"):
        load_extensions(["broken.py"], base=tmp_path)
    with pytest.raises(ConfigError, match="missing.py not found"):
        load_extensions(["missing.py"], base=tmp_path)
    assert extensions_hash([]) != extensions_hash(["broken.py"], base=tmp_path)


@pytest.mark.slow
def test_a_registered_pair_runs_through_the_workflow(workflow, tmp_path):
    config = tiny_config(extensions=["heart_rate.py"])
    config["detectors"] = {"level": {"streams": {"hr": {**GRID, "threshold": {"name": "level", "values": [90, 110]}}}},
                           "hysteresis": config["detectors"]["hysteresis"]}
    work = write_config(tmp_path / "work", config)
    shutil.copy(EXAMPLE, work / "heart_rate.py")
    run(workflow, work, "report")
    metrics = pd.read_parquet(work / "results" / "demo" / "tables" / "detection_metrics.parquet")
    assert {"level", "hysteresis"} == set(metrics["detector"]) and (metrics[metrics["detector"] == "level"]["tp"] > 0).any()
    study = pd.read_parquet(work / "results" / "demo" / "tables" / "study.parquet")
    assert len(study) and study["n_candidates"].min() > 0
