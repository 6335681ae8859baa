"""ecgflow.episodes: AF episodes and burden of a chosen two-state configuration, true episodes, the
burden error against an always-0 baseline, and the configuration a study picks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_report_tables import EVENT_FREE, metrics_frame

from ecgflow.episodes import (
    BURDEN_COLUMNS, EPISODE_COLUMNS, burden_error_summary, burden_table, episode_configuration, episode_figure,
    pick_configuration, record_burden, record_episodes, select_detections, study_origin, true_record_episodes,
    write_episode_tables, write_record_figure,
)
from ecgflow.errors import ConfigError
from ecgflow.parquet import read_metadata, write_parquet
from ecgflow.report.study import study_table

FS, N = 10.0, 1000  # 100 s records
CONFIG = {"detector": "hysteresis", "stream": "rr", "threshold": 0.5, "window": 4.0, "min_gap_s": 0.0}
# (alarm, change, direction) of combo 0 in alarm order: a -1 with no open episode, an episode, a repeated
# +1, and an episode still open at the end
COMBO0 = [(120, 100, -1), (230, 200, 1), (260, 250, 1), (420, 400, -1), (720, 700, 1)]
COMBO1 = [(530, 500, 1), (610, 600, -1)]
GRID = [{"combo_id": 0, "threshold": 0.5, "window": 4.0, "min_gap_s": 0.0},
        {"combo_id": 1, "threshold": 0.7, "window": 4.0, "min_gap_s": 0.0},
        {"combo_id": 2, "threshold": 0.9, "window": 4.0, "min_gap_s": 0.0}]  # combo 2: no detections


def detections() -> pd.DataFrame:
    parts = []
    for cid, rows in ((0, COMBO0), (1, COMBO1)):
        a, c, d = np.array(rows).T
        parts.append(pd.DataFrame({"detector": "hysteresis", "stream": "rr", "combo_id": np.int32(cid),
                                   "threshold": GRID[cid]["threshold"], "window": 4.0, "min_gap_s": 0.0,
                                   "alarm_sample": a.astype(np.int64), "change_sample": c.astype(np.int64),
                                   "direction": d.astype(np.int8)}))
    parts.append(pd.DataFrame({"detector": "adwin", "stream": "rr", "combo_id": np.int32(0), "threshold": 0.002,
                               "window": 4.0, "min_gap_s": 0.0, "alarm_sample": np.array([300, 640], np.int64),
                               "change_sample": np.array([280, 600], np.int64), "direction": np.int8(0)}))
    return pd.concat(parts, ignore_index=True)


RUNS = {"hysteresis/rr": {"grid": GRID, "window_name": "ma_window"},
        "adwin/rr": {"grid": [{"combo_id": 0, "threshold": 0.002, "window": 4.0, "min_gap_s": 0.0}]}}


def spans(episodes: pd.DataFrame) -> list:
    return [(round(a, 9), round(b, 9)) for a, b in zip(episodes["onset_s"], episodes["offset_s"])]


def test_episodes_and_burden_by_hand():
    rows = select_detections(detections().sample(frac=1.0, random_state=0), CONFIG, RUNS)
    assert rows["alarm_sample"].tolist() == [a for a, _, _ in COMBO0]
    eps = record_episodes(rows, N, FS, "r1")
    assert list(eps.columns) == EPISODE_COLUMNS and (eps["record"] == "r1").all()
    assert spans(eps) == [(20.0, 40.0), (70.0, 100.0)]  # the open episode ends with the record
    assert eps["duration_s"].tolist() == pytest.approx([20.0, 30.0])
    assert spans(record_episodes(rows, N, FS, "r1", timing="alarm")) == [(23.0, 42.0), (72.0, 100.0)]
    b = record_burden(eps, N, FS, "r1")
    assert list(b) == BURDEN_COLUMNS
    assert b == {"record": "r1", "duration_h": pytest.approx(100 / 3600), "covered_share": 1.0, "n_episodes": 2,
                 "af_burden": pytest.approx(0.5)}
    # the stream covers 15 s .. 95 s: the open episode ends there, burden (20 + 25) / 80
    covered = (150, 950)
    eps_c = record_episodes(rows, N, FS, "r1", covered)
    assert spans(eps_c) == [(20.0, 40.0), (70.0, 95.0)]
    b = record_burden(eps_c, N, FS, "r1", covered)
    assert b["covered_share"] == pytest.approx(0.8) and b["af_burden"] == pytest.approx(45 / 80)
    # an empty configuration of the grid: no episodes, burden 0
    none = select_detections(detections(), {**CONFIG, "threshold": 0.9}, RUNS)
    assert none.empty and record_burden(record_episodes(none, N, FS, "r1"), N, FS, "r1")["af_burden"] == 0.0


def test_burden_counts_overlaps_once_and_clips_to_the_span():
    eps = pd.DataFrame({"onset_s": [0.0, 5.0, 50.0, 99.0], "offset_s": [10.0, 20.0, 60.0, 100.0]})
    b = record_burden(eps, N, FS, "r", covered=(100, 900))  # 10 s .. 90 s
    assert b["af_burden"] == pytest.approx((10 + 10) / 80) and b["n_episodes"] == 3
    assert np.isnan(record_burden(eps, N, FS, "r", covered=(0, 0))["af_burden"])


def test_true_episodes_from_events():
    ev = pd.DataFrame({"sample": np.array([500, 800], np.int64), "rhythm_from": ["(AFIB", "(N"],
                       "rhythm_to": ["(N", "(AFL"]})
    eps = true_record_episodes(ev, {"fs": FS, "n_samples": N, "record": "r2", "initial_rhythm": "(AFIB"})
    assert spans(eps) == [(0.0, 50.0), (80.0, 100.0)] and (eps["record"] == "r2").all()
    # without initial_rhythm: the first event's rhythm_from
    assert spans(true_record_episodes(ev, {"fs": FS, "n_samples": N})) == [(0.0, 50.0), (80.0, 100.0)]
    ev2 = pd.DataFrame({"sample": np.array([300, 600], np.int64), "rhythm_from": ["(N", "(AFIB"],
                        "rhythm_to": ["(AFIB", "(N"]})
    assert spans(true_record_episodes(ev2, {"fs": FS, "n_samples": N, "initial_rhythm": "(N"})) == [(30.0, 60.0)]
    assert true_record_episodes(ev2.iloc[:0], {"fs": FS, "n_samples": N, "initial_rhythm": "(N"}).empty


def test_burden_table_error_and_always_zero_baseline():
    est = [{"record": "b", "duration_h": 1.0, "covered_share": 1.0, "n_episodes": 1, "af_burden": 0.3},
           {"record": "a", "duration_h": 2.0, "covered_share": 0.9, "n_episodes": 0, "af_burden": 0.0},
           {"record": "c", "duration_h": 1.0, "covered_share": 1.0, "n_episodes": 2, "af_burden": 0.5}]
    tru = [{"record": "a", "duration_h": 2.0, "covered_share": 0.9, "n_episodes": 1, "af_burden": 0.2},
           {"record": "b", "duration_h": 1.0, "covered_share": 1.0, "n_episodes": 1, "af_burden": 0.4},
           {"record": "c", "duration_h": 1.0, "covered_share": 1.0, "n_episodes": 0, "af_burden": 0.0}]
    out = burden_table(est, tru)
    assert list(out.columns) == [*BURDEN_COLUMNS, "true_n_episodes", "true_af_burden", "burden_error"]
    assert out["record"].tolist() == ["a", "b", "c"]
    assert out["burden_error"].tolist() == pytest.approx([-0.2, -0.1, 0.5])
    assert out["true_n_episodes"].tolist() == [1, 1, 0]
    s = burden_error_summary(out).set_index("method")
    assert s.loc["estimate", "median_abs_error"] == pytest.approx(0.2)
    assert s.loc["estimate", "p90_abs_error"] == pytest.approx(np.percentile([0.2, 0.1, 0.5], 90))
    assert s.loc["always 0", "median_abs_error"] == pytest.approx(0.2)
    assert s.loc["always 0", "p90_abs_error"] == pytest.approx(np.percentile([0.2, 0.4, 0.0], 90))
    assert (s["n_records"] == 3).all()
    assert list(burden_table(est).columns) == BURDEN_COLUMNS


def test_configuration_errors():
    det = detections()
    with pytest.raises(ConfigError, match=r"episodes\.configuration.*thresholds \[0\.5, 0\.7, 0\.9\]"):
        select_detections(det, {**CONFIG, "threshold": 0.6}, RUNS, source="rec.parquet")
    with pytest.raises(ConfigError, match=r"thresholds \[0\.5, 0\.7\]"):  # without the grid: the rows present
        select_detections(det, {**CONFIG, "threshold": 0.6})
    with pytest.raises(ConfigError, match="two-state detector"):
        select_detections(det, {**CONFIG, "detector": "adwin", "threshold": 0.002}, RUNS)
    with pytest.raises(ConfigError, match="two-state detector"):  # no rows at all, and no states
        select_detections(det.iloc[:0], {**CONFIG, "detector": "adwin", "threshold": 0.002})
    with pytest.raises(ConfigError, match="not run on this record"):
        select_detections(det, {**CONFIG, "stream": "pirr"}, RUNS)
    with pytest.raises(ConfigError, match="timing"):
        select_detections(det, {**CONFIG, "timing": "onset"}, RUNS)
    with pytest.raises(ConfigError, match="lacks"):
        select_detections(det, {"detector": "hysteresis", "stream": "rr"}, RUNS)


def _record(folder, name, det, n=N, runs=RUNS, initial="(N", events=()):
    meta = {"dataset": "demo", "record": name, "fs": FS, "n_samples": n}
    if runs is not None:
        meta["runs"] = runs
    write_parquet(det, folder / "detections" / f"{name}.parquet", meta)
    ev = pd.DataFrame({"sample": np.array([s for s, _, _ in events], np.int64),
                       "time_s": np.array([s for s, _, _ in events], float) / FS,
                       "rhythm_from": [a for _, a, _ in events], "rhythm_to": [b for _, _, b in events]},
                      columns=["sample", "time_s", "rhythm_from", "rhythm_to"])
    write_parquet(ev, folder / "events" / f"{name}.parquet", {"fs": FS, "n_samples": n, "initial_rhythm": initial})
    beats = np.arange(50, 951, 10, dtype=np.int64)  # the rr stream (ma_window 4) runs from beat 5 (sample 90) to 950
    write_parquet(pd.DataFrame({"sample": beats}), folder / "beats" / f"{name}.parquet", {"fs": FS, "n_samples": n})
    return [folder / kind / f"{name}.parquet" for kind in ("detections", "events", "beats")]


def test_write_episode_tables(tmp_path):
    det = detections()
    b_rows = det[det["combo_id"] == 1].assign(combo_id=np.int32(0), threshold=0.5)  # record b: one episode
    a = _record(tmp_path, "a", det, events=[(300, "(N", "(AFIB"), (600, "(AFIB", "(N")])
    b = _record(tmp_path, "b", pd.concat([b_rows, det[det["detector"] == "adwin"]]), runs=None, initial="(AFIB",
                events=[(550, "(AFIB", "(N")])
    outs = {k: tmp_path / "out" / f"{k}.parquet" for k in ("episodes", "burden", "burden_summary")}
    origin = {"study": "study.parquet", "tolerance_s": 10.0}
    write_episode_tables([b[0], a[0]], [a[1], b[1]], CONFIG, outs, origin=origin, dataset="demo")
    eps = pd.read_parquet(outs["episodes"])
    assert list(eps.columns) == EPISODE_COLUMNS
    assert eps["record"].tolist() == ["a", "a", "b"] and spans(eps) == [(20.0, 40.0), (70.0, 100.0), (50.0, 60.0)]
    burden = pd.read_parquet(outs["burden"]).set_index("record")
    assert burden.loc["a", "af_burden"] == pytest.approx(0.5) and burden.loc["b", "af_burden"] == pytest.approx(0.1)
    assert burden.loc["a", "true_af_burden"] == pytest.approx(0.3) and burden.loc["b", "true_af_burden"] == 0.55
    assert burden.loc["a", "burden_error"] == pytest.approx(0.2) and burden.loc["b", "true_n_episodes"] == 1
    meta = read_metadata(outs["burden"])
    assert meta["configuration"] == {**CONFIG, "timing": "change"} and meta["configuration_origin"] == origin
    assert meta["dataset"] == "demo" and read_metadata(outs["episodes"])["configuration"]["timing"] == "change"
    summary = pd.read_parquet(outs["burden_summary"]).set_index("method")
    assert summary.loc["always 0", "median_abs_error"] == pytest.approx((0.3 + 0.55) / 2)
    # with beats: the stream covers samples 90 .. 950, where the burden is measured (truth too)
    write_episode_tables([a[0]], [a[1]], CONFIG, outs, beats_paths=[a[2]])
    row = pd.read_parquet(outs["burden"]).iloc[0]
    assert row["covered_share"] == pytest.approx(0.861)
    assert row["af_burden"] == pytest.approx((20 + 25.1) / 86.1) and row["true_af_burden"] == pytest.approx(30 / 86.1)
    assert spans(pd.read_parquet(outs["episodes"]))[-1] == (70.0, 95.1)
    # without events: estimates only
    write_episode_tables([a[0]], None, CONFIG, {"episodes": outs["episodes"], "burden": outs["burden"]})
    assert list(pd.read_parquet(outs["burden"]).columns) == BURDEN_COLUMNS
    with pytest.raises(ConfigError, match="a.parquet.*no combination"):
        write_episode_tables([a[0]], None, {**CONFIG, "window": 8}, outs)


def test_figures(tmp_path):
    a = _record(tmp_path, "a", detections(), events=[(300, "(N", "(AFIB"), (600, "(AFIB", "(N")])
    fig = write_record_figure(a[0], CONFIG, tmp_path / "a.png", beats_path=a[2], events_path=a[1])
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG" and "estimated AF burden" in fig.axes[0].get_title()
    eps = pd.DataFrame({"onset_s": [1.0], "offset_s": [2.0]})
    episode_figure(np.arange(10.0), np.zeros(10), eps, None, tmp_path / "b.png", "no truth")
    assert (tmp_path / "b.png").exists()


def test_pick_configuration_from_a_study():
    worse = {rec: [(max(tp - 1, 0), fp + 1) for tp, fp in v] for rec, v in EVENT_FREE.items()}
    m = pd.concat([metrics_frame(EVENT_FREE, detector="hysteresis", stream="pirr", timing="change"),
                   metrics_frame(worse, detector="hysteresis", stream="pirr", timing="alarm"),
                   metrics_frame(worse, detector="adwin", stream="rr", timing="change")], ignore_index=True)
    study = study_table(m, "demo")
    # the nested choice: hysteresis / pirr, combo 1 (threshold 0.02, min_gap 1 s), change times
    assert pick_configuration(study, 2.0) == {"detector": "hysteresis", "stream": "pirr", "threshold": 0.02,
                                              "window": 4.0, "min_gap_s": 1.0, "timing": "change"}
    assert pick_configuration(study, 2, timing="alarm")["timing"] == "alarm"
    assert study_origin(study, 2.0, path="s.parquet")["picked_share"] == 0.75
    with pytest.raises(ConfigError, match=r"episodes\.tolerance_s.*\(2\.0, 'greedy'\)"):
        pick_configuration(study, 4.0)
    adwin = study_table(metrics_frame(EVENT_FREE, detector="adwin", stream="rr"), "demo")
    with pytest.raises(ConfigError, match="adwin/rr, a detector without states"):
        pick_configuration(adwin, 2.0)
    single = study_table(metrics_frame({"r1": [(1, 0), (3, 0)]}, detector="hysteresis"), "demo")
    with pytest.raises(ConfigError, match="picked nothing"):
        pick_configuration(single, 2.0)


def test_a_one_state_study_pick_falls_back_to_the_best_two_state_method():
    study = pd.DataFrame({"tolerance_s": [10.0], "policy": ["greedy"], "timing": ["chosen"], "picked_detector": ["ddm"],
                          "picked_stream": ["irr"]})
    best = pd.DataFrame({"detector": ["ddm", "cusum", "hysteresis"], "stream": ["irr", "irr", "cosen"],
                         "tolerance_s": 10.0, "policy": "greedy", "timing": ["alarm", "change", "change"],
                         "loro_pooled_f1": [0.6, 0.3, 0.4], "best_threshold": [3.0, 8.0, -1.0],
                         "best_window": [60.0, 60.0, 16.0], "best_min_gap_s": [0.0, 0.0, 2.0]})
    config, origin = episode_configuration(study, best, 10.0)
    assert config == {"detector": "hysteresis", "stream": "cosen", "threshold": -1.0, "window": 16.0, "min_gap_s": 2.0,
                      "timing": "change"}
    assert "ddm/irr, which has no states" in origin["rule"]
