"""python -m ecgflow.detect (one configuration on one record) and the detect rule's entry point."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers_detect import write_record

from ecgflow.detect import UsageError, main, parse_params
from ecgflow.detectors import detect, detect_changes
from ecgflow.evaluation import evaluate_detections
from ecgflow.grid import thin, thin_mask
from ecgflow.parquet import read_metadata, write_parquet
from ecgflow.streams import build_stream

ROOT = Path(__file__).resolve().parents[1]


def expected(tidy_path, ma_window, min_gap, **params):
    """(alarm, change) samples of adwin on the ecg stream, thinned on the alarms."""
    tidy = pd.read_parquet(tidy_path)
    v, p = build_stream("ecg", ma_window, tidy=tidy)
    alarm, change, _ = detect_changes("adwin", v, **params)
    keep = thin_mask(p[alarm], min_gap)
    return p[alarm][keep], p[change][keep]


def test_cli_prints_count_and_writes_detections(tmp_path, capsys):
    tidy = write_record(tmp_path)
    out = tmp_path / "det.parquet"
    args = ["--data", str(tidy), "--detector", "adwin", "--ma-window", "50", "--min-gap-samples", "750",
            "--param", "delta=0.08", "--tolerance", "500", "--sample-rate", "250", "--output", str(out)]
    assert main(args) == 0
    alarm, change = expected(tidy, 50, 750, delta=0.08)
    np.testing.assert_array_equal(alarm, thin(alarm, 750))
    printed = capsys.readouterr().out
    assert f"{alarm.size} detections" in printed
    written = pd.read_parquet(out)
    assert list(written.columns) == ["alarm_sample", "change_sample", "direction"]
    np.testing.assert_array_equal(written["alarm_sample"].to_numpy(), alarm)
    np.testing.assert_array_equal(written["change_sample"].to_numpy(), change)
    meta = read_metadata(out)
    assert meta["record"] == "r01" and meta["params"] == {} and meta["min_gap_samples"] == 750
    assert meta["threshold_name"] == "delta" and meta["grid"][0]["threshold"] == 0.08
    for timing, samples in (("alarm", alarm), ("change", change)):
        m = evaluate_detections(samples, [20_000, 40_000], tolerance=500)
        line = next(ln for ln in printed.splitlines() if ln.strip().startswith(f"{timing} samples:"))
        assert f"TP {m['tp']} FP {m['fp']} FN {m['fn']}" in line and f"F1 {m['f1']:.3f}" in line


def test_cli_prints_na_for_undefined_delay(tmp_path, capsys):
    tidy = write_record(tmp_path, n=20_000)
    assert main(["--data", str(tidy), "--detector", "pagehinkley", "--param", "threshold=1e9"]) == 0
    printed = capsys.readouterr().out
    assert "0 detections" in printed and "mean delay n/a" in printed and "nan" not in printed


def test_cli_beat_stream_from_tidy_path(tmp_path, capsys):
    tidy = write_record(tmp_path)
    assert main(["--data", str(tidy), "--detector", "ddm", "--irr-ms", "40", "--param", "drift_threshold=1.5"]) == 0
    beats = pd.read_parquet(tidy.parent.parent / "beats" / tidy.name)
    v, _ = build_stream("irr", 40, beats=beats, fs=250.0)
    assert f"on irr (irr_ms 40), {v.size} elements, {detect('ddm', v, drift_threshold=1.5).size} detections" \
        in capsys.readouterr().out


def test_cli_sample_rate_for_a_file_without_one(tmp_path, capsys):
    """``--sample-rate`` stands in for a sampling rate the metadata lacks."""
    tidy = write_record(tmp_path)
    beats_path = tidy.parent.parent / "beats" / tidy.name
    beats = pd.read_parquet(beats_path)
    write_parquet(beats, beats_path, {"record": "r01"})
    args = ["--data", str(beats_path), "--detector", "ddm", "--irr-ms", "40", "--param", "drift_threshold=1.5"]
    assert main(args) == 2 and "pass --sample-rate" in capsys.readouterr().err
    assert main([*args, "--sample-rate", "250"]) == 0
    v, _ = build_stream("irr", 40, beats=beats, fs=250.0)
    assert f"{detect('ddm', v, drift_threshold=1.5).size} detections" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--param", "delta=2"], "--param: delta: must be in (0.0, 1.0)"),
        (["--param", "deltaa=0.1"], "--param: deltaa: not a parameter of adwin"),
        (["--param", "delta"], "--param: expected NAME=VALUE"),
        (["--sample-rate", "360"], "differs from --sample-rate 360"),
        (["--ma-window", "-3"], "argument --ma-window: must be >= 1, got -3"),
        (["--tolerance", "-5"], "argument --tolerance: must be >= 0, got -5"),
        (["--min-gap-samples", "1.5"], "argument --min-gap-samples: expected an integer, got '1.5'"),
        (["--stream", "irr"], "--stream: adwin does not run on 'irr'"),
        (["--diff", "--stream", "rr"], "--diff: only the ecg stream"),
    ],
)
def test_cli_bad_input_exits_with_message(tmp_path, capsys, monkeypatch, extra, message):
    """Every argument is checked before any work: the detector never runs."""
    import ecgflow.detect as cli

    monkeypatch.setattr(cli, "sweep", lambda *a, **k: pytest.fail("ran the detector despite a bad argument"))
    tidy = write_record(tmp_path, n=5000)
    assert main(["--data", str(tidy), "--detector", "adwin", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "config key" not in err


def test_cli_missing_file(tmp_path, capsys):
    assert main(["--data", str(tmp_path / "tidy" / "nope.parquet"), "--detector", "adwin"]) == 2
    assert "--data: " in capsys.readouterr().err


def test_cli_data_not_parquet_is_one_line_naming_the_file(tmp_path, capsys):
    bad = tmp_path / "tidy" / "r01.parquet"
    bad.parent.mkdir()
    bad.write_text("record,sample\nr01,0\n")
    assert main(["--data", str(bad), "--detector", "adwin"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {bad}: not a Parquet file")


def test_cli_help_shows_defaults(capsys):
    assert main(["--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--tolerance TOLERANCE evaluation tolerance in samples (default: 500)" in out
    assert "(default: river)" in out and "(default: 1)" in out and "(default: None)" not in out


def test_parse_params_types():
    assert parse_params(["delta=0.08", "clock=1", "mode=up"]) == {"delta": 0.08, "clock": 1, "mode": "up"}
    with pytest.raises(UsageError, match="--param: expected NAME=VALUE"):
        parse_params(["=3"])


def test_module_entry_point_runs(tmp_path):
    tidy = write_record(tmp_path, n=20_000)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "ecgflow.detect", "--data", str(tidy), "--detector", "pagehinkley",
                           "--ma-window", "25", "--param", "threshold=5"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "detections" in proc.stdout


@pytest.fixture(scope="module")
def demo_tables(tmp_path_factory):
    """Tidy, beats and events Parquet files of demo record d01 (300 s, 6 regime changes) under
    ``parquet/``, and the tidy and beats tables as CSV files under ``csv/`` (no events file there)."""
    from ecgflow.demo.records import write_demo_record
    from ecgflow.record_read import read_record
    from ecgflow.sources import dataset_spec
    from ecgflow.tidy import write_tidy

    root = tmp_path_factory.mktemp("demo")
    write_demo_record(root / "raw", "d01", seed=2026, duration_s=300, fs=250)
    rec = read_record(dataset_spec("demo"), root / "raw", "d01")
    paths = {kind: root / "parquet" / kind / "d01.parquet" for kind in ("tidy", "beats", "events")}
    write_tidy(rec, "demo", paths["beats"], paths["events"], paths["tidy"])
    for kind in ("tidy", "beats"):
        (root / "csv" / kind).mkdir(parents=True)
        pd.read_parquet(paths[kind]).to_csv(root / "csv" / kind / "d01.csv", index=False)
    return root


@pytest.mark.parametrize("setup", [["--detector", "adwin", "--ma-window", "50", "--param", "delta=0.01"],
                                   ["--detector", "ddm", "--irr-ms", "40", "--param", "drift_threshold=1.5"]])
def test_cli_csv_gives_the_parquet_results(demo_tables, tmp_path, capsys, setup):
    """A CSV tidy file (ecg stream) or its sibling beats CSV (irr stream): the same detections and scores
    as the Parquet tables, with the ground truth from the tidy CSV's regime_change column."""
    from ecgflow.detect import parser, run

    common = [*setup, "--min-gap-samples", "750", "--tolerance", "2500", "--sample-rate", "250"]
    out = {kind: tmp_path / f"{kind}.parquet" for kind in ("parquet", "csv")}
    results = {}
    for kind, suffix in (("parquet", "parquet"), ("csv", "csv")):
        data = demo_tables / kind / "tidy" / f"d01.{suffix}"
        results[kind] = run(parser().parse_args(["--data", str(data), *common, "--output", str(out[kind])]))
    printed = capsys.readouterr().out
    assert "6 events:" in printed and "6 events (the tidy CSV's regime_change column):" in printed
    assert "record d01:" in printed.split("tolerance")[-2].splitlines()[-1]  # the CSV's record column names it
    assert results["csv"] == results["parquet"] and results["csv"]["detections"] > 0
    assert results["csv"]["change"]["tp"] > 0
    pd.testing.assert_frame_equal(pd.read_parquet(out["csv"]), pd.read_parquet(out["parquet"]))


