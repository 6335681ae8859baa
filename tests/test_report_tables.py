"""ecgflow.report.tables and ecgflow.report.study: detection_metrics, grid_summary, best_configs
(in-sample, oracle, LORO), the nested-LORO study table and the CPSC 2021 table; every record counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pyarrow.parquet as pq

from ecgflow import __version__
from ecgflow.errors import EcgflowError, InputError
from ecgflow.evaluation import precision_recall_f1, score_detections
from ecgflow.parquet import read_metadata, write_parquet
from ecgflow.report import tables
from ecgflow.report.study import cpsc2021_table, study_table
from ecgflow.report.tables import (
    COMBINED_ORDER, MEMORY_LIMIT_ENV, ORDER, STRING_COLUMNS, TMPDIR_ENV, best_configs, grid_summary,
    write_report_tables,
)

# (tp, fp) per record and combo; r1-r3 have 4 events each, r4 none; each record lasts 0.5 h
COUNTS = {"r1": [(2, 0), (3, 1), (0, 0)], "r2": [(2, 0), (1, 1), (4, 4)],
          "r3": [(2, 0), (2, 0), (1, 0)], "r4": [(0, 0), (0, 0), (0, 8)]}
# combo 0 is better on the records with events but fires 40 times on the event-free r4
EVENT_FREE = {"r1": [(4, 1), (3, 0)], "r2": [(4, 1), (3, 0)], "r3": [(4, 1), (3, 0)], "r4": [(0, 40), (0, 0)]}


def metrics_frame(counts=COUNTS, tolerance_s=2.0, policy="greedy", timing="change", detector="adwin",
                  stream="rr") -> pd.DataFrame:
    """Metric rows with chosen counts; placebo TP 0.1 x (combo + 1) on records with events."""
    rows = []
    for rec, values in counts.items():
        n_ev = 0 if rec == "r4" else 4
        for c, (tp, fp) in enumerate(values):
            tpc = 0.1 * (c + 1) if n_ev and tp + fp else 0.0
            p, r, f = precision_recall_f1(tp, fp, n_ev - tp)
            fc = precision_recall_f1(tpc, tp + fp - tpc, n_ev - tpc)[2]
            rows.append({"dataset": "demo", "record": rec, "detector": detector, "stream": stream, "combo_id": c,
                         "threshold_name": "delta", "threshold": 0.01 * (c + 1), "window_name": "ma_window",
                         "window": 4.0, "min_gap_s": float(c), "tolerance_s": tolerance_s, "policy": policy,
                         "timing": timing, "n_events": n_ev, "n_detections": tp + fp, "tp": tp, "fp": fp,
                         "fn": n_ev - tp, "precision": p, "recall": r, "f1": f,
                         "mean_delay_s": 1.0 + c if tp else np.nan, "median_delay_s": 1.0 + c if tp else np.nan,
                         "tp_chance": tpc, "f1_chance": fc, "f1_lift": f - fc, "delay_penalised_f1": f,
                         "false_alarms_per_hour": fp / 0.5, "episode_recall": tp / n_ev if n_ev else np.nan,
                         "duration_h": 0.5})
    return pd.DataFrame(rows)


def f1(tp, fp, fn):
    return precision_recall_f1(tp, fp, fn)[2]


def test_best_configs_by_hand():
    out = best_configs(metrics_frame())
    assert len(out) == 1
    row = out.iloc[0]
    assert row["n_records"] == 4 and row["n_event_free_records"] == 1 and row["n_combos"] == 3
    # pooled over all records: combo 0 6/0/6 (2/3), combo 1 6/2/6 (0.6), combo 2 5/12/7
    assert row["best_combo_id"] == 0 and row["best_min_gap_s"] == 0.0 and row["timing"] == "change"
    assert row["insample_pooled_f1"] == pytest.approx(2 / 3) and row["insample_f1_mean"] == pytest.approx(2 / 3)
    # oracle: r1 -> combo 1 (0.75), r2 -> tie 0/2 -> combo 0 (2/3), r3 -> tie 0/1 -> combo 0
    assert row["oracle_f1_mean"] == pytest.approx((0.75 + 2 / 3 + 2 / 3) / 3)
    # held out r1 -> combo 0; r2 -> combo 1 (others pooled 10/14); r3 -> combo 0; r4 -> combo 0
    assert row["loro_f1_mean"] == pytest.approx((2 / 3 + 1 / 3 + 2 / 3) / 3)
    assert row["loro_f1_std"] == pytest.approx(np.std([2 / 3, 1 / 3, 2 / 3], ddof=1))
    assert row["loro_pooled_f1"] == pytest.approx(f(5, 1, 7))
    assert row["loro_n_distinct"] == 2
    m = metrics_frame().set_index(["record", "combo_id"])
    picks = [("r1", 0), ("r2", 1), ("r3", 0), ("r4", 0)]
    assert row["loro_f1_chance"] == pytest.approx(np.mean([m.loc[k, "f1_chance"] for k in picks[:3]]))
    tpc, n_det = sum(m.loc[k, "tp_chance"] for k in picks), sum(m.loc[k, "n_detections"] for k in picks)
    assert row["loro_pooled_f1_chance"] == pytest.approx(f(tpc, n_det - tpc, 12 - tpc))
    assert row["loro_false_alarms_per_hour"] == pytest.approx(1 / 2.0)
    assert row["loro_false_alarms_per_hour_event_free"] == 0.0
    assert row["loro_median_delay_s"] == pytest.approx(1.0)


f = f1


def test_event_free_record_false_alarms_count():
    """An event-free record's false alarms count against a combination everywhere."""
    out = best_configs(metrics_frame(EVENT_FREE)).iloc[0]
    # on the records with events combo 0 wins (8/9 against 6/7), but its 40 false alarms on r4 count
    assert out["best_combo_id"] == 1
    assert out["insample_pooled_f1"] == pytest.approx(f(9, 0, 3))
    # LORO: r1-r3 held out -> combo 1 chosen on the others (r4 among them); r4 held out -> combo 0
    assert out["loro_f1_mean"] == pytest.approx(6 / 7)
    assert out["loro_pooled_f1"] == pytest.approx(f(9, 40, 3))
    assert out["loro_false_alarms_per_hour"] == pytest.approx(40 / 2.0)
    assert out["loro_false_alarms_per_hour_event_free"] == pytest.approx(40 / 0.5)
    summary = grid_summary(metrics_frame(EVENT_FREE)).set_index("combo_id")
    assert (summary["n_records"] == 4).all() and (summary["n_event_free_records"] == 1).all()
    assert summary.loc[0, "pooled_f1"] == pytest.approx(f(12, 43, 0))
    assert summary.loc[0, "false_alarms_per_hour"] == pytest.approx(43 / 2.0)
    assert summary.loc[0, "false_alarms_per_hour_event_free"] == pytest.approx(80.0)
    assert summary.loc[0, "f1_mean"] == pytest.approx(8 / 9)  # per-record means: records with events


