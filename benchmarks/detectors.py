"""Benchmark of the detector kernels against river 0.26 (Python loops), and of a whole grid sweep.

    .venv/bin/python benchmarks/detectors.py [--quick]

1. Per element: each kernel and river's detector on the same stream in the same run (river on a slice,
   the kernel on the whole stream, both checked to give identical indices on the slice).
2. Two-state detectors and irregularity streams: ns per element of the hysteresis and CUSUM kernels and
   ns per beat of the cosen (w = 32), pirr and nrmssd builders, on synthetic beats (sinus and AF
   stretches).
3. Whole grid: one detector's full default grid (config/config.yaml, ecg stream: 7 thresholds x 5
   ma_window x 11 min_gap = 385 combinations) on a 9,000,000-sample stream (10 h at 250 Hz), against
   one river run per combination. River is too slow to run 385 times over 9M samples: its time is
   extrapolated from its per-element cost on a slice of the same smoothed stream, for every threshold.

Writes results/benchmarks/detectors.parquet and prints a table. ``--quick``: smaller streams.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecgflow.detectors import detect, detect_changes  # noqa: E402
from ecgflow.grid import canonical_stream_grid, expand_grid  # noqa: E402
from ecgflow.parquet import write_parquet  # noqa: E402
from ecgflow.streams import build_stream  # noqa: E402
from ecgflow.sweep import sweep  # noqa: E402

FS = 250.0


def synthetic_ecg(n: int, seed: int = 0) -> np.ndarray:
    """ECG-like float32 signal: QRS-shaped pulses at a drifting heart rate, with episodes of irregular
    rhythm, baseline wander and noise (mV)."""
    rng = np.random.default_rng(seed)
    rr = []
    total = 0
    while total < n:
        irregular = rng.random() < 0.3
        k = int(rng.integers(200, 2000))
        mean = rng.uniform(0.6, 1.1)
        rr_s = rng.uniform(0.35, 1.0, k) if irregular else rng.normal(mean, 0.03, k)
        rr.append(np.maximum((rr_s * FS).astype(np.int64), 60))
        total += rr[-1].sum()
    beats = np.cumsum(np.concatenate(rr))
    beats = beats[beats < n - 40]
    x = np.zeros(n)
    np.add.at(x, beats, 1.0)
    t = np.arange(-20, 21)
    qrs = 1.2 * np.exp(-0.5 * (t / 3.0) ** 2) - 0.25 * np.exp(-0.5 * ((t - 8) / 5.0) ** 2)
    x = np.convolve(x, qrs, mode="same")
    x += 0.15 * np.sin(2 * np.pi * 0.25 * np.arange(n) / FS) + rng.normal(0, 0.03, n)
    return x.astype(np.float32)


def river_run(name, x, **params):
    from river import drift

    det = {"adwin": drift.ADWIN, "pagehinkley": drift.PageHinkley, "ddm": drift.binary.DDM}[name](**params)
    values = [int(v) for v in x] if name == "ddm" else x.tolist()
    out = []
    start = time.perf_counter()
    for i, v in enumerate(values):
        det.update(v)
        if det.drift_detected:
            out.append(i)
    return np.array(out, dtype=np.int64), time.perf_counter() - start


def best_time(fn, repeats=3):
    """``(seconds, result)`` of ``fn()``: the best of ``repeats`` timed calls, after an untimed one that
    compiles or loads the numba cache."""
    result = fn()
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def per_element(n_kernel: int, n_river: int) -> list[dict]:
    tidy = pd.DataFrame({"sample": np.arange(n_kernel), "ecg": synthetic_ecg(n_kernel, seed=1)})
    ecg, _ = build_stream("ecg", 50, tidy=tidy)
    irr = (np.abs(np.diff(ecg)) > np.quantile(np.abs(np.diff(ecg)), 0.7)).astype(np.float64)  # a 0/1 stream
    cases = [
        ("adwin", ecg, {"delta": 0.002}),
        ("adwin", ecg, {"delta": 0.08}),
        ("pagehinkley", ecg, {"threshold": 20.0}),
        ("ddm", irr, {"drift_threshold": 3.0}),
    ]
    rows = []
    for name, x, params in cases:
        t_kernel, idx = best_time(lambda: detect(name, x, **params))
        want, t_river = river_run(name, x[:n_river], **params)
        got = detect(name, x[:n_river], **params)
        rows.append({
            "benchmark": "per_element", "detector": name, "params": str(params),
            "n_kernel": x.size, "n_river": n_river, "detections_kernel": idx.size,
            "kernel_ns": t_kernel / x.size * 1e9, "river_ns": t_river / n_river * 1e9,
            "identical": bool(np.array_equal(got, want)),
        })
        rows[-1]["ratio"] = rows[-1]["river_ns"] / rows[-1]["kernel_ns"]
    return rows


def synthetic_beats(n: int, seed: int = 3) -> pd.DataFrame:
    """Beat samples of alternating sinus (RR 0.8 s, 1 % jitter) and AF (RR uniform 0.4-1.1 s) stretches."""
    rng = np.random.default_rng(seed)
    parts = [rng.normal(0.8, 0.008, 500) if k % 2 else rng.uniform(0.4, 1.1, 500) for k in range(n // 500 + 1)]
    rr = np.concatenate(parts)
    return pd.DataFrame({"sample": np.round(np.cumsum(rr[:n]) * FS).astype(np.int64)})


def two_state(n_beats: int) -> list[dict]:
    beats = synthetic_beats(n_beats)
    rows = []
    for kind, w in (("cosen", 32), ("pirr", 16), ("nrmssd", 16)):
        t, _ = best_time(lambda: build_stream(kind, w, beats=beats, fs=FS))
        rows.append({"benchmark": "stream", "detector": kind, "params": str({"w": w}), "n_kernel": n_beats,
                     "kernel_ns": t / n_beats * 1e9})
    cosen, _ = build_stream("cosen", 16, beats=beats, fs=FS)
    irr, _ = build_stream("irr", 50, beats=beats, fs=FS)
    for name, x, params in (("hysteresis", cosen, {"hi": -1.0, "band": 1.0, "dwell": 12}),
                            ("cusum", irr, {"h": 8.0, "p0": 0.2, "p1": 0.8})):
        t, (alarm, _, _) = best_time(lambda: detect_changes(name, x, **params))
        rows.append({"benchmark": "two_state", "detector": name, "params": str(params), "n_kernel": x.size,
                     "detections_kernel": alarm.size, "kernel_ns": t / x.size * 1e9})
    return rows


def whole_grid(detector: str, n: int, n_river: int) -> dict:
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["detectors"][detector]
    grid = canonical_stream_grid(config["streams"]["ecg"], detector, "ecg")
    params = {k: v for k, v in (config.get("params") or {}).items() if k != grid["threshold"]["name"]}
    n_combos = len(expand_grid(grid))
    tidy = pd.DataFrame({"sample": np.arange(n, dtype=np.int64), "ecg": synthetic_ecg(n, seed=2)})
    sweep(detector, "ecg", grid, fs=FS, tidy=tidy.iloc[:5000], params=params)  # compile outside the timing
    start = time.perf_counter()
    det, _ = sweep(detector, "ecg", grid, fs=FS, tidy=tidy, params=params)
    t_grid = time.perf_counter() - start
    # river: every threshold at the middle ma_window on a slice; one river run per combination
    window = grid["window"]["values"][len(grid["window"]["values"]) // 2]
    x, _ = build_stream("ecg", window, tidy=tidy.iloc[: n_river + window])
    x = x[:n_river]
    river_ns = []
    for threshold in grid["threshold"]["values"]:
        _, t = river_run(detector, x, **params, **{grid["threshold"]["name"]: threshold})
        river_ns.append(t / x.size * 1e9)
    river_s = n_combos * n * float(np.mean(river_ns)) * 1e-9
    return {
        "benchmark": "grid", "detector": detector, "params": str(params), "n_kernel": n, "n_river": n_river,
        "combinations": n_combos, "detections_kernel": len(det), "grid_s": t_grid,
        "river_ns": float(np.mean(river_ns)), "river_grid_s_extrapolated": river_s, "ratio": river_s / t_grid,
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller streams (about a minute)")
    ap.add_argument("--output", type=Path, default=ROOT / "results" / "benchmarks" / "detectors.parquet")
    args = ap.parse_args(argv)
    n_kernel, n_river, n_grid = (500_000, 50_000, 900_000) if args.quick else (3_000_000, 300_000, 9_000_000)
    rows = per_element(n_kernel, n_river) + two_state(n_kernel // 5)
    detectors = ["adwin"] if args.quick else ["adwin", "pagehinkley"]
    rows += [whole_grid(d, n_grid, n_river // 2) for d in detectors]
    table = pd.DataFrame(rows)
    write_parquet(table, args.output, {"quick": args.quick})
    pd.set_option("display.width", 200)
    per = table[table.benchmark == "per_element"]
    print("Per element (ns), kernel on the whole stream, river on a slice, same stream, same run:")
    print(per[["detector", "params", "n_kernel", "n_river", "kernel_ns", "river_ns", "ratio", "identical"]]
          .to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    other = table[table.benchmark.isin(["stream", "two_state"])]
    print("\nIrregularity streams (ns per beat) and two-state kernels (ns per element):")
    print(other[["benchmark", "detector", "params", "n_kernel", "kernel_ns"]]
          .to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    grid = table[table.benchmark == "grid"]
    print("\nWhole grid on one core (river extrapolated: combinations x stream length x its ns per element"
          " measured on a slice for every threshold):")
    print(grid[["detector", "n_kernel", "combinations", "detections_kernel", "grid_s", "river_ns",
                "river_grid_s_extrapolated", "ratio"]].to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    print(f"\nwritten: {args.output}")


if __name__ == "__main__":
    main()
