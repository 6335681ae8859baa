"""ecgflow.detectors: exact against river 0.26 (Python loops), scikit-multiflow 0.5.3 (golden files) and
plain-Python references of the two-state detectors; change estimates."""

import json

import numpy as np
import pytest
from helpers_detect import (GOLDEN, afdb_beats, binary_stream, cusum_reference, hysteresis_reference, mitdb_tidy,
                            needs_shared, regime_stream, river_adwin_changes, river_indices)

from ecgflow.detectors import detect, detect_changes, resolve_params
from ecgflow.errors import ConfigError, InputError
from ecgflow.streams import build_stream

ADWIN_PARAMS = [
    {},
    {"delta": 0.2, "clock": 1},
    {"delta": 0.05, "clock": 4, "max_buckets": 3, "min_window_length": 2, "grace_period": 50},
    {"delta": 0.5, "clock": 16, "max_buckets": 8, "min_window_length": 10, "grace_period": 0},
]
PH_PARAMS = [
    {"threshold": 20.0},
    {"threshold": 5.0, "mode": "up"},
    {"threshold": 5.0, "mode": "down", "min_instances": 5, "alpha": 0.99, "delta": 0.1},
    {"threshold": 1.0, "min_instances": 0, "alpha": 1.0, "delta": 0.0},
]
DDM_PARAMS = [{}, {"drift_threshold": 1.5, "warm_start": 5}, {"drift_threshold": 2.5, "warning_threshold": 1.0, "warm_start": 100}]


def assert_same(name, x, **params):
    got = detect(name, x, **params)
    want = river_indices(name, x, **params)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)
    return got


# --- synthetic streams: always run ---------------------------------------------------------------


@pytest.mark.parametrize("params", ADWIN_PARAMS)
def test_adwin_matches_river_on_regime_stream(params):
    assert_same("adwin", regime_stream(1, n_regimes=24, length=2500), **params)


@pytest.mark.parametrize("params", PH_PARAMS)
def test_pagehinkley_matches_river_on_regime_stream(params):
    assert_same("pagehinkley", regime_stream(2, n_regimes=24, length=2500), **params)


@pytest.mark.parametrize("params", DDM_PARAMS)
def test_ddm_matches_river_on_binary_stream(params):
    assert_same("ddm", binary_stream(3, n_regimes=30, length=2000), **params)


def test_adwin_hundreds_of_detections_on_oscillation():
    t = np.arange(120_000)
    x = np.sin(2 * np.pi * 1.2 * t / 250) + np.random.default_rng(4).normal(0, 0.1, t.size)
    got = assert_same("adwin", x, delta=0.002)
    assert got.size > 500  # fires about every half cycle: a long run of detections and resets


def test_pagehinkley_hundreds_of_detections():
    got = assert_same("pagehinkley", regime_stream(5, n_regimes=20, length=2000), threshold=2.0, min_instances=3)
    assert got.size > 300


def test_constant_stream_never_fires():
    for name, params in (("adwin", {"clock": 1}), ("pagehinkley", {}), ("ddm", {})):
        assert detect(name, np.ones(5000), **params).size == 0


def test_stream_with_large_offset_matches_river():
    # large values stress the variance and cut-threshold arithmetic
    assert_same("adwin", 1e6 + regime_stream(6, n_regimes=10, length=2000), delta=0.1, clock=1)


def test_random_parameters_match_river():
    rng = np.random.default_rng(123)
    streams = [regime_stream(s, 8, 1200, scale=rng.uniform(0.1, 5)) * rng.uniform(1e-3, 1e3) for s in range(3)]
    streams.append(np.round(regime_stream(9, 8, 1200), 1))  # many repeated values
    for x in streams:
        for _ in range(4):
            assert_same("adwin", x, delta=float(10 ** rng.uniform(-5, -0.05)), clock=int(rng.choice([1, 2, 7, 32])),
                        max_buckets=int(rng.integers(2, 9)), min_window_length=int(rng.integers(1, 30)),
                        grace_period=int(rng.integers(0, 200)))
            assert_same("pagehinkley", x, threshold=float(10 ** rng.uniform(-2, 2)), delta=float(rng.uniform(0, 0.1)),
                        alpha=float(1 - 10 ** rng.uniform(-6, -1)), min_instances=int(rng.integers(0, 60)),
                        mode=str(rng.choice(["up", "down", "both"])))
    for s in range(3):
        for _ in range(3):
            assert_same("ddm", binary_stream(s, 8, 1200), warm_start=int(rng.integers(0, 100)),
                        drift_threshold=float(rng.uniform(0.5, 4)))


