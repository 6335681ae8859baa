"""ecgflow.report.tables: detection_metrics, grid_summary and best_configs (in-sample, oracle, LORO)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecgflow import __version__
from ecgflow.evaluation import score_detections
from ecgflow.parquet import read_metadata, write_parquet
from ecgflow.report.tables import best_configs, detection_metrics, grid_summary, write_report_tables

F1 = {"r1": [0.5, 0.6, 0.1], "r2": [0.5, 0.2, 0.9], "r3": [0.5, 0.4, 0.2], "r4": [0.0, 0.0, 0.0]}


def metrics_frame(f1=F1, tolerance_s=2.0, policy="greedy") -> pd.DataFrame:
    """Metric rows with chosen F1 values; r4 has no events (left out of the summaries)."""
    rows = []
    for rec, values in f1.items():
        n_ev = 0 if rec == "r4" else 4
        for c, f in enumerate(values):
            tp = round(f * n_ev)
            rows.append({"dataset": "demo", "record": rec, "detector": "adwin", "stream": "rr", "combo_id": c,
                         "threshold_name": "delta", "threshold": 0.01 * (c + 1), "window_name": "ma_window",
                         "window": 4.0, "min_gap_s": float(c), "tolerance_s": tolerance_s, "policy": policy,
                         "n_events": n_ev, "tp": tp, "fp": n_ev - tp, "fn": n_ev - tp, "precision": f, "recall": f,
                         "f1": f, "mean_delay_s": 1.0 if tp else np.nan, "f1_chance": 0.1 * (c + 1),
                         "f1_lift": f - 0.1 * (c + 1), "delay_penalised_f1": f, "false_alarms_per_hour": 2.0,
                         "episode_recall": f})
    return pd.DataFrame(rows)


def test_best_configs_by_hand():
    out = best_configs(metrics_frame())
    assert len(out) == 1
    row = out.iloc[0]
    assert row["n_records"] == 3 and row["best_combo_id"] == 0 and row["best_min_gap_s"] == 0.0
    assert row["insample_f1_mean"] == pytest.approx(0.5) and row["insample_f1_chance"] == pytest.approx(0.1)
    assert row["oracle_f1_mean"] == pytest.approx(2.0 / 3) and row["oracle_f1_chance"] == pytest.approx(0.2)
    # held out r1 -> combo 2 (0.1); r2 -> tie 0/1, lowest id 0 (0.5); r3 -> tie 0/2, lowest id 0 (0.5)
    assert row["loro_f1_mean"] == pytest.approx(1.1 / 3)
    assert row["loro_f1_std"] == pytest.approx(np.std([0.1, 0.5, 0.5], ddof=1))
    assert row["loro_f1_chance"] == pytest.approx((0.3 + 0.1 + 0.1) / 3)
    assert row["loro_n_distinct"] == 2
    assert row["loro_f1_lift"] == pytest.approx(row["loro_f1_mean"] - row["loro_f1_chance"])
    assert row["oracle_f1_mean"] >= row["insample_f1_mean"] >= row["loro_f1_mean"]


def test_best_configs_one_row_per_run_and_single_record():
    m = pd.concat([metrics_frame(), metrics_frame(policy="optimal"), metrics_frame(tolerance_s=4.0)])
    out = best_configs(m)
    assert out[["tolerance_s", "policy"]].values.tolist() == [[2.0, "greedy"], [2.0, "optimal"], [4.0, "greedy"]]
    single = best_configs(metrics_frame(f1={"r1": [0.2, 0.7, 0.7]}))
    assert single.iloc[0]["best_combo_id"] == 1 and np.isnan(single.iloc[0]["loro_f1_mean"])


def test_grid_summary():
    out = grid_summary(metrics_frame())
    assert out["combo_id"].tolist() == [0, 1, 2] and (out["n_records"] == 3).all()
    c1 = out.set_index("combo_id").loc[1]
    assert c1["f1_mean"] == pytest.approx(0.4) and c1["f1_median"] == pytest.approx(0.4)
    assert c1["f1_std"] == pytest.approx(np.std([0.6, 0.2, 0.4], ddof=1))
    tp, fp = 2 + 1 + 2, 2 + 3 + 2  # round(f1 * 4) per record
    assert c1["pooled_f1"] == pytest.approx(2 * tp / (2 * tp + 2 * fp))
    assert c1["mean_delay_s"] == pytest.approx(1.0) and c1["f1_chance_mean"] == pytest.approx(0.2)


def test_detection_metrics_order():
    m = metrics_frame().sample(frac=1.0, random_state=1)
    out = detection_metrics([m.iloc[:5], m.iloc[5:]])
    assert out["record"].tolist() == sorted(out["record"].tolist())
    assert len(out) == len(m)


def _scored_record(rng, record, events, fs=250.0, n_samples=450_000):
    grid = [{"combo_id": c, "threshold": float(t), "window": float(w), "min_gap_s": float(g)}
            for c, (t, w, g) in enumerate((t, w, g) for t in (1, 2) for w in (5, 10) for g in (0, 4))]
    rows = []
    for g in grid:
        n = int(rng.integers(0, 20))
        s = np.sort(np.concatenate([rng.integers(0, n_samples, n), events + rng.integers(0, 800, len(events))]))
        rows.append(pd.DataFrame({"combo_id": np.int32(g["combo_id"]), "sample": s.astype(np.int64)}))
    meta = {"dataset": "demo", "record": record, "detector": "pagehinkley", "stream": "ecg", "fs": fs,
            "threshold_name": "threshold", "window_name": "ma_window", "grid": grid}
    ev_meta = {"fs": fs, "n_samples": n_samples, "duration_s": n_samples / fs}
    evaluation = {"tolerances_s": [1, 2], "pre_tolerance_s": 0, "policies": ["greedy", "optimal"],
                  "chance_phases": 4, "seed": 0}
    return score_detections(pd.concat(rows), meta, events, ev_meta, evaluation)


def test_write_report_tables_deterministic(tmp_path):
    rng = np.random.default_rng(5)
    paths = []
    for i, rec in enumerate(("d01", "d02", "d03")):
        p = tmp_path / "metrics" / f"{rec}.parquet"
        write_parquet(_scored_record(rng, rec, np.array([10_000 * (i + 1), 200_000])), p)
        paths.append(p)
    digests = []
    for run in ("a", "b"):
        outs = {k: tmp_path / run / f"{k}.parquet" for k in ("detection_metrics", "grid_summary", "best_configs")}
        write_report_tables(paths[::-1] if run == "b" else paths, outs, "demo", "abc123")
        digests.append([p.read_bytes() for p in outs.values()])
    assert digests[0] == digests[1]
    meta = read_metadata(tmp_path / "a" / "best_configs.parquet")
    assert meta["config_hash"] == "abc123" and meta["dataset"] == "demo" and meta["ecgflow_version"] == __version__
    best = pd.read_parquet(tmp_path / "a" / "best_configs.parquet")
    assert len(best) == 4 and (best["n_records"] == 3).all()
    assert (best["oracle_f1_mean"] >= best["insample_f1_mean"] - 1e-12).all()
    summary = pd.read_parquet(tmp_path / "a" / "grid_summary.parquet")
    assert len(summary) == 8 * 2 * 2
