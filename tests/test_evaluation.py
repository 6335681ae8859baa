"""ecgflow.evaluation: matching policies, metrics, chance level, drift figures, whole-grid scoring,
per-record files, default tolerances and the CPSC 2021 score."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from conftest import SHARED, needs_shared
from hypothesis import strategies as st

from ecgflow.errors import ConfigError, InputError
from scipy.optimize import linear_sum_assignment

from ecgflow.evaluation import (
    CPSC_COLUMNS, METRIC_COLUMNS, chance_phases, chance_tp_many, evaluate_detections,
    evaluation_settings, event_tolerances, placebo_detections, precision_recall_f1, score_detections,
    score_record_file,
)
from ecgflow.evaluation import cpsc2021
from ecgflow.evaluation.chance import placebo_in_windows
from ecgflow.parquet import write_parquet
from ecgflow.sources import dataset_spec
from ecgflow.record_read import read_record

EVALUATION = {"tolerances_s": [1, 2, 4], "pre_tolerance_s": 0, "policies": ["greedy", "optimal"],
              "chance_phases": 8, "seed": 0}


# ---------------------------------------------------------------- helpers


def brute_force(det, ev, tol, pre=0):
    """Best (matches, -total absolute delay) over every one-to-one matching: exhaustive search."""
    det, ev = sorted(det), sorted(ev)

    def best(i, used):
        if i == len(ev):
            return (0, 0)
        out = best(i + 1, used)
        for j, d in enumerate(det):
            if j not in used and -pre <= d - ev[i] <= tol:
                c, s = best(i + 1, used | {j})
                out = max(out, (c + 1, s - abs(d - ev[i])))
        return out

    return best(0, frozenset())


def reference_greedy(det, ev, tol, pre=0):
    """The greedy rule written plainly: time order, smallest |delay|, the earlier event on a tie."""
    free = sorted(ev)
    pairs = []
    for d in sorted(det):
        cands = [e for e in free if -pre <= d - e <= tol]
        if cands:
            e = min(cands, key=lambda e: (abs(d - e), 0 if d >= e else 1))
            free.remove(e)
            pairs.append((d, e))
    return pairs


def grid_meta(n_combos, fs=250.0, n_samples=450_000, **extra):
    grid = [{"combo_id": c, "threshold": 0.01 * (c + 1), "window": float(c % 3 + 1), "min_gap_s": float(c % 2)}
            for c in range(n_combos)]
    return {"dataset": "demo", "record": "r1", "detector": "adwin", "stream": "rr", "fs": fs,
            "n_samples": n_samples, "threshold_name": "delta", "window_name": "ma_window", "grid": grid, **extra}


def detections_frame(per_combo: dict[int, list[int]], meta, change=None, direction=None) -> pd.DataFrame:
    """Detections table of the sweep's layout; ``change`` / ``direction``: per combo, lists in the
    alarms' sorted order (default: change = alarm, direction 0)."""
    grid = {g["combo_id"]: g for g in meta["grid"]}
    rows = []
    for c in sorted(per_combo):
        alarms = sorted(per_combo[c])
        ch = (change or {}).get(c, alarms)
        di = (direction or {}).get(c, [0] * len(alarms))
        rows += [(c, grid[c]["threshold"], grid[c]["window"], grid[c]["min_gap_s"], a, x, d)
                 for a, x, d in zip(alarms, ch, di)]
    cols = ["combo_id", "threshold", "window", "min_gap_s", "alarm_sample", "change_sample", "direction"]
    df = pd.DataFrame(rows, columns=cols)
    return df.astype({"combo_id": "int32", "alarm_sample": "int64", "change_sample": "int64", "direction": "int8"})


samples = st.lists(st.integers(0, 60), max_size=6)


# ---------------------------------------------------------------- worked examples and edge cases


def test_design_worked_example():
    m = evaluate_detections([1100, 1900, 2100], [1000, 2000], tolerance=500)
    assert (m["tp"], m["fp"], m["fn"]) == (2, 1, 0)
    assert m["pairs"].tolist() == [[1100, 1000], [2100, 2000]]
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == 1.0 and m["f1"] == pytest.approx(0.8)
    assert m["mean_delay"] == 100.0 and m["median_delay"] == 100.0
    assert m["delay_penalised_f1"] == pytest.approx(0.8 / 1.2)


def test_greedy_and_optimal_differ():
    g = evaluate_detections([150, 550], [0, 100], tolerance=500, policy="greedy")
    o = evaluate_detections([550, 150], [100, 0], tolerance=500, policy="optimal")
    assert (g["tp"], g["fp"], g["fn"]) == (1, 1, 1)
    assert g["pairs"].tolist() == [[150, 100]]
    assert (o["tp"], o["fp"], o["fn"]) == (2, 0, 0)
    assert o["pairs"].tolist() == [[150, 0], [550, 100]]