# --- real records (../shared/data) ---------------------------------------------------------------


@needs_shared
@pytest.mark.parametrize("record", ["04015", "05091"])
def test_real_rr_streams_match_river(record):
    beats, fs = afdb_beats(record, limit=12_000)
    for kind in ("rr", "drr"):
        for window in (1, 8):
            x, _ = build_stream(kind, window, beats=beats, fs=fs)
            for params in ({}, {"delta": 0.2, "clock": 1}, {"delta": 0.05, "clock": 4}):
                assert_same("adwin", x, **params)
            for params in ({"threshold": 0.5}, {"threshold": 0.1, "delta": 0.001, "mode": "up"}):
                assert_same("pagehinkley", x, **params)
    for irr_ms in (40, 120):
        x, _ = build_stream("irr", irr_ms, beats=beats, fs=fs)
        for params in ({"drift_threshold": 1.5}, {"drift_threshold": 3.0}):
            assert_same("ddm", x, **params)


@needs_shared
def test_real_ecg_hundreds_of_detections_match_river():
    tidy, _ = mitdb_tidy("201", 150_000)
    x, _ = build_stream("ecg", 25, tidy=tidy)
    assert assert_same("adwin", x, delta=0.08).size > 300
    assert assert_same("pagehinkley", x, threshold=5.0).size > 300
    x, _ = build_stream("ecg", 90, tidy=tidy, diff=True)
    assert_same("adwin", x, delta=0.002, clock=8)


def test_demo_record_streams_match_river(tmp_path):
    import pandas as pd
    import wfdb

    from ecgflow.demo.records import write_demo_record

    path = write_demo_record(tmp_path, "d02", seed=2026, duration_s=240, fs=250)
    rec = wfdb.rdrecord(str(path), channels=[0])
    ann = wfdb.rdann(str(path), "atr")
    tidy = pd.DataFrame({"sample": np.arange(rec.sig_len), "ecg": rec.p_signal[:, 0].astype(np.float32)})
    beats = pd.DataFrame({"sample": [s for s, y in zip(ann.sample, ann.symbol) if y != "+"]})
    x, _ = build_stream("ecg", 50, tidy=tidy)
    assert_same("adwin", x, delta=0.05)
    assert_same("pagehinkley", x, threshold=10.0)
    x, _ = build_stream("rr", 2, beats=beats, fs=250.0)
    assert_same("adwin", x, delta=0.2, clock=1)
    x, _ = build_stream("irr", 60, beats=beats, fs=250.0)
    assert_same("ddm", x, drift_threshold=2.0)


# --- two-state detectors: kernels equal their plain-Python references -----------------------------


def assert_two_state(name, x, **params):
    got = detect_changes(name, x, **params)
    want = hysteresis_reference(x.tolist(), **params) if name == "hysteresis" else cusum_reference(x.tolist(), **params)
    for g, w, dtype in zip(got, want, (np.int64, np.int64, np.int8)):
        assert g.dtype == dtype
        np.testing.assert_array_equal(g, np.array(w, dtype=dtype))
    assert np.all(got[1] <= got[0]) and np.all(np.diff(got[0]) > 0)
    if got[2].size:  # states alternate, starting from the low state
        np.testing.assert_array_equal(got[2], np.resize(np.array([1, -1], dtype=np.int8), got[2].size))
    return got


@pytest.mark.parametrize("params", [{"hi": 0.5, "band": 0.0, "dwell": 1}, {"hi": 0.3, "band": 0.2, "dwell": 3}, {"hi": 1.0, "band": 1.5, "dwell": 6}])
def test_hysteresis_matches_reference_on_regime_stream(params):
    assert assert_two_state("hysteresis", regime_stream(11, 30, 300, scale=1.0), **params)[0].size > 3


@pytest.mark.parametrize("params", [{"h": 2.0, "p0": 0.1, "p1": 0.5}, {"h": 8.0, "p0": 0.2, "p1": 0.8}, {"h": 0.5, "p0": 0.4, "p1": 0.45}])
def test_cusum_matches_reference_on_binary_stream(params):
    assert assert_two_state("cusum", binary_stream(12, 30, 500), **params)[0].size > 5


