"""ecgflow.streams, ecgflow.grid and ecgflow.sweep: stream definitions, grid expansion, min-gap thinning."""

import copy

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers_detect import SHARED, af_beats, cosen_reference, needs_shared, write_record

from ecgflow.changetime import irregularity, split_changes
from ecgflow.detectors import detect_changes
from ecgflow.errors import ConfigError, InputError
from ecgflow.grid import (DETECTOR_STREAMS, THRESHOLD_NAME, canonical_stream_grid, expand_grid, min_gap_samples, thin,
                          thin_mask)
from ecgflow.parquet import read_metadata
from ecgflow.streams import WINDOW_NAME, build_stream, moving_average
from ecgflow.sweep import COLUMNS, sweep, sweep_record

from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / "config" / "config.yaml"
BEATS = pd.DataFrame({"sample": [100, 350, 600, 900, 1100, 1400]})  # RR 250, 250, 300, 200, 300 samples


THRESHOLDS = {"adwin": [0.2, 0.05], "pagehinkley": [3.0, 1.5], "ddm": [3.0, 1.5], "cusum": [3.0, 1.5],
              "hysteresis": [0.5, 0.3]}
WINDOWS = {"irr_ms": [40, 20], "ma_window": [2, 1], "w": [8, 4], "smooth": [1, 4]}