def test_optimal_prefers_least_total_delay():
    # one event, two detections in its window: the earlier one (smaller delay) is taken
    o = evaluate_detections([300, 120], [100], tolerance=500, policy="optimal")
    assert o["pairs"].tolist() == [[120, 100]]
    # two maximum matchings: {120->100} + {400->300} has delay 120 < {400->100}...: least delay wins
    o = evaluate_detections([120, 400, 450], [100, 300], tolerance=400, policy="optimal")
    assert o["tp"] == 2 and o["delays"].sum() == 20 + 100


def test_no_events_no_detections():
    m = evaluate_detections([], [], tolerance=10)
    assert (m["tp"], m["fp"], m["fn"], m["f1"]) == (0, 0, 0, 0.0)
    assert math.isnan(m["mean_delay"]) and math.isnan(m["median_delay"])
    m = evaluate_detections([5, 9], [], tolerance=10)
    assert (m["tp"], m["fp"], m["fn"], m["precision"], m["recall"]) == (0, 2, 0, 0.0, 0.0)
    assert math.isnan(m["episode_recall"])
    m = evaluate_detections([], [5, 9], tolerance=10, policy="optimal")
    assert (m["tp"], m["fp"], m["fn"], m["f1"], m["delay_penalised_f1"]) == (0, 0, 2, 0.0, 0.0)
    assert m["pairs"].shape == (0, 2)


def test_duplicate_detections_match_once():
    for policy in ("greedy", "optimal"):
        m = evaluate_detections([110, 110, 110], [100], tolerance=50, policy=policy)
        assert (m["tp"], m["fp"], m["fn"]) == (1, 2, 0)


def test_events_closer_than_tolerance():
    # both events in each detection's window: greedy takes the nearest earlier event
    g = evaluate_detections([130, 140], [100, 120], tolerance=100)
    assert g["pairs"].tolist() == [[130, 120], [140, 100]]
    m = evaluate_detections([125], [100, 120], tolerance=100, policy="optimal")
    assert (m["tp"], m["fn"]) == (1, 1) and m["pairs"].tolist() == [[125, 120]]


def test_early_detection_is_false_positive_unless_pre_tolerance():
    m = evaluate_detections([95], [100], tolerance=50)
    assert (m["tp"], m["fp"]) == (0, 1)
    m = evaluate_detections([95], [100], tolerance=50, pre_tolerance=10)
    assert m["tp"] == 1 and m["mean_delay"] == -5.0
    # greedy with pre: the nearest event wins, the event before the detection on a tie
    g = evaluate_detections([100], [90, 110], tolerance=50, pre_tolerance=20)
    assert g["pairs"].tolist() == [[100, 90]]
    g = evaluate_detections([100], [80, 105], tolerance=50, pre_tolerance=20)
    assert g["pairs"].tolist() == [[100, 105]]


def test_tolerance_bound_is_inclusive():
    assert evaluate_detections([600], [100], tolerance=500)["tp"] == 1
    assert evaluate_detections([601], [100], tolerance=500)["tp"] == 0


def test_adaptive_tolerance():
    ev = np.array([100, 200, 1000])
    assert event_tolerances(ev, 500, 0.5, 1100).tolist() == [50, 400, 50]
    m = evaluate_detections([160, 520], [100, 200, 1000], tolerance=500, adaptive_fraction=0.5, n_samples=1100)
    assert m["pairs"].tolist() == [[520, 200]]
    m = evaluate_detections([160, 520], [100, 200, 1000], tolerance=500)
    assert m["tp"] == 2


def test_drift_figures():
    # events 100 and 1000, tol 50; alarms: 110, 120 (event 100), 500 (false), 2000 (false)
    m = evaluate_detections([110, 120, 500, 2000], [100, 1000], tolerance=50, n_samples=3000)
    assert m["episode_recall"] == 0.5 and m["missed_detection_rate"] == 0.5
    assert m["mttd"] == 10.0 and m["n_false_alarms"] == 2 and m["mtfa"] == 1500.0
    assert m["mtr"] == pytest.approx(1500 / 10 * 0.5)
    # an alarm in two windows goes to the earlier event only
    m = evaluate_detections([130], [100, 120], tolerance=50)
    assert m["episode_recall"] == 0.5 and m["mttd"] == 30.0


