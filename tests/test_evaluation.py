"""ecgflow.evaluation: matching policies, metrics, chance level, drift figures, whole-grid scoring."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecgflow.errors import ConfigError, InputError
from ecgflow.evaluation import (
    METRIC_COLUMNS, chance_f1_many, chance_phases, evaluate_detections, event_tolerances,
    placebo_detections, score_detections, score_file,
)
from ecgflow.evaluation.chance import placebo_in_windows
from ecgflow.parquet import write_parquet

EVALUATION = {"tolerances_s": [1, 2, 4], "pre_tolerance_s": 0, "policies": ["greedy", "optimal"],
              "chance_phases": 8, "seed": 0}


# ---------------------------------------------------------------- helpers


def brute_force(det, ev, tol, pre=0):
    """Best (matches, -total delay) over every one-to-one matching: exhaustive search."""
    det, ev = sorted(det), sorted(ev)

    def best(i, used):
        if i == len(ev):
            return (0, 0)
        out = best(i + 1, used)
        for j, d in enumerate(det):
            if j not in used and -pre <= d - ev[i] <= tol:
                c, s = best(i + 1, used | {j})
                out = max(out, (c + 1, s - (d - ev[i])))
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


def detections_frame(per_combo: dict[int, list[int]], meta) -> pd.DataFrame:
    grid = {g["combo_id"]: g for g in meta["grid"]}
    rows = [(c, grid[c]["threshold"], grid[c]["window"], grid[c]["min_gap_s"], s)
            for c in sorted(per_combo) for s in sorted(per_combo[c])]
    df = pd.DataFrame(rows, columns=["combo_id", "threshold", "window", "min_gap_s", "sample"])
    return df.astype({"combo_id": "int32", "sample": "int64"})


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
    assert o["tp"] == count and int(o["delays"].sum()) == -neg_delay
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


def test_chance_f1_matches_full_placebo():
    ev = np.array([1000, 5000, 5200, 9000], np.int64)
    tol_e = np.full(4, 300, np.int64)
    phases = chance_phases(5, 3)
    ns = np.array([0, 1, 7, 40, 2000])
    for optimal in (False, True):
        got = chance_f1_many(ns, 10_000, phases, ev, tol_e, np.int64(0), optimal)
        policy = "optimal" if optimal else "greedy"
        want = [0.0] + [np.mean([evaluate_detections(placebo_detections(n, 10_000, u), ev, 300, policy=policy)["f1"]
                                 for u in phases]) for n in ns[1:]]
        np.testing.assert_allclose(got, want)
    assert 0 < got[-1] < 1


def test_chance_phases_seeded():
    assert chance_phases(4, 1).tolist() == chance_phases(4, 1).tolist()
    assert chance_phases(4, 1).tolist() != chance_phases(4, 2).tolist()


# ---------------------------------------------------------------- whole-grid scoring


def _scored(per_combo, n_combos=4, evaluation=EVALUATION, events=(25_000, 100_000, 300_000)):
    meta = grid_meta(n_combos)
    ev_meta = {"fs": 250.0, "n_samples": 450_000, "duration_s": 1800.0}
    df = detections_frame(per_combo, meta)
    return score_detections(df, meta, np.array(events), ev_meta, evaluation), meta


def test_score_detections_rows_and_values():
    per_combo = {0: [25_100, 25_400, 99_000, 100_700, 200_000], 2: [300_020]}
    out, meta = _scored(per_combo)
    assert list(out.columns) == METRIC_COLUMNS
    assert len(out) == 4 * 3 * 2
    assert out[["combo_id", "tolerance_s", "policy"]].drop_duplicates().shape[0] == len(out)
    assert out["combo_id"].is_monotonic_increasing
    # zero-detection combos (1 and 3) are present, with zero TP and zero F1
    empty = out[out["combo_id"].isin([1, 3])]
    assert len(empty) == 12 and (empty["n_detections"] == 0).all() and (empty["f1"] == 0).all()
    assert (empty["f1_chance"] == 0).all()
    for row in out.itertuples():
        tol = round(row.tolerance_s * 250)
        assert row.tolerance_samples == tol
        m = evaluate_detections(per_combo.get(row.combo_id, []), [25_000, 100_000, 300_000], tol, policy=row.policy,
                                n_samples=450_000)
        assert (row.tp, row.fp, row.fn) == (m["tp"], m["fp"], m["fn"])
        assert row.f1 == pytest.approx(m["f1"])
        assert row.delay_penalised_f1 == pytest.approx(m["delay_penalised_f1"])
        assert row.episode_recall == pytest.approx(m["episode_recall"])
        for col, key in (("mean_delay_s", "mean_delay"), ("median_delay_s", "median_delay"), ("mttd_s", "mttd"),
                         ("mtfa_s", "mtfa")):
            assert getattr(row, col) == pytest.approx(m[key] / 250, nan_ok=True)
        assert row.false_alarms_per_hour == pytest.approx(m["fp"] / 0.5)
        assert row.f1_lift == pytest.approx(row.f1 - row.f1_chance)
    r = out[out.combo_id == 0]
    assert r["tp"].tolist() == [1, 1, 1, 1, 2, 2] and (r["threshold"] == 0.01).all()
    assert (out["dataset"] == "demo").all() and (out["threshold_name"] == "delta").all()


def test_score_file_roundtrip_and_determinism(tmp_path):
    meta = grid_meta(3)
    det = detections_frame({1: [25_010, 50_000]}, meta)
    write_parquet(det, tmp_path / "det.parquet", meta)
    ev = pd.DataFrame({"sample": np.array([25_000, 400_000], np.int64), "time_s": [100.0, 1600.0],
                       "rhythm_from": ["N", "AFIB"], "rhythm_to": ["AFIB", "N"]})
    write_parquet(ev, tmp_path / "ev.parquet", {"fs": 250.0, "n_samples": 450_000, "duration_s": 1800.0})
    a = score_file(tmp_path / "det.parquet", tmp_path / "ev.parquet", EVALUATION)
    b = score_file(tmp_path / "det.parquet", tmp_path / "ev.parquet", EVALUATION)
    pd.testing.assert_frame_equal(a, b)
    assert a.loc[a.combo_id == 1, "tp"].tolist() == [1] * 6
    assert a["duration_h"].eq(0.5).all() and a["n_events"].eq(2).all()


def test_chance_level_depends_on_count_only():
    out, _ = _scored({0: [1_000, 2_000], 1: [7, 400_000], 2: list(range(0, 450_000, 4_500))})
    g = out[(out.tolerance_s == 4) & (out.policy == "greedy")].set_index("combo_id")
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