def test_best_configs_one_row_per_run_and_single_record():
    m = pd.concat([metrics_frame(), metrics_frame(policy="optimal"), metrics_frame(tolerance_s=4.0),
                   metrics_frame(timing="alarm")])
    out = best_configs(m)
    assert out[["tolerance_s", "policy", "timing"]].values.tolist() == [
        [2.0, "greedy", "alarm"], [2.0, "greedy", "change"], [2.0, "optimal", "change"], [4.0, "greedy", "change"]]
    single = best_configs(metrics_frame({"r1": [(1, 0), (3, 0), (3, 0)]}))
    assert single.iloc[0]["best_combo_id"] == 1 and np.isnan(single.iloc[0]["loro_f1_mean"])


def test_grid_summary():
    out = grid_summary(metrics_frame())
    assert out["combo_id"].tolist() == [0, 1, 2] and (out["n_records"] == 4).all()
    c1 = out.set_index("combo_id").loc[1]
    f1s = [f(3, 1, 1), f(1, 1, 3), f(2, 0, 2)]
    assert c1["f1_mean"] == pytest.approx(np.mean(f1s)) and c1["f1_median"] == pytest.approx(np.median(f1s))
    assert c1["f1_std"] == pytest.approx(np.std(f1s, ddof=1))
    assert c1["pooled_f1"] == pytest.approx(f(6, 2, 6)) and c1["pooled_precision"] == pytest.approx(0.75)
    assert c1["pooled_f1_chance"] == pytest.approx(f(0.6, 8 - 0.6, 12 - 0.6))
    assert c1["mean_delay_s"] == pytest.approx(2.0) and c1["false_alarms_per_hour_event_free"] == 0.0
    c2 = out.set_index("combo_id").loc[2]
    assert c2["false_alarms_per_hour_event_free"] == pytest.approx(16.0)