@pytest.mark.parametrize("kwargs, error, text", [
    ({"tolerance": -1}, ConfigError, "tolerance"),
    ({"tolerance": 2.5}, ConfigError, "tolerance"),
    ({"pre_tolerance": -3}, ConfigError, "pre_tolerance"),
    ({"policy": "hungarian"}, ConfigError, "policy"),
    ({"adaptive_fraction": 0.5}, ConfigError, "n_samples"),
    ({"adaptive_fraction": 1.5, "n_samples": 10}, ConfigError, "adaptive_fraction"),
])
def test_bad_parameters(kwargs, error, text):
    with pytest.raises(error, match=text):
        evaluate_detections([1], [1], **kwargs)


@pytest.mark.parametrize("det, text", [
    ([1.0, np.nan], "NaN"), ([1.5], "non-integer"), (["a"], "integer"), ([[1, 2]], "1-D"),
])
def test_bad_arrays(det, text):
    with pytest.raises(InputError, match=text):
        evaluate_detections(det, [1])
    with pytest.raises(InputError, match="events"):
        evaluate_detections([1], det)


def test_integral_floats_accepted():
    assert evaluate_detections(np.array([1100.0]), [1000], tolerance=500)["tp"] == 1


# ---------------------------------------------------------------- properties


@settings(max_examples=300, deadline=None)
@given(det=samples, ev=samples, tol=st.integers(0, 25), pre=st.integers(0, 10),
       policy=st.sampled_from(["greedy", "optimal"]))
def test_counts_add_up_and_pairs_valid(det, ev, tol, pre, policy):
    m = evaluate_detections(det, ev, tolerance=tol, pre_tolerance=pre, policy=policy)
    assert m["tp"] + m["fn"] == len(ev) and m["tp"] + m["fp"] == len(det)
    d, e = m["pairs"][:, 0], m["pairs"][:, 1]
    assert np.all((d - e >= -pre) & (d - e <= tol))
    # each detection and each event is used at most as often as it occurs
    for col, src in ((d, det), (e, ev)):
        vals, counts = np.unique(col, return_counts=True)
        assert all(counts[i] <= src.count(v) for i, v in enumerate(vals))


@settings(max_examples=300, deadline=None)
@given(det=samples, ev=samples, tol=st.integers(0, 25), pre=st.integers(0, 10))
def test_optimal_equals_brute_force_and_beats_greedy(det, ev, tol, pre):
    o = evaluate_detections(det, ev, tolerance=tol, pre_tolerance=pre, policy="optimal")
    g = evaluate_detections(det, ev, tolerance=tol, pre_tolerance=pre, policy="greedy")
    count, neg_delay = brute_force(det, ev, tol, pre)
    assert o["tp"] == count and int(np.abs(o["delays"]).sum()) == -neg_delay
    assert o["tp"] >= g["tp"]


@settings(max_examples=300, deadline=None)
@given(det=samples, ev=samples, tol=st.integers(0, 25), pre=st.integers(0, 10))
def test_greedy_equals_plain_rule(det, ev, tol, pre):
    g = evaluate_detections(det, ev, tolerance=tol, pre_tolerance=pre, policy="greedy")
    assert [tuple(p) for p in g["pairs"].tolist()] == reference_greedy(det, ev, tol, pre)


@settings(max_examples=200, deadline=None)
@given(det=samples, ev=st.lists(st.integers(0, 60), max_size=6, unique=True), tol=st.integers(0, 25),
       frac=st.floats(0.05, 1.0))
def test_adaptive_optimal_equals_brute_force(det, ev, tol, frac):
    o = evaluate_detections(det, ev, tolerance=tol, policy="optimal", adaptive_fraction=frac, n_samples=70)
    tol_e = dict(zip(sorted(ev), event_tolerances(np.sort(np.array(ev, np.int64)), tol, frac, 70).tolist()))
    # brute force with per-event tolerances
    evs = sorted(ev)

    def best(i, used):
        if i == len(evs):
            return (0, 0)
        out = best(i + 1, used)
        for j, d in enumerate(sorted(det)):
            if j not in used and 0 <= d - evs[i] <= tol_e[evs[i]]:
                c, s = best(i + 1, used | {j})
                out = max(out, (c + 1, s - (d - evs[i])))
        return out

    count, neg_delay = best(0, frozenset())
    assert o["tp"] == count and int(o["delays"].sum()) == -neg_delay


# ---------------------------------------------------------------- chance level


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 400), u=st.floats(0, 0.999), ev=st.lists(st.integers(0, 9999), max_size=8, unique=True),
       tol=st.integers(0, 300), pre=st.integers(0, 50))
