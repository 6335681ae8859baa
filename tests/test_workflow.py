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

from conftest import run, write_wfdb
from ecgflow.parquet import read_metadata
from workflow_utils import DEMO_REPORT_RULES, REPORT_RULES, TARGET, assert_same_tables, planned_jobs, tiny_config, write_config

pytestmark = pytest.mark.slow

RECORD_JOBS = {"dataset=demo, record=d01", "dataset=demo, record=d02"}
PAIRS = {f"{d}/{s}" for d, spec in tiny_config()["detectors"].items() for s in spec["streams"]}

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
    runs = read_metadata(done / "results" / "demo" / "detections" / "d01.parquet")["runs"]
    assert runs["adwin/rr"]["params"] == {"clock": 1} and runs["adwin/ecg"]["params"] == {}


def test_detections_file_holds_every_pair_of_its_record(done):
    path = done / "results" / "demo" / "detections" / "d01.parquet"
    meta = read_metadata(path)
    assert set(meta["runs"]) == PAIRS and meta["record"] == "d01" and meta["dataset"] == "demo"
    table = pq.read_table(path)
    assert table.column_names[:2] == ["detector", "stream"]
    keys = list(zip(table["detector"].to_pylist(), table["stream"].to_pylist(), table["combo_id"].to_pylist()))
    assert keys == sorted(keys) and {f"{d}/{s}" for d, s, _ in keys} <= PAIRS
    metrics = pq.read_table(done / "results" / "demo" / "metrics" / "d01.parquet")
    assert {f"{d}/{s}" for d, s in zip(metrics["detector"].to_pylist(), metrics["stream"].to_pylist())} == PAIRS


def test_tolerance_change_reruns_only_scoring_and_report(workflow, clone):
    config = tiny_config()
    config["evaluation"]["tolerances_s"] = [1, 3]
    planned = jobs(workflow, clone, config)
    assert planned.pop("score_record") == RECORD_JOBS
    assert planned and set(planned) <= REPORT_RULES, planned


def test_one_detector_grid_change_reruns_detection_not_data(workflow, clone):
    config = tiny_config()
    config["detectors"]["pagehinkley"]["streams"]["rr"]["threshold"]["values"] = [1.0, 3.0]
    planned = jobs(workflow, clone, config)
    assert planned.pop("detect_record") == RECORD_JOBS  # one job per record sweeps every pair
    assert planned.pop("score_record") == RECORD_JOBS
    assert planned and set(planned) <= REPORT_RULES, planned


def test_added_record_reruns_only_its_jobs_and_aggregation(workflow, clone):
    config = tiny_config()
    config["demo"]["n_records"] = 3
    planned = jobs(workflow, clone, config)
    for rule in ("demo_record", "tidy_record", "detect_record", "score_record"):
        assert planned.pop(rule) == {"dataset=demo, record=d03"}, rule
    assert planned and set(planned) <= REPORT_RULES, planned


def edited(workflow, clone, module):
    """The jobs planned after appending a comment to ``module`` (path under the workflow folder)."""
    source = workflow / module
    original = source.read_text()
    try:
        source.write_text(original + "\n# edited\n")
        return jobs(workflow, clone)
    finally:
        source.write_text(original)


def test_detector_code_edit_reruns_detect_jobs(workflow, clone):
    planned = edited(workflow, clone, "ecgflow/detectors/adwin.py")
    assert planned.pop("detect_record") == RECORD_JOBS
    assert planned.pop("score_record") == RECORD_JOBS
    assert set(planned) <= REPORT_RULES, planned


def test_scoring_code_edit_reruns_scoring_not_detection(workflow, clone):
    planned = edited(workflow, clone, "ecgflow/evaluation/matching.py")
    assert planned.pop("score_record") == RECORD_JOBS
    assert planned and set(planned) <= REPORT_RULES, planned


def test_rhythm_code_edit_reruns_tidy_and_everything_after_it(workflow, clone):
    planned = edited(workflow, clone, "ecgflow/rhythm.py")
    for rule in ("tidy_record", "detect_record", "score_record"):
        assert planned.pop(rule) == RECORD_JOBS, rule
    assert set(planned) == DEMO_REPORT_RULES, planned  # not the generated records


def test_replaced_signal_file_reruns_its_record(workflow, clone):
    raw = clone / "results" / "demo" / "raw"
    (raw / "d01.dat").write_bytes((raw / "d02.dat").read_bytes())  # another signal of the same length
    planned = jobs(workflow, clone)
    for rule in ("tidy_record", "detect_record", "score_record"):
        assert planned.pop(rule) == {"dataset=demo, record=d01"}, rule
    assert set(planned) == DEMO_REPORT_RULES, planned


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
    while time.monotonic() < deadline and not list(detections.glob("*.parquet")):
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


def test_superclass_dataset_depends_on_the_generated_records(workflow, tmp_path):
    workdir = write_config(tmp_path / "superclass", tiny_config())
    out = run(workflow, workdir, "results/train/superclass/demo/dataset/X.npy", "-n").stdout
    job = out[out.index("rule build_superclass_dataset:"):]
    assert "results/demo/raw/ptbxl/records100" in job[: job.index("output:")]


def test_tidy_job_reads_the_signal_files_its_header_names(workflow, tmp_path):
    data = tmp_path / "data"
    write_wfdb(data, "100")
    (data / "100.hea").write_text((data / "100.hea").read_text().replace("100.dat", "100_signal.dat"))
    (data / "100.dat").rename(data / "100_signal.dat")
    workdir = write_config(tmp_path / "mitdb", tiny_config(dataset="mitdb", data_dir=str(data)))
    out = run(workflow, workdir, "results/mitdb/tidy/100.parquet", "-n").stdout
    job = out[out.index("checkpoint tidy_record:"):]
    assert f"{data}/100_signal.dat" in job[: job.index("output:")]
