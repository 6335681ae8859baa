"""Timing of whole-grid scoring: the default grid (adwin ecg/rr/drr, pagehinkley ecg/rr/drr,
ddm irr; 385 combos each) of one 30-minute record x 3 tolerances x 2 policies.

Reads real detections of a record from results/{dataset}/detections when given ``--dataset`` and
``--record`` and they exist; otherwise builds synthetic ones (seeded): per (threshold, window) a
Poisson alarm train (0.01 to 3 per second) plus alarms shortly after each event, thinned by each
min_gap. Writes results/benchmarks/evaluation.parquet and prints the timings.

    .venv/bin/python benchmarks/evaluation.py [--dataset mitdb --record 201]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ecgflow.evaluation import score_detections, score_file
from ecgflow.parquet import write_parquet

STREAMS = [("adwin", "ecg"), ("adwin", "rr"), ("adwin", "drr"), ("pagehinkley", "ecg"),
           ("pagehinkley", "rr"), ("pagehinkley", "drr"), ("ddm", "irr")]
MIN_GAPS = [0, 0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24]
EVALUATION = {"tolerances_s": [1, 2, 4], "pre_tolerance_s": 0, "policies": ["greedy", "optimal"],
              "chance_phases": 16, "seed": 0}


def thin(samples: np.ndarray, gap: int) -> np.ndarray:
    """Keep a detection only when at least ``gap`` samples after the last kept one."""
    kept, last = [], None
    for s in samples:
        if last is None or s - last >= gap:
            kept.append(s)
            last = s
    return np.asarray(kept, np.int64)


def synthetic(rng, fs: float, n_samples: int, events: np.ndarray, dense: bool):
    """Detections table and metadata of one stream's 7 x 5 x 11 grid."""
    rows, grid, cid = [], [], 0
    for t in range(7):
        for w in range(5):
            rate = (3.0 if dense else 0.3) / (1 + 2 * t + w)  # alarms per second
            base = np.sort(rng.integers(0, n_samples, rng.poisson(rate * n_samples / fs)))
            hits = events + rng.integers(0, int(6 * fs), len(events))
            base = np.unique(np.concatenate([base, hits[hits < n_samples]]))
            for g in MIN_GAPS:
                kept = thin(base, round(g * fs))
                grid.append({"combo_id": cid, "threshold": float(t), "window": float(w), "min_gap_s": float(g)})
                rows.append(pd.DataFrame({"combo_id": np.int32(cid), "sample": kept}))
                cid += 1
    meta = {"fs": fs, "n_samples": n_samples, "grid": grid, "threshold_name": "t", "window_name": "w"}
    return pd.concat(rows, ignore_index=True), meta


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset")
    ap.add_argument("--record")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    fs, n_samples = 360.0, 650000
    events = np.sort(rng.choice(np.arange(int(10 * fs), n_samples - int(10 * fs)), 12, replace=False))
    ev_meta = {"fs": fs, "n_samples": n_samples, "duration_s": n_samples / fs}
    warm = np.array([100], np.int64)  # a tiny run first: compiles (or loads the cached) kernels
    score_detections(*synthetic(rng, fs, 5000, warm, False), warm, {"fs": fs, "n_samples": 5000}, EVALUATION)
    res = Path("results")
    rows = []
    t_all = time.perf_counter()
    for detector, stream in STREAMS:
        real = res / str(args.dataset) / "detections" / detector / stream / f"{args.record}.parquet"
        if args.dataset and real.exists():
            t0 = time.perf_counter()
            out = score_file(real, res / args.dataset / "events" / f"{args.record}.parquet", EVALUATION)
            runs = len(EVALUATION["tolerances_s"]) * len(EVALUATION["policies"])
            n_det, source = int(out["n_detections"].sum() // runs), "real"
        else:
            det, meta = synthetic(rng, fs, n_samples, events, dense=stream == "ecg")
            t0 = time.perf_counter()
            out = score_detections(det, meta, events, ev_meta, EVALUATION)
            n_det, source = len(det), "synthetic"
        rows.append({"detector": detector, "stream": stream, "source": source, "n_detections": n_det,
                     "n_rows": len(out), "seconds": time.perf_counter() - t0})
    table = pd.DataFrame(rows)
    total = time.perf_counter() - t_all
    write_parquet(table, res / "benchmarks" / "evaluation.parquet", {"total_seconds_incl_synthesis": total})
    print(table.to_string(index=False))
    print(f"scoring total: {table['seconds'].sum():.2f} s (with building synthetic input: {total:.2f} s)")


if __name__ == "__main__":
    main()