def test_study_nested_choice_over_pairs_and_timings():
    worse = {rec: [(max(tp - 1, 0), fp + 1) for tp, fp in v] for rec, v in EVENT_FREE.items()}
    m = pd.concat([
        metrics_frame(EVENT_FREE, detector="hysteresis", stream="pirr", timing="change"),
        metrics_frame(worse, detector="hysteresis", stream="pirr", timing="alarm"),
        metrics_frame(worse, detector="adwin", stream="rr", timing="change"),
        metrics_frame(worse, detector="adwin", stream="rr", timing="alarm"),
    ], ignore_index=True)
    out = study_table(m, "demo").set_index("timing")
    assert out.index.tolist() == ["alarm", "change", "chosen"]
    assert (out["n_records"] == 4).all() and (out["n_event_free_records"] == 1).all() and (out["n_events"] == 12).all()
    assert out.loc["change", "n_candidates"] == 4 and out.loc["chosen", "n_candidates"] == 8
    for timing in ("change", "chosen"):
        row = out.loc[timing]
        assert row["picked_detector"] == "hysteresis" and row["picked_timing"] == "change"
        assert row["picked_combo_id"] == 1 and row["picked_share"] == 0.75 and row["n_distinct_picks"] == 2
        assert row["loro_pooled_f1"] == pytest.approx(f(9, 40, 3))
        assert row["loro_f1_mean"] == pytest.approx(6 / 7) and row["loro_f1_std"] == pytest.approx(0.0)
        assert row["loro_false_alarms_per_hour_event_free"] == pytest.approx(80.0)
        # chance pooled the same way: the placebo TP of the same choices (0.2 on r1-r3, 0 on r4)
        assert row["loro_pooled_f1_chance"] == pytest.approx(f(0.6, 9 + 40 - 0.6, 12 - 0.6))
        assert row["loro_f1_lift"] == pytest.approx(row["loro_f1_mean"] - row["loro_f1_chance"])
    assert out.loc["alarm", "loro_pooled_f1"] < out.loc["change", "loro_pooled_f1"]
    assert np.isnan(out.loc["chosen", "cpsc2021_u_mean"])


def test_cpsc2021_table():
    m = metrics_frame(EVENT_FREE, detector="hysteresis", stream="pirr")
    u = {"r1": [3.0, 1.0], "r2": [2.0, 1.0], "r3": [0.0, 1.0], "r4": [-0.5, 1.0]}
    m["cpsc_u"] = [u[r][c] for r, c in zip(m["record"], m["combo_id"])]
    m["cpsc_ur"], m["cpsc_ue"] = 1.0, m["cpsc_u"] - 1.0
    m["cpsc_class_true"], m["cpsc_class_pred"] = 2, 2
    out = cpsc2021_table(m, "cpsc2021")
    out = out[out["timing"] == "change"].set_index("record")
    # held out r1: others' mean U 0.5 (combo 0) vs 1 (combo 1); r2: 5/6 vs 1; r3: 1.5 vs 1; r4: 5/3 vs 1
    assert out.loc[["r1", "r2", "r3", "r4"], "combo_id"].tolist() == [1, 1, 0, 0]
    assert out.loc[["r1", "r2", "r3", "r4"], "u"].tolist() == [1.0, 1.0, 0.0, -0.5]
    assert out.loc["total", "u"] == pytest.approx(1.5 / 4)
    assert out.loc["total", "insample_u_mean"] == pytest.approx(4.5 / 4)  # combo 0 on every record
    assert study_table(m, "cpsc2021")["cpsc2021_u_mean"].iloc[0] == pytest.approx(1.5 / 4)
    # the report reads metrics with categorical string columns (unordered): same table
    cat = m.astype({c: "category" for c in ("record", "detector", "stream", "policy", "timing")})
    pd.testing.assert_frame_equal(cpsc2021_table(cat, "cpsc2021"), cpsc2021_table(m, "cpsc2021"))