def test_placebo_window_subset_is_exact(n, u, ev, tol, pre):
    ev = np.sort(np.array(ev, np.int64))
    tol_e = np.full(len(ev), tol, np.int64)
    full = placebo_detections(n, 10_000, u)
    inside = np.zeros(len(full), bool)
    for e in ev:
        inside |= (full >= e - pre) & (full <= e + tol)
    assert placebo_in_windows(n, 10_000, u, ev, tol_e, np.int64(pre)).tolist() == full[inside].tolist()


def test_chance_matches_full_placebo():
    """Mean placebo TP over the phases equals the full placebo's, and its F1 is the mean F1."""
    ev = np.array([1000, 5000, 5200, 9000], np.int64)
    tol_e = np.full(4, 300, np.int64)
    phases = chance_phases(5, 3)
    ns = np.array([0, 1, 7, 40, 2000])
    for optimal in (False, True):
        tp = chance_tp_many(ns, 10_000, phases, ev, tol_e, np.int64(0), optimal)
        got = precision_recall_f1(tp, ns - tp, len(ev) - tp)[2]
        policy = "optimal" if optimal else "greedy"
        runs = [[evaluate_detections(placebo_detections(n, 10_000, u), ev, 300, policy=policy) for u in phases]
                for n in ns[1:]]
        np.testing.assert_allclose(tp, [0.0] + [np.mean([m["tp"] for m in r]) for r in runs])
        np.testing.assert_allclose(got, [0.0] + [np.mean([m["f1"] for m in r]) for r in runs])
    assert 0 < got[-1] < 1


def test_chance_phases_seeded():
    assert chance_phases(4, 1).tolist() == chance_phases(4, 1).tolist()
    assert chance_phases(4, 1).tolist() != chance_phases(4, 2).tolist()


@pytest.mark.parametrize("seed", range(4))
def test_optimal_equals_linear_sum_assignment_with_pre_tolerance(seed):
    """Most matches, then least total |delay|: scipy's assignment on a cost matrix where a feasible
    pair costs |d - e| - BIG (BIG above any total delay) and an infeasible one 0."""
    rng = np.random.default_rng(seed)
    big = 10**6
    for _ in range(100):
        det = rng.integers(0, 120, rng.integers(0, 12))
        ev = rng.integers(0, 120, rng.integers(0, 8))
        tol, pre = int(rng.integers(0, 25)), int(rng.integers(1, 15))
        o = evaluate_detections(det, ev, tolerance=tol, pre_tolerance=pre, policy="optimal")
        if len(det) and len(ev):
            delay = det[None, :] - ev[:, None]
            feasible = (delay >= -pre) & (delay <= tol)
            cost = np.where(feasible, np.abs(delay) - big, 0)
            rows, cols = linear_sum_assignment(cost)
            ok = feasible[rows, cols]
            count, total = int(ok.sum()), int(np.abs(delay[rows, cols][ok]).sum())
        else:
            count, total = 0, 0
        assert (o["tp"], int(np.abs(o["delays"]).sum())) == (count, total)


def test_optimal_minimises_absolute_delay():
    # 15 samples early or 1 sample late: the late one is nearer (a signed total would take the early one)
    o = evaluate_detections([85, 101], [100], tolerance=50, pre_tolerance=20, policy="optimal")
    assert o["pairs"].tolist() == [[101, 100]] and o["delays"].tolist() == [1]
    g = evaluate_detections([101, 85], [100], tolerance=50, pre_tolerance=20, policy="greedy")
    assert g["pairs"].tolist() == [[85, 100]]  # greedy goes in time order: the early one comes first


def test_precision_recall_f1_one_definition():
    assert precision_recall_f1(2, 1, 0) == pytest.approx((2 / 3, 1.0, 0.8))
    assert precision_recall_f1(0, 0, 0) == (0.0, 0.0, 0.0)
    p, r, f = precision_recall_f1(np.array([0, 3, 1.5]), np.array([4, 1, 0.5]), np.array([0, 0, 2.5]))
    np.testing.assert_allclose(f, [0.0, 6 / 7, 0.5])
    np.testing.assert_allclose(2 * p * r / np.where(p + r > 0, p + r, 1), f)


def test_default_tolerances():
    assert dataset_spec("demo").tolerances_s == (1, 2, 4)
    assert dataset_spec("afdb").tolerances_s == dataset_spec("mitdb").tolerances_s == (2, 4, 10, 30)
    assert dataset_spec("x", {"x": {"base": "demo"}}).tolerances_s == (1, 2, 4)
    cfg = {**EVALUATION, "tolerances_s": None}
    assert evaluation_settings(cfg, dataset_spec("cpsc2021").tolerances_s)["tolerances_s"] == [2, 4, 10, 30]
    assert cfg["tolerances_s"] is None  # not modified in place
    assert evaluation_settings(EVALUATION, (2, 4, 10, 30))["tolerances_s"] == [1, 2, 4]
    with pytest.raises(ConfigError, match="tolerances_s"):
        score_detections(pd.DataFrame(), grid_meta(1), np.array([1]), {"fs": 250.0, "n_samples": 10}, cfg)


