"""ecgflow.streams, ecgflow.grid and ecgflow.sweep: stream definitions, grid expansion, min-gap thinning."""

import copy

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers_detect import write_record

from ecgflow.detectors import detect
from ecgflow.errors import ConfigError, InputError
from ecgflow.grid import canonical_stream_grid, expand_grid, min_gap_samples, thin
from ecgflow.parquet import read_metadata
from ecgflow.streams import build_stream, moving_average
from ecgflow.sweep import sweep, sweep_record

from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / "config" / "config.yaml"
BEATS = pd.DataFrame({"sample": [100, 350, 600, 900, 1100, 1400]})  # RR 250, 250, 300, 200, 300 samples


def small_grid(detector="adwin", stream="rr"):
    tname = {"adwin": "delta", "pagehinkley": "threshold", "ddm": "drift_threshold"}[detector]
    wname = "irr_ms" if stream == "irr" else "ma_window"
    return canonical_stream_grid(
        {
            "threshold": {"name": tname, "values": [0.2, 0.05] if detector == "adwin" else [3.0, 1.5]},
            "window": {"name": wname, "values": [40, 20] if stream == "irr" else [2, 1]},
            "min_gap_s": [2.0, 0, 0.5],
        },
        detector,
        stream,
    )


# --- streams ----------------------------------------------------------------------------------


def test_moving_average_is_causal_mean_of_full_windows():
    x = np.array([1.0, 2.0, 3.0, 4.0, 6.0])
    np.testing.assert_allclose(moving_average(x, 2), [1.5, 2.5, 3.5, 5.0])
    np.testing.assert_array_equal(moving_average(x, 1), x)


def test_ecg_stream_positions_and_diff():
    tidy = pd.DataFrame({"sample": np.arange(10, 20), "ecg": np.arange(10, dtype=np.float32)})
    v, p = build_stream("ecg", 3, tidy=tidy)
    np.testing.assert_allclose(v, np.arange(1.0, 9.0))
    np.testing.assert_array_equal(p, np.arange(12, 20))
    v, p = build_stream("ecg", 3, tidy=tidy, diff=True)
    np.testing.assert_allclose(v, np.ones(7))
    np.testing.assert_array_equal(p, np.arange(13, 20))


def test_beat_streams():
    v, p = build_stream("rr", 1, beats=BEATS, fs=250.0)
    np.testing.assert_allclose(v, [1.0, 1.0, 1.2, 0.8, 1.2])
    np.testing.assert_array_equal(p, [350, 600, 900, 1100, 1400])
    v, p = build_stream("rr", 2, beats=BEATS, fs=250.0)
    np.testing.assert_allclose(v, [1.0, 1.1, 1.0, 1.0])
    np.testing.assert_array_equal(p, [600, 900, 1100, 1400])
    v, p = build_stream("drr", 1, beats=BEATS, fs=250.0)
    np.testing.assert_allclose(v, [0.0, 0.2, 0.4, 0.4])
    np.testing.assert_array_equal(p, [600, 900, 1100, 1400])
    v, p = build_stream("irr", 200, beats=BEATS, fs=250.0)  # |dRR| = 0, 200, 400, 400 ms
    np.testing.assert_array_equal(v, [0.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(p, [600, 900, 1100, 1400])


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"kind": "ecg", "window": 3}, InputError, "tidy"),
        ({"kind": "rr", "window": 0, "beats": BEATS, "fs": 250.0}, ConfigError, "positive"),
        ({"kind": "rr", "window": 9, "beats": BEATS, "fs": 250.0}, InputError, "too few"),
        ({"kind": "irr", "window": -5, "beats": BEATS, "fs": 250.0}, ConfigError, "irr_ms"),
        ({"kind": "rr", "window": 1, "beats": BEATS.iloc[::-1], "fs": 250.0}, InputError, "increasing"),
        ({"kind": "qt", "window": 1}, ConfigError, "unknown stream"),
    ],
)
def test_bad_stream_requests(kwargs, err, match):
    kind, window = kwargs.pop("kind"), kwargs.pop("window")
    with pytest.raises(err, match=match):
        build_stream(kind, window, **kwargs)


# --- grid ---------------------------------------------------------------------------------------


def test_default_config_grids_have_385_combinations():
    cfg = yaml.safe_load(CONFIG.read_text())["detectors"]
    for detector, spec in cfg.items():
        for stream, grid in spec["streams"].items():
            combos = expand_grid(canonical_stream_grid(grid, detector, stream))
            assert len(combos) == 385
            assert combos["combo_id"].tolist() == list(range(385))
    adwin_ecg = expand_grid(canonical_stream_grid(cfg["adwin"]["streams"]["ecg"], "adwin", "ecg"))
    best = adwin_ecg.query("threshold == 0.08 and window == 175 and min_gap_s == 12")
    assert len(best) == 1 and min_gap_samples(12, 250) == 3000


def test_expand_grid_order_and_types():
    combos = expand_grid(small_grid())
    assert combos.dtypes["combo_id"] == np.int32 and combos.dtypes["window"] == np.int64
    assert combos[["threshold", "window", "min_gap_s"]].values.tolist()[:4] == [
        [0.05, 1, 0.0], [0.05, 1, 0.5], [0.05, 1, 2.0], [0.05, 2, 0.0]]
    assert combos.loc[11].tolist()[1:] == [0.2, 2, 2.0, "delta", "ma_window"]