def _scored_record(rng, record, events, fs=250.0, n_samples=450_000):
    grid = [{"combo_id": c, "threshold": float(t), "window": float(w), "min_gap_s": float(g)}
            for c, (t, w, g) in enumerate((t, w, g) for t in (1, 2) for w in (5, 10) for g in (0, 4))]
    rows = []
    for g in grid:
        n = int(rng.integers(0, 20))
        s = np.sort(np.concatenate([rng.integers(0, n_samples, n), events + rng.integers(0, 800, len(events))]))
        change = np.maximum(s - rng.integers(0, 600, len(s)), 0)
        rows.append(pd.DataFrame({"combo_id": np.int32(g["combo_id"]), "alarm_sample": s.astype(np.int64),
                                  "change_sample": change.astype(np.int64), "direction": np.int8(0)}))
    meta = {"dataset": "demo", "record": record, "detector": "pagehinkley", "stream": "ecg", "fs": fs,
            "threshold_name": "threshold", "window_name": "ma_window", "grid": grid}
    ev_meta = {"fs": fs, "n_samples": n_samples, "duration_s": n_samples / fs}
    evaluation = {"tolerances_s": [1, 2], "pre_tolerance_s": 0, "policies": ["greedy", "optimal"],
                  "chance_phases": 4, "seed": 0}
    return score_detections(pd.concat(rows), meta, events, ev_meta, evaluation)


def test_write_report_tables_deterministic(tmp_path):
    rng = np.random.default_rng(5)
    paths = []
    for i, rec in enumerate(("d01", "d02", "d03", "d04")):
        p = tmp_path / "metrics" / f"{rec}.parquet"
        events = np.array([10_000 * (i + 1), 200_000]) if i < 3 else np.array([], np.int64)
        write_parquet(_scored_record(rng, rec, events), p)
        paths.append(p)
    keys = ("detection_metrics", "grid_summary", "best_configs", "study")
    digests = []
    for run in ("a", "b"):
        outs = {k: tmp_path / run / f"{k}.parquet" for k in keys}
        write_report_tables(paths[::-1] if run == "b" else paths, outs, "demo", "abc123")
        digests.append([p.read_bytes() for p in outs.values()])
    assert digests[0] == digests[1]
    meta = read_metadata(tmp_path / "a" / "study.parquet")
    assert meta["config_hash"] == "abc123" and meta["dataset"] == "demo" and meta["ecgflow_version"] == __version__
    best = pd.read_parquet(tmp_path / "a" / "best_configs.parquet")
    assert len(best) == 2 * 2 * 2 and (best["n_records"] == 4).all() and (best["n_event_free_records"] == 1).all()
    assert (best["oracle_f1_mean"] >= best["insample_f1_mean"] - 1e-12).all()
    summary = pd.read_parquet(tmp_path / "a" / "grid_summary.parquet")
    assert len(summary) == 8 * 2 * 2 * 2 and summary["false_alarms_per_hour_event_free"].notna().all()
    study = pd.read_parquet(tmp_path / "a" / "study.parquet")
    assert len(study) == 2 * 2 * 3
    assert (study["n_candidates"] == study["timing"].map({"alarm": 8, "change": 8, "chosen": 16})).all()
    assert study["loro_pooled_f1"].between(0, 1).all() and study["loro_pooled_f1_chance"].between(0, 1).all()