def test_cli_csv_events_file_wins(demo_tables, tmp_path, capsys):
    csv = tmp_path / "tidy" / "d01.csv"
    csv.parent.mkdir()
    csv.write_bytes((demo_tables / "csv" / "tidy" / "d01.csv").read_bytes())
    (tmp_path / "events").mkdir()
    pd.DataFrame({"sample": [6284]}).to_csv(tmp_path / "events" / "d01.csv", index=False)
    assert main(["--data", str(csv), "--detector", "adwin", "--ma-window", "50", "--sample-rate", "250"]) == 0
    assert "1 events:" in capsys.readouterr().out


@pytest.mark.parametrize(
    "drop, extra, message",
    [
        ("ecg", [], "{csv}: no column 'ecg' (needs sample, ecg; the file has ['record', 'sample', 'time_s', 'rhythm', "
                    "'regime_change'])"),
        ("sample", ["--stream", "rr"], "{beats}: no column 'sample' (needs sample; the file has ['symbol', "),
        (None, ["--sample-rate", "360"], "{csv}: time_s 0.008 at sample 2 does not match --sample-rate 360"),
    ],
)
def test_cli_csv_bad_columns_name_the_file_and_the_column(demo_tables, tmp_path, capsys, monkeypatch, drop, extra,
                                                          message):
    import ecgflow.detect as cli

    monkeypatch.setattr(cli, "sweep", lambda *a, **k: pytest.fail("ran the detector on a bad CSV file"))
    files = {}
    for kind in ("tidy", "beats"):
        table = pd.read_csv(demo_tables / "csv" / kind / "d01.csv", nrows=1000)
        files[kind] = tmp_path / kind / "d01.csv"
        files[kind].parent.mkdir()
        table.drop(columns=[drop] if drop in table else []).to_csv(files[kind], index=False)
    args = ["--data", str(files["tidy"]), "--detector", "adwin", *extra]
    if "--sample-rate" not in extra:
        args += ["--sample-rate", "250"]
    assert main(args) == 2
    assert message.format(csv=files["tidy"], beats=files["beats"]) in capsys.readouterr().err


def test_cli_csv_needs_sample_rate(demo_tables, capsys):
    assert main(["--data", str(demo_tables / "csv" / "tidy" / "d01.csv"), "--detector", "adwin"]) == 2
    assert "error: --sample-rate: required with a CSV file" in capsys.readouterr().err