@needs_shared
@pytest.mark.parametrize("record", ["04015", "05091"])
def test_two_state_kernels_match_reference_on_real_streams(record):
    beats, fs = afdb_beats(record, limit=20_000)
    fired = 0
    for kind, w, grid in (("cosen", 16, [(-1.2, 1.0, 12), (-0.8, 0.3, 2)]), ("pirr", 8, [(0.5, 0.2, 4), (0.3, 0.0, 1)]),
                          ("nrmssd", 12, [(0.1, 0.05, 4)])):
        x, _ = build_stream(kind, w, beats=beats, fs=fs)
        for hi, band, dwell in grid:
            fired += assert_two_state("hysteresis", x, hi=hi, band=band, dwell=dwell)[0].size
    for irr_ms in (30, 50, 80):
        x, _ = build_stream("irr", irr_ms, beats=beats, fs=fs)
        for h, p0, p1 in ((4.0, 0.15, 0.6), (12.0, 0.2, 0.8)):
            fired += assert_two_state("cusum", x, h=h, p0=p0, p1=p1)[0].size
    assert fired > 200


# --- change estimates ------------------------------------------------------------------------------


def test_adwin_cut_points_match_river():
    for x, params in ((regime_stream(13, 12, 2000), {"clock": 1}), (regime_stream(14, 12, 2000), {"delta": 0.2})):
        alarm, change, direction = detect_changes("adwin", x, **params)
        want_alarm, want_cut = river_adwin_changes(x, **params)
        np.testing.assert_array_equal(alarm, want_alarm)
        np.testing.assert_array_equal(change, want_cut)
        assert alarm.size > 5 and not direction.any()


@needs_shared
def test_adwin_cut_points_match_river_on_real_stream():
    beats, fs = afdb_beats("04015", limit=12_000)
    x, _ = build_stream("cosen", 16, beats=beats, fs=fs)
    alarm, change, _ = detect_changes("adwin", x, delta=0.05, clock=1)
    want_alarm, want_cut = river_adwin_changes(x, delta=0.05, clock=1)
    np.testing.assert_array_equal(alarm, want_alarm)
    np.testing.assert_array_equal(change, want_cut)


def step(n=3000, at=2000, size=3.0, seed=15):
    x = np.random.default_rng(seed).normal(0.0, 1.0, n)
    x[at:] += size
    return x


@pytest.mark.parametrize("semantics", ["river", "skmultiflow"])
def test_pagehinkley_change_estimate_is_close_to_a_known_step(semantics):
    # Page's estimate: the element after the cumulative sum's last minimum
    for size in (3.0, -3.0) if semantics == "river" else (3.0,):
        alarm, change, _ = detect_changes("pagehinkley", step(size=size), semantics, threshold=20.0, delta=0.5,
                                          **({"mode": "up"} if semantics == "skmultiflow" else {}))
        assert alarm.size == 1 and alarm[0] > 2000
        assert abs(change[0] - 2000) <= 5, (alarm, change)


@pytest.mark.parametrize("semantics", ["river", "skmultiflow"])
def test_ddm_change_estimate_is_its_last_minimum_of_p_plus_s(semantics):
    # DDM's estimate (the element after its last minimum of p + s) precedes the step: a lower bound
    rng = np.random.default_rng(16)
    x = (rng.random(4000) < np.where(np.arange(4000) < 3000, 0.05, 0.5)).astype(np.float64)
    alarm, change, _ = detect_changes("ddm", x, semantics)
    assert alarm.size == 1 and 3000 <= alarm[0] < 3200
    assert 30 < change[0] <= 3000, (alarm, change)
    x[:3000] = 0.0  # an error-free start: p + s is smallest just before the step
    alarm, change, _ = detect_changes("ddm", x, semantics)
    assert alarm.size == 1 and 2990 <= change[0] <= 3000 <= alarm[0], (alarm, change)


def test_cusum_change_estimate_is_close_to_a_known_step():
    rng = np.random.default_rng(17)
    x = (rng.random(4000) < np.where((np.arange(4000) >= 1500) & (np.arange(4000) < 2500), 0.7, 0.1)).astype(np.float64)
    alarm, change, direction = detect_changes("cusum", x, h=10.0, p0=0.1, p1=0.7)
    assert direction.tolist() == [1, -1]
    assert abs(change[0] - 1500) <= 4 and abs(change[1] - 2500) <= 4, (alarm, change)
    assert np.all(alarm - change < 30)


def test_change_estimates_never_follow_the_alarm():
    x = regime_stream(18, 20, 600)
    for name, params in (("adwin", {"clock": 1}), ("pagehinkley", {"threshold": 5.0}), ("hysteresis", {"hi": 0.0, "band": 1.0, "dwell": 3})):
        alarm, change, _ = detect_changes(name, x, **params)
        assert alarm.size > 3 and np.all((change >= 0) & (change <= alarm))


