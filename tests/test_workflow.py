"""Workflow tests: Snakemake end to end on tiny demo data; exact partial recomputation; kills; determinism."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import run
from ecgflow.parquet import read_metadata
from workflow_utils import REPORT_RULES, TARGET, assert_same_tables, planned_jobs, tiny_config, write_config

pytestmark = pytest.mark.slow

@pytest.fixture
def clone(done, tmp_path) -> Path:
    """A copy of the finished run (outputs and Snakemake's metadata, mtimes kept)."""
    target = tmp_path / "run"
    shutil.copytree(done, target, symlinks=True)
    return target


def jobs(workflow, workdir, config=None):
    if config is not None:
        write_config(workdir, config)
    return planned_jobs(workdir, workflow / "Snakefile")


def test_finished_run_has_nothing_to_do(workflow, done):
    assert jobs(workflow, done) == {}


def test_stream_params_override_detector_params(done):
    rr = read_metadata(done / "results" / "demo" / "detections" / "adwin" / "rr" / "d01.parquet")
    ecg = read_metadata(done / "results" / "demo" / "detections" / "adwin" / "ecg" / "d01.parquet")
    assert rr["params"] == {"clock": 1} and ecg["params"] == {}


def test_tolerance_change_reruns_only_evaluation_and_report(workflow, clone):
    config = tiny_config()
    config["evaluation"]["tolerances_s"] = [1, 3]
    planned = jobs(workflow, clone, config)
    detect_jobs = 2 * 7  # two records x (adwin, pagehinkley: ecg rr drr; ddm: irr)
    assert len(planned.pop("score_detections")) == detect_jobs
    assert planned and set(planned) <= REPORT_RULES, planned


def test_one_detector_grid_change_reruns_only_its_jobs(workflow, clone):
    config = tiny_config()
    config["detectors"]["pagehinkley"]["streams"]["rr"]["threshold"]["values"] = [1.0, 3.0]
    planned = jobs(workflow, clone, config)
    expected = {f"detector=pagehinkley, stream=rr, record={r}" for r in ("d01", "d02")}
    assert planned.pop("detect_grid") == expected
    assert planned.pop("score_detections") == expected
    assert planned and set(planned) <= REPORT_RULES, planned


def test_detector_params_change_reruns_all_its_streams(workflow, clone):
    config = tiny_config()
    config["detectors"]["pagehinkley"]["params"]["alpha"] = 0.999
    planned = jobs(workflow, clone, config)
    expected = {f"detector=pagehinkley, stream={s}, record={r}" for s in ("ecg", "rr", "drr") for r in ("d01", "d02")}
    assert planned.pop("detect_grid") == expected
    assert planned.pop("score_detections") == expected
    assert planned and set(planned) <= REPORT_RULES, planned


def test_added_record_reruns_only_its_jobs_and_aggregation(workflow, clone):
    config = tiny_config()
    config["demo"]["n_records"] = 3
    planned = jobs(workflow, clone, config)
    assert planned.pop("demo_record") == {"record=d03"}
    assert planned.pop("tidy_record") == {"record=d03"}
    for rule in ("detect_grid", "score_detections"):
        assert {w.rsplit("record=", 1)[1] for w in planned.pop(rule)} == {"d03"}
    assert planned and set(planned) <= REPORT_RULES, planned


def test_detector_code_edit_reruns_detect_jobs(workflow, clone):
    kernel = workflow / "ecgflow" / "detectors" / "adwin.py"
    original = kernel.read_text()
    try:
        kernel.write_text(original + "\n# edited\n")
        planned = jobs(workflow, clone)
    finally:
        kernel.write_text(original)
    assert len(planned.pop("detect_grid")) == 2 * 7
    assert len(planned.pop("score_detections")) == 2 * 7
    assert set(planned) <= REPORT_RULES, planned


def test_two_runs_from_scratch_give_identical_tables(workflow, done, tmp_path):
    again = write_config(tmp_path / "again", tiny_config())
    run(workflow, again, TARGET)
    assert_same_tables(done / "results", again / "results")


def test_killed_run_resumes_to_identical_tables(workflow, done, tmp_path):
    workdir = write_config(tmp_path / "killed", tiny_config())
    cmd = [sys.executable, "-m", "snakemake", "-s", str(workflow / "Snakefile"), "-d", str(workdir), "--cores", "2", TARGET]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": str(workflow)})
    detections = workdir / "results" / "demo" / "detections"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list(detections.rglob("*.parquet"))) < 3:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # Snakemake and every job it started
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    for parquet in workdir.rglob("*.parquet"):  # whatever is visible is complete
        pq.read_table(parquet)
    assert "LockException" in run(workflow, workdir, TARGET, check=False).stdout  # a kill leaves the lock
    run(workflow, workdir, "--unlock")
    run(workflow, workdir, TARGET, "--profile", str(workflow / "profiles" / "default"))
    assert_same_tables(done / "results", workdir / "results")
    assert not list((workdir / "results").rglob("*.tmp"))