def test_canonical_grid_is_order_independent():
    a = small_grid()
    raw = {"threshold": {"values": [0.05, 0.2], "name": "delta"}, "min_gap_s": [0.5, 2, 0], "window": {"name": "ma_window", "values": [1, 2.0]}}
    assert canonical_stream_grid(raw, "adwin", "rr") == a


@pytest.mark.parametrize(
    "change, key",
    [
        (lambda g: g["threshold"].update(values=[0.1, 1.5]), "g.threshold.values"),
        (lambda g: g["threshold"].update(name="clock"), "g.threshold.name"),
        (lambda g: g["window"].update(values=[0, 5]), "g.window.values"),
        (lambda g: g["window"].update(values=[2.5]), "g.window.values"),
        (lambda g: g.update(min_gap_s=[-1, 2]), "g.min_gap_s"),
        (lambda g: g.update(min_gap_s=[1, 1]), "g.min_gap_s"),
        (lambda g: g.update(min_gap_s=[]), "g.min_gap_s"),
        (lambda g: g.pop("window"), "g.window"),
        (lambda g: g.update(extra=1), "g.extra"),
        (lambda g: g.update(diff=True), "g.diff"),
    ],
)
def test_bad_grid_specs_name_the_key(change, key):
    grid = {"threshold": {"name": "delta", "values": [0.1]}, "window": {"name": "ma_window", "values": [1]}, "min_gap_s": [0]}
    change(grid)
    with pytest.raises(ConfigError) as err:
        canonical_stream_grid(grid, "adwin", "rr", key="g")
    assert err.value.key == key


def test_grid_rejects_stream_the_detector_does_not_run_on():
    with pytest.raises(ConfigError, match="does not run on"):
        canonical_stream_grid({}, "ddm", "rr")


def test_thin_keeps_detections_min_gap_after_last_kept():
    idx = np.array([0, 5, 9, 10, 21, 22, 40])
    np.testing.assert_array_equal(thin(idx, 10), [0, 10, 21, 40])
    np.testing.assert_array_equal(thin(idx, 0), idx)
    np.testing.assert_array_equal(thin(idx, 1), idx)
    assert thin(np.array([], dtype=np.int64), 5).size == 0
    with pytest.raises(ConfigError):
        thin(idx, -1)


# --- sweep --------------------------------------------------------------------------------------


def test_sweep_equals_one_run_per_combination(tmp_path):
    tidy_path = write_record(tmp_path, n=90_000)
    beats = pd.read_parquet(tidy_path.parent.parent / "beats" / tidy_path.name)
    for detector, stream in (("adwin", "rr"), ("pagehinkley", "drr"), ("ddm", "irr")):
        grid = small_grid(detector, stream)
        det, meta = sweep(detector, stream, grid, fs=250.0, beats=beats, params={"clock": 1} if detector == "adwin" else {})
        assert list(det.columns) == ["combo_id", "threshold", "window", "min_gap_s", "sample"]
        assert det.dtypes.tolist() == [np.int32, np.float64, np.float64, np.float64, np.int64]
        assert len(meta["grid"]) == 12 and meta["threshold_name"] == grid["threshold"]["name"]
        assert det.equals(det.sort_values(["combo_id", "sample"]).reset_index(drop=True))
        for combo in expand_grid(grid).itertuples():
            v, p = build_stream(stream, combo.window, beats=beats, fs=250.0)
            params = {grid["threshold"]["name"]: combo.threshold, **({"clock": 1} if detector == "adwin" else {})}
            want = thin(p[detect(detector, v, **params)], min_gap_samples(combo.min_gap_s, 250.0))
            got = det.loc[det.combo_id == combo.combo_id, "sample"].to_numpy()
            np.testing.assert_array_equal(got, want)
        assert len(det) > 0
        # a larger min-gap only removes detections
        per = det.groupby("combo_id").size().reindex(range(12), fill_value=0).to_numpy().reshape(4, 3)
        assert (np.diff(per, axis=1) <= 0).all()


def test_sweep_rejects_swept_parameter_in_fixed_params():
    with pytest.raises(ConfigError, match="params.delta"):
        sweep("adwin", "rr", small_grid(), fs=250.0, beats=BEATS, params={"delta": 0.1})


def test_sweep_record_reads_files_and_fills_metadata(tmp_path):
    tidy_path = write_record(tmp_path, n=20_000)
    beats_path = tidy_path.parent.parent / "beats" / tidy_path.name
    setup = {"semantics": "river", "params": {"clock": 4}, "grid": copy.deepcopy(yaml.safe_load(CONFIG.read_text())["detectors"]["adwin"]["streams"]["ecg"])}
    det, meta = sweep_record("adwin", "ecg", setup, tidy_path=tidy_path, beats_path=beats_path)
    assert meta["record"] == "r01" and meta["dataset"] == "toy" and meta["n_samples"] == 20_000
    assert meta["n_elements"] == 20_000 and meta["fs"] == 250.0 and len(meta["grid"]) == 385
    assert det["combo_id"].between(0, 384).all() and len(det) > 0
    again, _ = sweep_record("adwin", "ecg", setup, tidy_path=tidy_path, beats_path=beats_path)
    assert det.equals(again)
    assert read_metadata(tidy_path)["fs"] == 250.0