TABLES = ("detection_metrics", "grid_summary", "best_configs", "study")


def whole_frame(paths) -> pd.DataFrame:
    """The reference: every row of the metrics tables in one frame, ordered by record and candidate
    (:data:`ORDER`), string columns categorical; columns missing from a table are NaN."""
    m = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    m = m.sort_values(ORDER, kind="stable").reset_index(drop=True)
    for c in STRING_COLUMNS:
        if c in m.columns:
            m[c] = pd.Categorical(m[c], categories=sorted(set(m[c].dropna().astype(str))))
    return m


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({c: str for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)})


def with_cpsc(table: pd.DataFrame, rng) -> pd.DataFrame:
    """CPSC 2021 columns: a score per record, combination and timing (the same at every tolerance and
    policy) for the two-state hysteresis rows, null for the others."""
    two_state = (table["detector"] == "hysteresis").to_numpy()
    u = {key: rng.normal() for key in set(zip(table["combo_id"], table["timing"]))}
    score = np.array([u[k] for k in zip(table["combo_id"], table["timing"])])
    out = table.assign(cpsc_u=np.where(two_state, score, np.nan), cpsc_ur=np.where(two_state, 1.0, np.nan),
                       cpsc_class_true=np.where(two_state, 2.0, np.nan),
                       cpsc_class_pred=np.where(two_state, 1.0, np.nan))
    return out.assign(cpsc_ue=out["cpsc_u"] - out["cpsc_ur"])


def partial_inputs(folder, rng, cpsc=False) -> list:
    """Metrics tables of 5 records with their rows and the files' order shuffled: a pair missing on one
    record, one record split over two files, a column the tables do not read missing from some files."""
    paths = []
    for i, rec in enumerate(("d01", "d02", "d03", "d04", "d05")):
        events = np.array([20_000 * (i + 1), 300_000]) if i < 4 else np.array([], np.int64)
        parts = [_scored_record(rng, rec, events)]
        if rec != "d04":  # adwin/rr missing on d04
            parts.append(_scored_record(rng, rec, events).assign(detector="adwin", stream="rr"))
        parts.append(_scored_record(rng, rec, events).assign(detector="hysteresis", stream="pirr"))
        table = pd.concat(parts, ignore_index=True)
        if cpsc:
            table = with_cpsc(table, rng)
        table = table.sample(frac=1.0, random_state=i)
        if i % 2:
            table = table.assign(note=1.5)
        if rec == "d02":  # one record in two files
            split = table["detector"] == "adwin"
            write_parquet(table[split], folder / "d02_adwin.parquet")
            paths.append(folder / "d02_adwin.parquet")
            table = table[~split]
        write_parquet(table, folder / f"{rec}.parquet")
        paths.append(folder / f"{rec}.parquet")
    return [paths[i] for i in rng.permutation(len(paths))]


