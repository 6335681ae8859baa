"""python -m ecgflow.detect (one configuration on one record) and the detect rule's entry point."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers_detect import write_record

from ecgflow.detect import main, parse_params
from ecgflow.detectors import detect
from ecgflow.errors import InputError
from ecgflow.grid import thin
from ecgflow.parquet import read_metadata
from ecgflow.streams import build_stream

ROOT = Path(__file__).resolve().parents[1]


def expected(tidy_path, ma_window, min_gap, **params):
    tidy = pd.read_parquet(tidy_path)
    v, p = build_stream("ecg", ma_window, tidy=tidy)
    return thin(p[detect("adwin", v, **params)], min_gap)


def test_cli_prints_count_and_writes_detections(tmp_path, capsys):
    tidy = write_record(tmp_path)
    out = tmp_path / "det.parquet"
    args = ["--data", str(tidy), "--detector", "adwin", "--ma-window", "50", "--min-gap-samples", "750",
            "--param", "delta=0.08", "--tolerance", "500", "--sample-rate", "250", "--output", str(out)]
    assert main(args) == 0
    want = expected(tidy, 50, 750, delta=0.08)
    printed = capsys.readouterr().out
    assert f"{want.size} detections" in printed
    np.testing.assert_array_equal(pd.read_parquet(out)["sample"].to_numpy(), want)
    meta = read_metadata(out)
    assert meta["record"] == "r01" and meta["params"] == {"delta": 0.08} and meta["min_gap_samples"] == 750
    try:
        from ecgflow.evaluation import evaluate_detections
    except ImportError:
        pytest.skip("ecgflow.evaluation not available: the evaluation figures are not printed")
    m = evaluate_detections(want, [20_000, 40_000], tolerance=500)
    assert f"TP {m['tp']} FP {m['fp']} FN {m['fn']}" in printed
    assert f"F1 {m['f1']:.3f}" in printed


def test_cli_beat_stream_from_tidy_path(tmp_path, capsys):
    tidy = write_record(tmp_path)
    assert main(["--data", str(tidy), "--detector", "ddm", "--irr-ms", "40", "--param", "drift_threshold=1.5"]) == 0
    beats = pd.read_parquet(tidy.parent.parent / "beats" / tidy.name)
    v, _ = build_stream("irr", 40, beats=beats, fs=250.0)
    assert f"on irr, {v.size} elements, {detect('ddm', v, drift_threshold=1.5).size} detections" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--param", "delta=2"], "delta"),
        (["--param", "deltaa=0.1"], "deltaa"),
        (["--param", "delta"], "NAME=VALUE"),
        (["--sample-rate", "360"], "360"),
        (["--ma-window", "-3"], "ma_window"),
    ],
)
def test_cli_bad_input_exits_with_message(tmp_path, capsys, extra, message):
    tidy = write_record(tmp_path, n=5000)
    assert main(["--data", str(tidy), "--detector", "adwin", *extra]) == 2
    assert message in capsys.readouterr().err


def test_cli_missing_file(tmp_path, capsys):
    assert main(["--data", str(tmp_path / "tidy" / "nope.parquet"), "--detector", "adwin"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_parse_params_types():
    assert parse_params(["delta=0.08", "clock=1", "mode=up"]) == {"delta": 0.08, "clock": 1, "mode": "up"}
    with pytest.raises(InputError):
        parse_params(["=3"])


def test_module_entry_point_runs(tmp_path):
    tidy = write_record(tmp_path, n=20_000)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "ecgflow.detect", "--data", str(tidy), "--detector", "pagehinkley",
                           "--ma-window", "25", "--param", "threshold=5"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "detections" in proc.stdout