# ---------------------------------------------------------------- whole-grid scoring


EVENTS = (25_000, 100_000, 300_000)


def _scored(per_combo, n_combos=4, evaluation=EVALUATION, events=EVENTS, change=None):
    meta = grid_meta(n_combos)
    ev_meta = {"fs": 250.0, "n_samples": 450_000, "duration_s": 1800.0}
    df = detections_frame(per_combo, meta, change=change)
    return score_detections(df.sample(frac=1.0, random_state=0), meta, np.array(events), ev_meta, evaluation), meta


def test_score_detections_rows_and_values():
    per_combo = {0: [25_100, 25_400, 99_000, 100_700, 200_000], 2: [300_020, 300_100]}
    # change estimates out of the alarms' order (combo 2) and earlier than the alarms
    change = {0: [25_010, 25_300, 98_000, 100_010, 150_000], 2: [299_990, 299_000]}
    out, meta = _scored(per_combo, change=change)
    assert list(out.columns) == METRIC_COLUMNS
    assert len(out) == 4 * 3 * 2 * 2
    assert out[["combo_id", "tolerance_s", "policy", "timing"]].drop_duplicates().shape[0] == len(out)
    assert out["combo_id"].is_monotonic_increasing
    assert out["timing"].tolist()[:4] == ["alarm", "change", "alarm", "change"]
    # zero-detection combos (1 and 3) are present, with zero TP and zero F1
    empty = out[out["combo_id"].isin([1, 3])]
    assert len(empty) == 24 and (empty["n_detections"] == 0).all() and (empty["f1"] == 0).all()
    assert (empty["f1_chance"] == 0).all()
    for row in out.itertuples():
        tol = round(row.tolerance_s * 250)
        assert row.tolerance_samples == tol
        det = (per_combo if row.timing == "alarm" else change).get(row.combo_id, [])
        m = evaluate_detections(det, list(EVENTS), tol, policy=row.policy, n_samples=450_000)
        assert (row.tp, row.fp, row.fn) == (m["tp"], m["fp"], m["fn"])
        assert row.f1 == pytest.approx(m["f1"])
        assert row.delay_penalised_f1 == pytest.approx(m["delay_penalised_f1"])
        assert row.episode_recall == pytest.approx(m["episode_recall"])
        for col, key in (("mean_delay_s", "mean_delay"), ("median_delay_s", "median_delay"), ("mttd_s", "mttd"),
                         ("mtfa_s", "mtfa")):
            assert getattr(row, col) == pytest.approx(m[key] / 250, nan_ok=True)
        assert row.false_alarms_per_hour == pytest.approx(m["fp"] / 0.5)
        assert row.f1_lift == pytest.approx(row.f1 - row.f1_chance)
        assert row.f1_chance == pytest.approx(2 * row.tp_chance / (row.n_detections + row.n_events))
    r = out[(out.combo_id == 0) & (out.timing == "alarm")]
    assert r["tp"].tolist() == [1, 1, 1, 1, 2, 2] and (r["threshold"] == 0.01).all()
    c = out[(out.combo_id == 0) & (out.timing == "change")]
    assert c["tp"].tolist() == [2, 2, 2, 2, 2, 2]  # the change estimates lie within 1 s of two events
    assert (out["dataset"] == "demo").all() and (out["threshold_name"] == "delta").all()
    # the chance level depends on the detection count only, not on the timing
    pivot = out.pivot_table(index=["combo_id", "tolerance_s", "policy"], columns="timing", values="f1_chance")
    np.testing.assert_array_equal(pivot["alarm"], pivot["change"])


def test_chance_level_depends_on_count_only():
    out, _ = _scored({0: [1_000, 2_000], 1: [7, 400_000], 2: list(range(0, 450_000, 4_500))})
    g = out[(out.tolerance_s == 4) & (out.policy == "greedy") & (out.timing == "alarm")].set_index("combo_id")
    assert g.loc[0, "f1_chance"] == g.loc[1, "f1_chance"]
    assert 0 < g.loc[2, "f1_chance"] < 1