@pytest.mark.parametrize("cpsc, small", [(False, False), (True, False), (False, True)])
def test_write_report_tables_equals_the_whole_frame(tmp_path, monkeypatch, cpsc, small):
    """The engine's tables equal the whole-frame functions on the concatenated rows, exactly and with
    the same Parquet metadata, with rows and files shuffled and partial inputs; ``small``: batches of
    37 rows and grid-summary calls of about 100 (a part spans many batches, a batch holds parts'
    ends and starts, a part's summary is cut into runs of candidates)."""
    if small:
        monkeypatch.setattr(tables, "BATCH_ROWS", 37)
        monkeypatch.setattr(tables, "SUMMARY_ROWS", 100)
    rng = np.random.default_rng(7)
    paths = partial_inputs(tmp_path / "metrics", rng, cpsc)
    keys = (*TABLES, "cpsc2021_score") if cpsc else TABLES
    outs = {k: tmp_path / "tables" / f"{k}.parquet" for k in keys}
    write_report_tables(paths, outs, "demo", "h")
    whole = whole_frame(paths)
    assert set(whole["detector"]) == {"adwin", "hysteresis", "pagehinkley"} and whole["note"].isna().any()
    combined = plain(whole).sort_values(COMBINED_ORDER, kind="stable").reset_index(drop=True)
    expected = {"detection_metrics": combined, "grid_summary": grid_summary(whole), "best_configs": best_configs(whole),
                "study": study_table(whole, "demo")}
    if cpsc:
        expected["cpsc2021_score"] = cpsc2021_table(whole, "demo")
        assert expected["cpsc2021_score"]["record"].eq("total").sum() == 3
        assert expected["study"]["cpsc2021_u_mean"].notna().all()
    for key, frame in expected.items():
        got = plain(pd.read_parquet(outs[key]))
        pd.testing.assert_frame_equal(got, frame[got.columns] if key == "detection_metrics" else frame,
                                      check_exact=True)
        if key != "detection_metrics":  # the same file metadata (Arrow schema included) as the reference's
            write_parquet(frame, tmp_path / "expected" / f"{key}.parquet", {"dataset": "demo", "config_hash": "h"})
            assert (pq.ParquetFile(outs[key]).metadata.metadata
                    == pq.ParquetFile(tmp_path / "expected" / f"{key}.parquet").metadata.metadata)
    study = pd.read_parquet(outs["study"])
    assert (study["n_candidates"] == study["timing"].map({"alarm": 16, "change": 16, "chosen": 32})).all()
    best = pd.read_parquet(outs["best_configs"]).set_index(["detector", "stream"])
    assert (best.loc[("adwin", "rr"), "n_records"] == 4).all() and (best["n_event_free_records"] == 1).all()
    # the combined table keeps every column, null where a table lacks it
    combined_schema = pq.read_schema(outs["detection_metrics"])
    assert "note" in combined_schema.names and str(combined_schema.field("record").type).startswith("dictionary")


@pytest.mark.parametrize("case", ["one record", "one timing for a pair", "a pair without the first tolerance"])
def test_write_report_tables_edge_cases(tmp_path, case):
    """One record (one row per group: pandas adds it either way); a pair scored at one timing only
    (the study's candidates of a timing are not every other one); the first pair (adwin) missing at
    the first tolerance (the engine's sorts still run in pair order)."""
    rng = np.random.default_rng(5)
    paths = partial_inputs(tmp_path / "metrics", rng)
    if case == "one record":
        paths = [p for p in paths if p.name == "d01.parquet"]
    else:
        for p in paths:
            t = pd.read_parquet(p)
            drop = t["timing"] == "alarm" if case == "one timing for a pair" else t["tolerance_s"] == t["tolerance_s"].min()
            write_parquet(t[~((t["detector"] == "adwin") & drop)], p)
    outs = {k: tmp_path / "tables" / f"{k}.parquet" for k in TABLES}
    write_report_tables(paths, outs, "demo", "h")
    whole = whole_frame(paths)
    expected = {"grid_summary": grid_summary(whole), "best_configs": best_configs(whole),
                "study": study_table(whole, "demo")}
    for key, frame in expected.items():
        pd.testing.assert_frame_equal(plain(pd.read_parquet(outs[key])), frame, check_exact=True)
    assert len(pd.read_parquet(outs["detection_metrics"])) == len(whole)


def test_write_report_tables_with_spilling_engine(tmp_path, monkeypatch):
    """A small memory limit (the engine spills to ECGFLOW_TMPDIR) gives the same tables."""
    rng = np.random.default_rng(3)
    paths = partial_inputs(tmp_path / "metrics", rng)
    outs = {run: {k: tmp_path / run / f"{k}.parquet" for k in TABLES} for run in ("a", "b")}
    write_report_tables(paths, outs["a"], "demo", "h")
    (tmp_path / "spill").mkdir()
    monkeypatch.setenv(TMPDIR_ENV, str(tmp_path / "spill"))
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "64MB")
    write_report_tables(paths, outs["b"], "demo", "h")
    assert [p.read_bytes() for p in outs["a"].values()] == [p.read_bytes() for p in outs["b"].values()]
    assert not list((tmp_path / "spill").iterdir())  # temporary files removed