def small_grid(detector="adwin", stream="rr"):
    return canonical_stream_grid(
        {
            "threshold": {"name": THRESHOLD_NAME[detector], "values": THRESHOLDS[detector]},
            "window": {"name": WINDOW_NAME[stream], "values": WINDOWS[WINDOW_NAME[stream]]},
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


def test_irregularity_streams_follow_their_definitions():
    rng = np.random.default_rng(3)
    s = np.cumsum(np.round(np.r_[rng.normal(200, 2, 40), rng.uniform(100, 300, 40)])).astype(np.int64)
    beats = pd.DataFrame({"sample": s})
    rr = np.diff(s) / 250.0
    drr = np.abs(np.diff(rr))
    for w in (3, 8, 16):
        v, p = build_stream("cosen", w, beats=beats, fs=250.0, params={"r": 0.02})
        np.testing.assert_allclose(v, [cosen_reference(rr[k - w + 1 : k + 1].tolist(), 0.02) for k in range(w - 1, rr.size)], rtol=1e-12)
        np.testing.assert_array_equal(p, s[w:])
        v, p = build_stream("nrmssd", w, beats=beats, fs=250.0)
        want = [np.sqrt(np.mean(np.diff(rr[k - w + 1 : k + 1]) ** 2)) / rr[k - w + 1 : k + 1].mean() for k in range(w - 1, rr.size)]
        np.testing.assert_allclose(v, want, rtol=1e-12)
        np.testing.assert_array_equal(p, s[w:])
        v, p = build_stream("pirr", w, beats=beats, fs=250.0, params={"irr_ms": 30})
        np.testing.assert_array_equal(v, [np.mean(drr[k - w + 1 : k + 1] * 1000 > 30) for k in range(w - 1, drr.size)])
        np.testing.assert_array_equal(p, s[w + 1 :])
    # regular beats: cosen far below its irregular value; pirr 0 then near 1
    v, _ = build_stream("cosen", 16, beats=beats, fs=250.0)
    assert v[:10].max() < -2.0 < -1.0 < v[-10:].min()


def test_stream_params_defaults_and_errors():
    regular = pd.DataFrame({"sample": np.arange(20) * 250})
    v, _ = build_stream("cosen", 8, beats=regular, fs=250.0)
    w, _ = build_stream("cosen", 8, beats=regular, fs=250.0, params={"r": 0.03})
    np.testing.assert_array_equal(v, w)
    np.testing.assert_allclose(v, np.log(0.06))  # A = B: -ln(A/B) = 0, mean RR 1 s
    with pytest.raises(ConfigError, match="stream_params.q"):
        build_stream("cosen", 3, beats=BEATS, fs=250.0, params={"q": 1})
    with pytest.raises(ConfigError, match="stream_params.r"):
        build_stream("cosen", 3, beats=BEATS, fs=250.0, params={"r": 0})
    with pytest.raises(ConfigError, match="stream_params.irr_ms"):
        build_stream("rr", 1, beats=BEATS, fs=250.0, params={"irr_ms": 50})
    with pytest.raises(ConfigError, match="w"):
        build_stream("cosen", 2, beats=BEATS, fs=250.0)


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
    assert {"hysteresis", "cusum"} <= set(cfg) and "cosen" in cfg["hysteresis"]["streams"]
    for detector, spec in cfg.items():
        for stream, grid in spec["streams"].items():
            grid = {k: v for k, v in grid.items() if k != "params"}  # the stream's detector params
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
    with pytest.raises(ConfigError, match="does not run on"):
        canonical_stream_grid({}, "cusum", "cosen")


def test_grid_stream_params_and_window_names():
    grid = {"threshold": {"name": "hi", "values": [-1.0]}, "window": {"name": "w", "values": [16, 8]}, "min_gap_s": [0]}
    canon = canonical_stream_grid(grid, "hysteresis", "cosen")
    assert canon["stream_params"] == {"r": 0.03} and canon["window"]["values"] == [8, 16]
    assert expand_grid(canon).dtypes["window"] == np.int64
    assert "stream_params" not in canonical_stream_grid(small_grid("adwin", "rr"), "adwin", "rr")
    for bad, key in (({"stream_params": {"r": -1}}, "g.stream_params.r"), ({"stream_params": {"irr_ms": 50}}, "g.stream_params.irr_ms"),
                     ({"window": {"name": "ma_window", "values": [8]}}, "g.window.name"), ({"window": {"name": "w", "values": [2]}}, "g.window.values")):
        with pytest.raises(ConfigError) as err:
            canonical_stream_grid({**grid, **bad}, "hysteresis", "cosen", key="g")
        assert err.value.key == key


def test_every_detector_runs_on_every_listed_stream():
    beats, _ = af_beats(1, n_regular=200, n_af=200)
    s = beats["sample"].to_numpy()[1:]
    rhythm = pd.DataFrame({"sample": s, "p_af": (np.arange(s.size) >= 200).astype(float)})  # the p_af stream's table
    for detector, streams in DETECTOR_STREAMS.items():
        for stream in streams:
            if stream == "ecg":
                continue
            det, meta = sweep(detector, stream, small_grid(detector, stream), fs=250.0, beats=beats, rhythm=rhythm)
            assert len(meta["grid"]) == 12 and list(det.columns) == list(COLUMNS)


def test_thin_keeps_detections_min_gap_after_last_kept():
    idx = np.array([0, 5, 9, 10, 21, 22, 40])
    np.testing.assert_array_equal(thin(idx, 10), [0, 10, 21, 40])
    np.testing.assert_array_equal(thin_mask(idx, 10), [True, False, False, True, True, False, True])
    np.testing.assert_array_equal(thin(idx, 0), idx)
    np.testing.assert_array_equal(thin(idx, 1), idx)
    assert thin(np.array([], dtype=np.int64), 5).size == 0
    with pytest.raises(ConfigError):
        thin(idx, -1)


# --- sweep --------------------------------------------------------------------------------------


def test_sweep_equals_one_run_per_combination(tmp_path):
    tidy_path = write_record(tmp_path, n=90_000)
    beats = pd.read_parquet(tidy_path.parent.parent / "beats" / tidy_path.name)
    for detector, stream in (("adwin", "rr"), ("pagehinkley", "drr"), ("ddm", "irr"), ("cusum", "irr"), ("hysteresis", "pirr")):
        grid = small_grid(detector, stream)
        fixed = {"adwin": {"clock": 1}, "hysteresis": {"band": 0.2, "dwell": 2}}.get(detector, {})
        det, meta = sweep(detector, stream, grid, fs=250.0, beats=beats, params=fixed)
        assert list(det.columns) == ["combo_id", "threshold", "window", "min_gap_s", "alarm_sample", "change_sample", "direction"]
        assert det.dtypes.tolist() == [np.int32, np.float64, np.float64, np.float64, np.int64, np.int64, np.int8]
        assert len(meta["grid"]) == 12 and meta["threshold_name"] == grid["threshold"]["name"]
        assert set(meta["columns"]) == {"alarm_sample", "change_sample", "direction"}
        assert det.equals(det.sort_values(["combo_id", "alarm_sample"]).reset_index(drop=True))
        assert ((det.change_sample >= 0) & (det.change_sample <= det.alarm_sample)).all()
        for combo in expand_grid(grid).itertuples():
            v, p = build_stream(stream, combo.window, beats=beats, fs=250.0, params=grid.get("stream_params"))
            a, c, d = detect_changes(detector, v, **{grid["threshold"]["name"]: combo.threshold, **fixed})
            keep = thin_mask(p[a], min_gap_samples(combo.min_gap_s, 250.0))
            got = det.loc[det.combo_id == combo.combo_id]
            np.testing.assert_array_equal(got["alarm_sample"], p[a][keep])
            np.testing.assert_array_equal(got["direction"], d[keep])
            if detector == "hysteresis":  # best split of the per-beat irregularity in the last window + dwell beats
                samples = beats["sample"].to_numpy()
                want = split_changes(samples, irregularity(samples, 250.0, 50.0), p[a], d, int(combo.window) + 2)[keep]
            else:
                want = p[c][keep]
            np.testing.assert_array_equal(got["change_sample"], want)
        assert len(det) > 0
        # a larger min-gap only removes detections
        per = det.groupby("combo_id").size().reindex(range(12), fill_value=0).to_numpy().reshape(4, 3)
        assert (np.diff(per, axis=1) <= 0).all()


def test_hysteresis_change_sample_within_bound_of_known_onset():
    # sinus (RR 0.8 s) -> AF from beat 600 -> sinus from beat 1200, 8 seeded records: the alarm comes
    # 12-60 beats late. Where it comes within window + dwell beats (the split's search span), the change
    # estimate (the beat ending the first RR interval of the new regime) lies within 5 beats (4 s) of the
    # truth, within 1 beat in 80 % of cases and on it in 2 cases out of 3
    grid = canonical_stream_grid({"threshold": {"name": "hi", "values": [-1.2, -1.0, -0.8]}, "window": {"name": "w", "values": [12, 16, 24]},
                                  "min_gap_s": [0]}, "hysteresis", "cosen")
    errors, lags = [], []
    for seed in range(8):
        beats, onset = af_beats(seed)
        s = beats["sample"].to_numpy()
        det, _ = sweep("hysteresis", "cosen", grid, fs=250.0, beats=beats, params={"band": 1.0, "dwell": 12})
        assert (det.direction.to_numpy() == np.tile([1, -1], 9)).all()
        truth = np.where(det.direction == 1, 600, 1200)
        lag = np.searchsorted(s, det.alarm_sample) - truth
        inside = lag <= det.window + 12
        errors.append((np.searchsorted(s, det.change_sample) - truth)[inside])
        lags.append(lag)
    errors, lags = np.concatenate(errors), np.concatenate(lags)
    assert lags.min() >= 12 and errors.size >= 100
    assert np.abs(errors).max() <= 5 and np.mean(np.abs(errors) <= 1) >= 0.8 and np.mean(errors == 0) >= 2 / 3


def test_two_state_change_sample_within_bound_on_af_beats():
    beats, onset = af_beats(7)
    grid = canonical_stream_grid({"threshold": {"name": "h", "values": [8.0]}, "window": {"name": "irr_ms", "values": [50]},
                                  "min_gap_s": [0]}, "cusum", "irr")
    det, _ = sweep("cusum", "irr", grid, fs=250.0, beats=beats)
    up = det[det.direction == 1]
    assert len(up) == 1 and abs(up.change_sample.iloc[0] - onset) <= 3 * 0.8 * 250.0
    assert up.alarm_sample.iloc[0] > up.change_sample.iloc[0]


@needs_shared
def test_change_timing_finds_real_af_boundaries_that_alarm_timing_misses():
    from ecgflow.evaluation import evaluate_detections
    from ecgflow.sources import dataset_spec
    from ecgflow.record_read import read_record

    rec = read_record(dataset_spec("afdb"), SHARED / "afdb", "04043")  # 165 rhythm changes in 10 h
    events = rec.rhythms.events()[0]
    grid = canonical_stream_grid({"threshold": {"name": "hi", "values": [-1.0]}, "window": {"name": "w", "values": [16]},
                                  "min_gap_s": [0]}, "hysteresis", "cosen")
    det, _ = sweep("hysteresis", "cosen", grid, fs=rec.fs, beats=pd.DataFrame({"sample": rec.beat_samples}))
    alarm = evaluate_detections(det.alarm_sample, events, tolerance=int(4 * rec.fs))
    change = evaluate_detections(det.change_sample, events, tolerance=int(4 * rec.fs))
    assert change["tp"] >= 0.4 * len(events) and change["tp"] > 10 * alarm["tp"]


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


def test_record_pairs_run_the_ecg_stream_only_on_records_with_a_signal():
    from ecgflow.record_jobs.detect import pair_setup, record_pairs, record_setups

    detectors = yaml.safe_load(CONFIG.read_text())["detectors"]
    every = sorted((d, s) for d in detectors for s in detectors[d]["streams"])
    assert ("adwin", "ecg") in every
    assert record_pairs(detectors, True) == every
    assert record_pairs(detectors, False) == [(d, s) for d, s in every if s != "ecg"]
    setups = record_setups(detectors, True)
    assert list(setups) == [f"{d}/{s}" for d, s in every]
    assert setups["adwin/ecg"] == pair_setup(detectors, "adwin", "ecg")


def test_detect_record_builds_each_beat_stream_once(tmp_path, monkeypatch):
    """Detectors on the same beat stream share its build within a record job, and their tables are
    those of separate sweeps."""
    import ecgflow.sweep
    from ecgflow.record_jobs.detect import detect_record, record_setups
    from ecgflow.streams import STREAMS

    tidy_path = write_record(tmp_path, n=60_000)
    beats_path = tidy_path.parent.parent / "beats" / tidy_path.name
    setups = record_setups(yaml.safe_load(CONFIG.read_text())["detectors"], has_signal=False)
    setups = {k: v for k, v in setups.items() if STREAMS[k.split("/")[1]].source == "beats"}  # p_af: a rhythm table
    alone = [sweep_record(*key.split("/"), setups[key], beats_path=beats_path)[0] for key in sorted(setups)]
    built = []
    real = ecgflow.sweep.build_stream
    monkeypatch.setattr(ecgflow.sweep, "build_stream", lambda *a, **k: built.append((a[:2], k["diff"], str(k["params"]))) or real(*a, **k))
    table, meta = detect_record(setups, dataset="toy", record="r01", beats_path=beats_path)
    assert len(built) == len(set(built)) < sum(len(s["grid"]["window"]["values"]) for s in setups.values())
    shared = pd.concat(alone, ignore_index=True)
    assert table.drop_columns(["detector", "stream"]).to_pandas().equals(shared)
    assert sorted(meta["runs"]) == sorted(setups)