def test_score_detections_bad_input():
    meta = grid_meta(2)
    df = detections_frame({0: [1]}, meta)
    ev_meta = {"fs": 250.0, "n_samples": 1000}
    with pytest.raises(InputError, match="not in the metadata grid"):
        score_detections(df.assign(combo_id=np.int32(7)), meta, np.array([5]), ev_meta, EVALUATION)
    with pytest.raises(InputError, match="fs"):
        score_detections(df, meta, np.array([5]), {"fs": 360.0, "n_samples": 1000}, EVALUATION)
    with pytest.raises(InputError, match="grid"):
        score_detections(df, {**meta, "grid": []}, np.array([5]), ev_meta, EVALUATION)
    with pytest.raises(ConfigError, match="policies"):
        score_detections(df, meta, np.array([5]), ev_meta, {**EVALUATION, "policies": ["best"]})
    with pytest.raises(InputError, match="change_sample"):
        score_detections(df.assign(change_sample=np.int64(5)), meta, np.array([5]), ev_meta, EVALUATION)
    with pytest.raises(InputError, match="'direction'"):
        score_detections(df.drop(columns="direction"), meta, np.array([5]), ev_meta, EVALUATION)


# ---------------------------------------------------------------- per-record files


def _record_file(tmp_path, cpsc=False):
    """A per-record detections file with three pairs (adwin/rr, ddm/irr silent, hysteresis/pirr), its events
    and beats (beats every 100 samples; one AF episode from 550 to 1250)."""
    fs, n = 200.0, 2000
    runs, parts = {}, []
    for detector, stream, per_combo, change, direction in (
        ("adwin", "rr", {0: [700], 1: [1300, 1900]}, {0: [600], 1: [1250, 1800]}, None),
        ("hysteresis", "pirr", {0: [640, 1320], 2: [900]}, {0: [560, 1240], 2: [880]}, {0: [1, -1], 2: [1]}),
        ("ddm", "irr", {}, None, None),  # no detection on this record
    ):
        meta = grid_meta(3, fs=fs, n_samples=n, detector=detector, stream=stream)
        df = detections_frame(per_combo, meta, change=change, direction=direction)
        parts.append(df.assign(detector=detector, stream=stream)[["detector", "stream", *df.columns]])
        runs[f"{detector}/{stream}"] = meta
    write_parquet(pd.concat(parts, ignore_index=True), tmp_path / "det.parquet",
                  {"dataset": "cpsc2021", "record": "r1", "fs": fs, "n_samples": n, "runs": runs})
    ev = pd.DataFrame({"sample": np.array([550, 1250], np.int64), "time_s": [2.75, 6.25],
                       "rhythm_from": ["(N", "(AFIB"], "rhythm_to": ["(AFIB", "(N"]})
    write_parquet(ev, tmp_path / "ev.parquet", {"fs": fs, "n_samples": n, "duration_s": n / fs})
    beats = pd.DataFrame({"sample": np.arange(100, 2000, 100, dtype=np.int64)})
    write_parquet(beats, tmp_path / "beats.parquet", {"fs": fs, "n_samples": n})
    return tmp_path / "det.parquet", tmp_path / "ev.parquet", tmp_path / "beats.parquet"


def test_score_record_file(tmp_path):
    det, ev, beats = _record_file(tmp_path)
    evaluation = {**EVALUATION, "tolerances_s": [0.5, 1]}
    a = score_record_file(det, ev, evaluation)
    assert list(a.columns) == METRIC_COLUMNS
    assert len(a) == 3 * 3 * 2 * 2 * 2
    assert a["detector"].unique().tolist() == ["adwin", "ddm", "hysteresis"]
    assert (a.loc[a.detector == "ddm", "n_detections"] == 0).all()
    keys = ["detector", "stream", "combo_id", "tolerance_s", "policy", "timing"]
    assert a.equals(a.sort_values(keys, key=lambda c: c.map({"greedy": 0, "optimal": 1}) if c.name == "policy" else c,
                                  kind="stable").reset_index(drop=True))
    assert (a["dataset"] == "cpsc2021").all() and (a["record"] == "r1").all()
    h = a[(a.detector == "hysteresis") & (a.combo_id == 0) & (a.tolerance_s == 0.5)]
    assert h["tp"].tolist() == [2, 1, 2, 1]  # alarm: 640 -> 550, 1320 -> 1250; change: 1240 is early
    pd.testing.assert_frame_equal(a, score_record_file(det, ev, evaluation))
    b = score_record_file(det, ev, evaluation, beats_path=beats)
    assert list(b.columns) == METRIC_COLUMNS + CPSC_COLUMNS
    pd.testing.assert_frame_equal(b[METRIC_COLUMNS], a)
    assert b.loc[b.detector == "adwin", "cpsc_u"].isna().all()
    u = b[b.detector == "hysteresis"].groupby(["combo_id", "timing"])["cpsc_u"].agg(["min", "max"])
    assert (u["min"] == u["max"]).all()  # does not depend on tolerance or policy
    # combo 0: alarm timing onset 640 (1), offset 1320 (0.5); change timing 560 (1), 1240 (1)
    assert u.loc[(0, "alarm"), "min"] == 1 + 1.5 and u.loc[(0, "change"), "min"] == 1 + 2
    # combo 1: no episode (-1); combo 2: onset 900 (0), open to the end (0)
    assert u.loc[(1, "alarm"), "min"] == -1 and u.loc[(2, "change"), "min"] == 1


