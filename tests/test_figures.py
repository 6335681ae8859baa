"""ecgflow.report.figures on a small synthetic result set (detections, events, tidy, beats on disk)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecgflow.evaluation import score_file
from ecgflow.parquet import write_parquet
from ecgflow.report.figures import envelope, reference_run, write_figures
from ecgflow.report.tables import write_report_tables

FS, N = 250.0, 60_000
EVALUATION = {"tolerances_s": [1, 2, 4], "pre_tolerance_s": 0, "policies": ["greedy", "optimal"],
              "chance_phases": 4, "seed": 0}
FIGURES = ("f1_heatmap", "pr_scatter", "delay_distribution", "record_detections")


def build_results(root, records=("d01", "d02"), with_signal=True):
    """Events, beats, optional tidy signal and detections of adwin/rr over a 2 x 2 x 2 grid."""
    rng = np.random.default_rng(0)
    grid = [{"combo_id": c, "threshold": t, "window": w, "min_gap_s": g}
            for c, (t, w, g) in enumerate((t, w, g) for t in (0.01, 0.1) for w in (2.0, 4.0) for g in (0.0, 2.0))]
    paths = {"detections": [], "events": [], "tidy": [], "beats": []}
    for i, rec in enumerate(records):
        ev = np.array([15_000 + 1000 * i, 40_000], np.int64)
        p = root / "events" / f"{rec}.parquet"
        write_parquet(pd.DataFrame({"sample": ev, "time_s": ev / FS, "rhythm_from": ["N", "AFIB"],
                                    "rhythm_to": ["AFIB", "N"]}), p, {"fs": FS, "n_samples": N, "duration_s": N / FS})
        paths["events"].append(p)
        beats = np.arange(100, N, 200, dtype=np.int64)
        p = root / "beats" / f"{rec}.parquet"
        write_parquet(pd.DataFrame({"sample": beats, "rr_s": np.r_[np.nan, np.diff(beats) / FS]}), p, {"fs": FS})
        paths["beats"].append(p)
        if with_signal:
            p = root / "tidy" / f"{rec}.parquet"
            t = np.arange(N) / FS
            write_parquet(pd.DataFrame({"sample": np.arange(N), "time_s": t,
                                        "ecg": np.sin(2 * np.pi * 1.2 * t).astype(np.float32)}), p, {"fs": FS})
            paths["tidy"].append(p)
        rows = [pd.DataFrame({"combo_id": np.int32(g["combo_id"]),
                              "sample": np.sort(np.r_[ev + rng.integers(0, 600, 2), rng.integers(0, N, g["combo_id"])])})
                for g in grid if g["combo_id"] != 3]  # combo 3: no detections
        p = root / "detections" / "adwin" / "rr" / f"{rec}.parquet"
        write_parquet(pd.concat(rows), p, {"dataset": "demo", "record": rec, "detector": "adwin", "stream": "rr",
                                           "fs": FS, "n_samples": N, "threshold_name": "delta",
                                           "window_name": "ma_window", "grid": grid})
        paths["detections"].append(p)
    metrics = []
    for det, ev in zip(paths["detections"], paths["events"]):
        p = root / "metrics" / "adwin" / "rr" / det.name
        write_parquet(score_file(det, ev, EVALUATION), p)
        metrics.append(p)
    tables = {k: root / "tables" / f"{k}.parquet" for k in ("detection_metrics", "grid_summary", "best_configs")}
    write_report_tables(metrics, tables, "demo", "h")
    return paths, tables


@pytest.mark.parametrize("with_signal", [True, False])
def test_write_figures(tmp_path, with_signal):
    paths, tables = build_results(tmp_path, with_signal=with_signal)
    outputs = {k: tmp_path / "figures" / f"{k}.png" for k in FIGURES}
    write_figures(tables, EVALUATION, paths["detections"], paths["events"], paths["tidy"], paths["beats"], outputs)
    for p in outputs.values():
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000


def test_figures_without_events(tmp_path):
    paths, tables = build_results(tmp_path, records=("d01",))
    best = pd.read_parquet(tables["best_configs"]).iloc[0:0]
    write_parquet(best, tables["best_configs"])
    outputs = {k: tmp_path / "figures" / f"{k}.png" for k in FIGURES}
    write_figures(tables, EVALUATION, paths["detections"], paths["events"], paths["tidy"], paths["beats"], outputs)
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in outputs.values())


def test_envelope_and_reference_run():
    starts, lo, hi = envelope(np.array([3.0, 1.0, 5.0, 2.0, 9.0, 0.0]), 3)
    assert starts.tolist() == [0, 2, 4] and lo.tolist() == [1.0, 2.0, 0.0] and hi.tolist() == [3.0, 5.0, 9.0]
    assert reference_run([4, 1, 2], ["optimal", "greedy"]) == (2.0, "optimal")
    assert reference_run([1, 2, 4, 8], ["greedy"]) == (4.0, "greedy")