def test_engine_out_of_memory_is_a_clear_error(tmp_path, monkeypatch):
    """A memory limit too small for the engine: an error naming the setting, and no table written."""
    paths = partial_inputs(tmp_path / "metrics", np.random.default_rng(3))
    outs = {k: tmp_path / "tables" / f"{k}.parquet" for k in TABLES}
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "1MB")
    with pytest.raises(EcgflowError, match=f"more memory than {MEMORY_LIMIT_ENV}=1MB"):
        write_report_tables(paths, outs, "demo", "h")
    assert not any(p.exists() for p in outs.values())


def test_engine_settings_errors(tmp_path, monkeypatch):
    paths = partial_inputs(tmp_path / "metrics", np.random.default_rng(3))[:2]
    outs = {k: tmp_path / "tables" / f"{k}.parquet" for k in TABLES}
    monkeypatch.setenv(TMPDIR_ENV, str(tmp_path / "missing"))
    with pytest.raises(EcgflowError, match=TMPDIR_ENV):
        write_report_tables(paths, outs, "demo", "h")
    monkeypatch.delenv(TMPDIR_ENV)
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "lots")
    with pytest.raises(EcgflowError, match=MEMORY_LIMIT_ENV):
        write_report_tables(paths, outs, "demo", "h")


@pytest.mark.parametrize("problem", ["missing column", "null count", "two rows", "n_events"])
def test_write_report_tables_bad_input_names_the_file(tmp_path, problem):
    """A table without a column the tables read, with a null count, a record's rows given twice or
    disagreeing on its event count: InputError naming a file (columns the tables do not read may be
    missing: see test_write_report_tables_equals_the_whole_frame)."""
    rng = np.random.default_rng(11)
    folder = tmp_path / "metrics"
    tables = {rec: _scored_record(rng, rec, np.array([10_000, 200_000])) for rec in ("d01", "d02", "d03")}
    bad = tables["d02"]
    if problem == "missing column":
        bad = bad.drop(columns=["episode_recall"])
    elif problem == "null count":
        bad = bad.astype({"fp": "float64"})
        bad.loc[bad.index[3], "fp"] = np.nan
    elif problem == "n_events":
        bad = bad.assign(n_events=np.where(bad["combo_id"] == 2, 3, bad["n_events"]))
    elif problem == "two rows":
        write_parquet(bad.iloc[:10], folder / "d02_again.parquet")
    tables["d02"] = bad
    for rec, table in tables.items():
        write_parquet(table, folder / f"{rec}.parquet")
    outs = {k: tmp_path / "tables" / f"{k}.parquet" for k in TABLES}
    match = {"missing column": r"d02\.parquet: missing column\(s\) \['episode_recall'\]",
             "null count": r"d02\.parquet: null values in column\(s\) \['fp'\]",
             "n_events": r"d02\.parquet: record d02: n_events or duration_h differs",
             "two rows": r"record d02 has more than one row"}[problem]
    with pytest.raises(InputError, match=match):
        write_report_tables(sorted(folder.glob("*.parquet")), outs, "demo", "h")


def test_each_group_iterates_as_groupby_does():
    from ecgflow.report.study import each_group

    m = metrics_frame().sample(frac=1.0, random_state=3)
    keys = ["combo_id", "record"]
    expected = [(key, group) for key, group in m.groupby(keys, sort=True, observed=True)]
    got = list(each_group(m, keys))
    assert [k for k, _ in got] == [k for k, _ in expected] and len(got) > 3
    for (_, a), (_, b) in zip(got, expected):
        pd.testing.assert_frame_equal(a, b)
