"""Timing of scoring and of the report tables at the scale of a real dataset.

Scoring: one synthetic 10-hour record (250 Hz, 24 events) with ``--pairs`` (detector, stream) pairs of
385 combinations each, every combination with a seeded Poisson alarm train (0.01 to 0.3 per second)
plus alarms shortly after each event and change estimates up to 12 s before each alarm, scored
through :func:`ecgflow.evaluation.score_record_file` at 4 tolerances x 2 policies x 2 timings.
Report tables: ``--records`` copies of that record's metrics (records renamed, a tenth of them made
event-free) through :func:`ecgflow.report.tables.write_report_tables`; with ``--reference REV``, also
through that commit's code in a process of its own (time, peak memory, and its tables must be equal).
Writes results/benchmarks/evaluation.parquet and prints the timings.

    .venv/bin/python benchmarks/evaluation.py [--pairs 13 --records 25] [--reference REV]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ecgflow.evaluation import score_record_file
from ecgflow.parquet import write_parquet
from ecgflow.report.tables import write_report_tables
from reference import assert_same_tables, reference_tree, report_tables

EVALUATION = {"tolerances_s": [2, 4, 10, 30], "pre_tolerance_s": 0, "policies": ["greedy", "optimal"],
              "chance_phases": 16, "seed": 0}
FS, N_SAMPLES = 250.0, 9_000_000


def synthetic_record(rng, n_pairs: int, events: np.ndarray, folder: Path) -> Path:
    """A per-record detections file of ``n_pairs`` pairs x 385 combinations, and its events file."""
    grid = [{"combo_id": c, "threshold": float(c // 55), "window": float(c // 11 % 5), "min_gap_s": float(c % 11)}
            for c in range(385)]
    parts, runs = [], {}
    for p in range(n_pairs):
        for c in range(385):
            rate = 0.3 / (1 + c // 11)
            alarm = np.concatenate([rng.integers(0, N_SAMPLES, rng.poisson(rate * N_SAMPLES / FS)),
                                    events + rng.integers(0, int(6 * FS), len(events))])
            alarm = np.sort(alarm[alarm < N_SAMPLES])
            change = np.maximum(alarm - rng.integers(0, int(12 * FS), len(alarm)), 0)
            parts.append(pd.DataFrame({"detector": f"d{p % 5}", "stream": f"s{p}", "combo_id": np.int32(c),
                                       "alarm_sample": alarm, "change_sample": change,
                                       "direction": np.int8(0)}))
        runs[f"d{p % 5}/s{p}"] = {"fs": FS, "grid": grid, "threshold_name": "t", "window_name": "w"}
    det = pd.concat(parts, ignore_index=True)
    write_parquet(det, folder / "det.parquet", {"dataset": "bench", "record": "r", "fs": FS, "n_samples": N_SAMPLES,
                                                 "runs": runs})
    ev = pd.DataFrame({"sample": events, "time_s": events / FS, "rhythm_from": "(N", "rhythm_to": "(AFIB"})
    write_parquet(ev, folder / "ev.parquet", {"fs": FS, "n_samples": N_SAMPLES, "duration_s": N_SAMPLES / FS})
    return folder / "det.parquet"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=13)
    ap.add_argument("--records", type=int, default=25)
    ap.add_argument("--reference", default=None, help="a commit whose report tables run beside this tree's")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    events = np.sort(rng.choice(np.arange(int(10 * FS), N_SAMPLES - int(40 * FS)), 24, replace=False))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        det = synthetic_record(rng, args.pairs, events, tmp)
        n_det = len(pd.read_parquet(det, columns=["combo_id"]))
        score_record_file(det, tmp / "ev.parquet", {**EVALUATION, "tolerances_s": [2]})  # compile or load kernels
        t0 = time.perf_counter()
        metrics = score_record_file(det, tmp / "ev.parquet", EVALUATION)
        rows.append({"step": "score_record_file", "n_records": 1, "n_pairs": args.pairs, "n_detections": n_det,
                     "n_rows": len(metrics), "seconds": time.perf_counter() - t0})
        paths = []
        for r in range(args.records):
            m = metrics.assign(record=f"r{r:02d}")
            if r % 10 == 9:  # event-free: every TP becomes a false alarm
                m = m.assign(fp=m["n_detections"], tp=0, fn=0, n_events=0, tp_chance=0.0, f1=0.0, f1_chance=0.0)
            paths.append(tmp / f"m{r:02d}.parquet")
            write_parquet(m, paths[-1])
        keys = ("detection_metrics", "grid_summary", "best_configs", "study")
        outs = {k: tmp / "tables" / f"{k}.parquet" for k in keys}
        t0 = time.perf_counter()
        write_report_tables(paths, outs, "bench", "0")
        rows.append({"step": "write_report_tables", "n_records": args.records, "n_pairs": args.pairs,
                     "n_detections": n_det * args.records, "n_rows": len(metrics) * args.records,
                     "seconds": time.perf_counter() - t0})
        if args.reference:
            ref = report_tables(paths, reference_tree(args.reference, tmp), tmp / "reference", "bench")
            assert_same_tables(tmp / "tables", tmp / "reference", f"{args.records} synthetic records")
            rows.append({**rows[-1], "step": f"write_report_tables ({args.reference}, own process)",
                         "seconds": ref["wall_s"], "peak_rss_mb": ref["peak_rss_mb"]})
            print(f"reference {args.reference}: tables equal")
    table = pd.DataFrame(rows)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    write_parquet(table, Path("results") / "benchmarks" / "evaluation.parquet", {"peak_rss_mb": peak_mb})
    print(table.to_string(index=False))
    print(f"peak memory {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