def test_score_record_file_bad_input(tmp_path):
    det, ev, _ = _record_file(tmp_path)
    table = pd.read_parquet(det)
    write_parquet(table, tmp_path / "noruns.parquet", {"dataset": "x"})
    with pytest.raises(InputError, match="runs"):
        score_record_file(tmp_path / "noruns.parquet", ev, EVALUATION)
    write_parquet(pd.DataFrame({"sample": np.array([], np.int64), "rhythm_from": pd.Series([], dtype=str),
                                "rhythm_to": pd.Series([], dtype=str)}), tmp_path / "ev0.parquet",
                  {"fs": 200.0, "n_samples": 2000})
    with pytest.raises(InputError, match="initial_rhythm"):
        score_record_file(det, tmp_path / "ev0.parquet", EVALUATION, beats_path=tmp_path / "beats.parquet")


# ---------------------------------------------------------------- CPSC 2021 score


BEATS = np.arange(100, 2000, 100)  # b[k] = 100 (k + 1), 19 beats; records of 2000 samples


def _cpsc(episodes, predicted):
    episodes = np.array(episodes, np.int64).reshape(-1, 2)
    onset, offset = cpsc2021.endpoint_ranges(BEATS, episodes, 2000)
    return cpsc2021.record_score(predicted, cpsc2021.record_class(episodes, 2000), len(episodes), onset, offset)


def test_cpsc2021_ranges_by_hand():
    # onset mark at 550 (P2 400, P1 500 | A1 600, A2 700, A3 800); offset mark at 1250 (L3 1000, L2 1100,
    # L1 1200 | N1 1300, N2 1400)
    onset, offset = cpsc2021.endpoint_ranges(BEATS, np.array([[550, 1250]]), 2000)
    assert np.flatnonzero(onset == 1).tolist() == list(range(500, 700))
    assert np.flatnonzero(onset == 0.5).tolist() == list(range(400, 500)) + list(range(700, 800))
    assert np.flatnonzero(offset == 1).tolist() == list(range(1100, 1300))
    assert np.flatnonzero(offset == 0.5).tolist() == list(range(1000, 1100)) + list(range(1300, 1400))
    # persistent AF: the onset scores 1 before A2, the offset from L2 on
    onset, offset = cpsc2021.endpoint_ranges(BEATS, np.array([[0, 1999]]), 2000)
    assert np.flatnonzero(onset == 1).tolist() == list(range(0, 200))
    assert np.flatnonzero(onset == 0.5).tolist() == list(range(200, 300))
    assert np.flatnonzero(offset == 1).tolist() == list(range(1800, 2000))
    assert np.flatnonzero(offset == 0.5).tolist() == list(range(1700, 1800))


@pytest.mark.parametrize("truth, predicted, want", [
    ([[550, 1250]], [[560, 1240]], (2, 1.0, 2.0)),         # both within one beat: Ur 1 + Ue 2
    ([[550, 1250]], [[450, 1350]], (2, 1.0, 1.0)),         # both within two beats: 0.5 + 0.5
    ([[550, 1250]], [[300, 1250], [1500, 1600]], (2, 1.0, 0.5)),  # offset 1, scaled by Ma/Mr = 1/2
    ([[550, 1250]], [], (0, -1.0, 0.0)),                   # paroxysmal called non-AF
    ([[550, 1250]], [[0, 1999]], (1, 0.0, 0.0)),           # paroxysmal called persistent
    ([], [[560, 1240]], (2, -0.5, 0.0)),                   # non-AF: no Ue
    ([], [], (0, 1.0, 0.0)),
    ([[0, 1999]], [[150, 1999]], (2, 0.0, 2.0)),           # persistent called paroxysmal
    ([[0, 1999]], [[0, 1999]], (1, 1.0, 2.0)),
    ([[0, 1999]], [], (0, -2.0, 0.0)),
])
def test_cpsc2021_record_score_by_hand(truth, predicted, want):
    s = _cpsc(truth, predicted)
    assert (s["class_pred"], s["ur"], s["ue"]) == want and s["u"] == want[1] + want[2]