# --- scikit-multiflow golden files ---------------------------------------------------------------


def golden_cases():
    if not (GOLDEN / "streams.npz").exists():
        return []
    return sorted(p.stem for p in GOLDEN.glob("*.npz") if p.stem != "streams")


@pytest.mark.parametrize("detector", ["adwin", "pagehinkley", "ddm"])
def test_skmultiflow_semantics_match_golden(detector):
    assert detector in golden_cases(), f"golden file {GOLDEN / detector}.npz missing (tools/skmultiflow_golden.py)"
    streams = np.load(GOLDEN / "streams.npz")
    golden = np.load(GOLDEN / f"{detector}.npz")
    cases = json.loads(str(golden["cases"]))
    assert len(cases) >= 4
    fired = 0
    for k, case in enumerate(cases):
        got = detect(detector, streams[case["stream"]], semantics="skmultiflow", **case["params"])
        np.testing.assert_array_equal(got, golden[f"idx_{k}"], err_msg=json.dumps(case))
        fired += got.size
    assert fired > 100


def test_skmultiflow_differs_from_river():
    # the reset policy and the cut loop differ: on a long oscillation the two ADWINs disagree
    x = np.sin(2 * np.pi * np.arange(50_000) / 400)
    assert not np.array_equal(detect("adwin", x), detect("adwin", x, semantics="skmultiflow"))
    up = detect("pagehinkley", regime_stream(7, 10, 2000), semantics="skmultiflow", threshold=5.0)
    assert up.size > 0


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x, problem",
    [
        (np.array([1.0, np.nan, 2.0]), "index 1"),
        (np.array([1.0, 2.0, np.inf]), "index 2"),
        (np.array([]), "empty"),
        (np.ones((3, 2)), "one-dimensional"),
    ],
)
def test_bad_streams_name_the_problem(x, problem):
    with pytest.raises(InputError, match=problem):
        detect("adwin", x)


@pytest.mark.parametrize("name", ["ddm", "cusum"])
def test_binary_detectors_need_binary_stream(name):
    with pytest.raises(InputError, match="0/1"):
        detect(name, np.array([0.0, 1.0, 0.5]))


@pytest.mark.parametrize(
    "name, semantics, params, key",
    [
        ("kswin", "river", {}, "detector"),
        ("adwin", "moa", {}, "semantics"),
        ("adwin", "river", {"delt": 0.1}, "delt"),
        ("adwin", "skmultiflow", {"clock": 1}, "clock"),
        ("adwin", "river", {"delta": 1.5}, "delta"),
        ("adwin", "river", {"delta": 0.0}, "delta"),
        ("adwin", "river", {"clock": 0}, "clock"),
        ("adwin", "river", {"clock": 2.5}, "clock"),
        ("adwin", "river", {"max_buckets": 1}, "max_buckets"),
        ("pagehinkley", "river", {"mode": "sideways"}, "mode"),
        ("pagehinkley", "skmultiflow", {"mode": "both"}, "mode"),
        ("pagehinkley", "river", {"threshold": float("nan")}, "threshold"),
        ("pagehinkley", "river", {"alpha": 1.2}, "alpha"),
        ("ddm", "river", {"warm_start": -1}, "warm_start"),
        ("ddm", "river", {"drift_threshold": -3.0}, "drift_threshold"),
        ("hysteresis", "river", {"dwell": 0}, "dwell"),
        ("hysteresis", "river", {"band": -0.1}, "band"),
        ("hysteresis", "river", {"hi": float("inf")}, "hi"),
        ("cusum", "river", {"p0": 0.6, "p1": 0.3}, "p1"),
        ("cusum", "river", {"p1": 1.0}, "p1"),
        ("cusum", "river", {"h": 0.0}, "h"),
    ],
)
def test_bad_parameters_name_the_key(name, semantics, params, key):
    with pytest.raises(ConfigError) as err:
        detect(name, np.ones(10), semantics, **params)
    assert err.value.key == key


def test_resolve_params_fills_defaults():
    assert resolve_params("adwin") == {"delta": 0.002, "clock": 32, "max_buckets": 5, "min_window_length": 5, "grace_period": 10}
    assert resolve_params("ddm", "skmultiflow", {"drift_threshold": 2})["drift_threshold"] == 2.0


def test_docstring_example():
    import doctest

    import ecgflow.detectors

    assert doctest.testmod(ecgflow.detectors).failed == 0