def test_cpsc2021_episodes():
    assert cpsc2021.true_episodes([550, 1250], ["(AFIB", "(N"], "(N", 2000).tolist() == [[550, 1250]]
    assert cpsc2021.true_episodes([], [], "(AFIB", 2000).tolist() == [[0, 1999]]
    assert cpsc2021.true_episodes([100, 300, 500], ["(AFIB", "(AFL", "(N"], "(N", 2000).tolist() == [[100, 500]]
    assert cpsc2021.true_episodes([700], ["(N"], "(AFL", 2000).tolist() == [[0, 700]]
    pred = cpsc2021.predicted_episodes([100, 150, 300, 500, 450], [1, 1, -1, 1, -1], 2000)
    assert pred.tolist() == [[100, 300], [500, 500]]  # a repeated onset is ignored; an offset never precedes its onset
    assert cpsc2021.predicted_episodes([100, 300, 900], [1, -1, 1], 2000).tolist() == [[100, 300], [900, 1999]]
    assert cpsc2021.predicted_episodes([300], [-1], 2000).shape == (0, 2)
    assert cpsc2021.record_class(np.array([[0, 1999]]), 2000) == 1
    assert cpsc2021.record_class(np.array([[1, 1999]]), 2000) == 2


def official_ranges(ann_samples, notes, n_samples, class_true):
    """The challenge's own score ranges, written as its scoring code indexes them: ``beat_loc`` is
    every annotation (beats and rhythm marks), an episode starts at an ``(AFIB``/``(AFL`` mark and
    ends at a ``(N`` mark."""
    loc = np.asarray(ann_samples)
    starts = [k for k, n in enumerate(notes) if n in ("(AFIB", "(AFL")]
    ends = [k for k, n in enumerate(notes) if n == "(N"]
    onset, offset = np.zeros(n_samples), np.zeros(n_samples)
    last = len(loc) - 1
    for a in starts:
        if class_true == 2 and a > 2:
            onset[loc[a - 1]:loc[a + 2]] += 1
            onset[loc[a - 2]:loc[a - 1]] += 0.5
        elif class_true == 2 and a == 2:
            onset[loc[a - 1]:loc[a + 2]] += 1
            onset[:loc[a - 1]] += 0.5
        else:
            onset[:loc[a + 2]] += 1
        onset[loc[a + 2]:loc[a + 3]] += 0.5
    for e in ends:
        if class_true == 1 or e + 1 >= last:
            offset[loc[e - 2]:] += 1
        elif e + 2 >= last:
            offset[loc[e - 2]:loc[e + 1]] += 1
            offset[loc[e + 1]:] += 0.5
        else:
            offset[loc[e - 2]:loc[e + 1]] += 1
            offset[loc[e + 1]:min(loc[e + 2], n_samples - 1)] += 0.5
        offset[loc[e - 3]:loc[e - 2]] += 0.5
    return onset, offset


@needs_shared
def test_cpsc2021_ranges_equal_the_challenge_indexing_on_real_records():
    """On every real AF record, the ranges built from beats and episodes equal the challenge's, built
    from the raw annotation list; a record's own episodes score U = 1 + 2 per episode x Ma/Mr = 3."""
    import wfdb

    folder = SHARED / "cpsc2021"
    classes = {"non atrial fibrillation": 0, "persistent atrial fibrillation": 1, "paroxysmal atrial fibrillation": 2}
    seen = set()
    for hea in sorted(folder.glob("*.hea")):
        name = hea.stem
        header = wfdb.rdheader(str(folder / name))
        class_true = classes[header.comments[0]]
        rec = read_record(dataset_spec("cpsc2021"), folder, name)
        samples, _, after = rec.rhythms.events()
        episodes = cpsc2021.true_episodes(samples, after, rec.rhythms.labels[0], rec.n_samples)
        assert cpsc2021.record_class(episodes, rec.n_samples) == class_true, name
        seen.add(class_true)
        if class_true == 0:
            continue
        ann = wfdb.rdann(str(folder / name), "atr")
        want = official_ranges(ann.sample, [n.strip() for n in ann.aux_note], rec.n_samples, class_true)
        got = cpsc2021.endpoint_ranges(rec.beat_samples, episodes, rec.n_samples)
        np.testing.assert_array_equal(got[0], want[0], err_msg=name)
        np.testing.assert_array_equal(got[1], want[1], err_msg=name)
        ends = np.minimum(episodes, rec.n_samples - 1)
        best = cpsc2021.record_score(ends, class_true, len(episodes), *got)
        assert best["ue"] == 2.0 * len(episodes) and best["ur"] == 1.0, name
        early = cpsc2021.record_score(np.maximum(ends - 5 * 200, 0), class_true, len(episodes), *got)
        assert early["ue"] < best["ue"], name
    assert seen == {0, 1, 2}
