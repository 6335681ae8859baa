"""Benchmark of library beat (QRS) detectors on the MIT-BIH Arrhythmia Database (mitdb), on one core.

    .venv/bin/python benchmarks/qrs.py [--records 100,101] [--detectors sleepecg,xqrs] [--xqrs-records 0]

Detectors: sleepecg's ``detect_heartbeats`` (C backend, through :func:`ecgflow.qrs.detect_beats`), wfdb's
``xqrs_detect``, and neurokit2's ``ecg_clean`` + ``ecg_peaks`` (skipped when neurokit2 is not installed).
Signal: lead MLII (lead 0 where a record lacks it: 102 and 104). Reference: the ``atr`` annotations whose
symbol is in ``ecgflow.beats.BEAT_SYMBOLS``, over the whole record (no EC57 5-min learning period, no
exclusion of ventricular flutter). Matching: :func:`ecgflow.qrs.match_beats`, +-150 ms.

Timing: the process is pinned to one CPU (BLAS/OpenMP threads set to 1); each detector is warmed up on
the first record, then each call timed (best of ``--repeats``; XQRS once). File reading is not timed.
Real-time factor = signal hours / compute hours. XQRS takes about 3.5 s a record: by default it runs on
the first ``--xqrs-records`` records of the selection only (0: all), and the output says so.

Writes results/benchmarks/qrs.parquet: one row per detector and record plus a ``total`` row per
detector (gross sums), and prints the totals.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from importlib.metadata import PackageNotFoundError, version  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import wfdb  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecgflow.beats import BEAT_SYMBOLS  # noqa: E402
from ecgflow.parquet import write_parquet  # noqa: E402
from ecgflow.qrs import MATCH_WINDOW_S, beat_pairs, detect_beats  # noqa: E402
from ecgflow.report.record_checks import qrs_summary  # noqa: E402
from ecgflow.wfdb_read import read_lead  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "mitdb"
DETECTORS = ("sleepecg", "xqrs", "neurokit2")
PACKAGE = {"sleepecg": "sleepecg", "xqrs": "wfdb", "neurokit2": "neurokit2"}


def run_sleepecg(x, fs):
    return detect_beats(x, fs)


def run_xqrs(x, fs):
    from wfdb.processing import xqrs_detect

    return xqrs_detect(x.astype(np.float64), fs, verbose=False)


def run_neurokit2(x, fs):
    import neurokit2 as nk

    clean = nk.ecg_clean(x.astype(np.float64), sampling_rate=fs)
    return nk.ecg_peaks(clean, sampling_rate=fs)[1]["ECG_R_Peaks"]


RUN = {"sleepecg": run_sleepecg, "xqrs": run_xqrs, "neurokit2": run_neurokit2}


def pin_one_core() -> int | None:
    """Pin this process to its lowest allowed CPU; the CPU, or None where affinity is not supported."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def available(name: str) -> bool:
    try:
        version(PACKAGE[name])
        return True
    except PackageNotFoundError:
        return False


def load(data: Path, record: str):
    """``(signal, fs, lead, reference beat samples)`` of mitdb ``record``."""
    x, lead, header, _ = read_lead(data / f"{record}.hea", ["MLII", 0])
    ann = wfdb.rdann(str(data / record), "atr")
    is_beat = np.isin(np.asarray(ann.symbol), list(BEAT_SYMBOLS))
    return x, float(header.fs), lead, np.asarray(ann.sample, np.int64)[is_beat]


def timed(fn, x, fs, repeats: int):
    """``(best seconds of repeats calls, beats of the last)``."""
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        beats = fn(x, fs)
        best = min(best, time.perf_counter() - start)
    return best, np.unique(np.asarray(beats, np.int64))


def benchmark(data: Path, records: list[str], detectors: list[str], repeats: int, xqrs_records: int) -> pd.DataFrame:
    rows, offsets = [], {d: [] for d in detectors}
    warmed = set()
    for i, record in enumerate(records):
        x, fs, lead, ref = load(data, record)
        for det in detectors:
            if det == "xqrs" and xqrs_records and i >= xqrs_records:
                continue
            if det not in warmed:
                RUN[det](x[: int(60 * fs)], fs)
                warmed.add(det)
            seconds, beats = timed(RUN[det], x, fs, 1 if det == "xqrs" else repeats)
            r_m, d_m = beat_pairs(ref, beats, fs)
            delay_ms = (beats[d_m] - np.sort(ref)[r_m]) / fs * 1000
            offsets[det].append(delay_ms)
            tp = len(r_m)
            rows.append({"detector": det, "record": record, "lead": lead, "fs": fs, "signal_s": len(x) / fs,
                         "seconds": seconds, "tp": tp, "fp": len(beats) - tp, "fn": len(ref) - tp,
                         "median_offset_ms": float(np.median(delay_ms)) if tp else np.nan})
        print(f"{record}", end=" ", flush=True)
    print()
    per = pd.DataFrame(rows)
    tables = []
    for det, part in per.groupby("detector", sort=False):
        summary = qrs_summary(part)
        extra = part.drop(columns=["tp", "fp", "fn"]).reset_index(drop=True)
        all_offsets = np.concatenate(offsets[det])
        extra.loc[len(extra)] = {"detector": det, "record": "total", "lead": "", "fs": np.nan,
                                 "signal_s": part.signal_s.sum(), "seconds": part.seconds.sum(),
                                 "median_offset_ms": float(np.median(all_offsets)) if all_offsets.size else np.nan}
        tables.append(pd.concat([extra, summary.drop(columns="record")], axis=1))
    table = pd.concat(tables, ignore_index=True)
    table["realtime_x"] = table.signal_s / table.seconds
    table["n_records"] = table.groupby("detector").record.transform(lambda r: int((r != "total").sum()))
    return table[["detector", "record", "lead", "fs", "signal_s", "seconds", "realtime_x", "tp", "fp", "fn",
                  "sensitivity", "ppv", "median_offset_ms", "n_records"]]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA, help="mitdb folder (.hea/.dat/.atr)")
    ap.add_argument("--records", default=None, help="comma-separated records (default: all in --data)")
    ap.add_argument("--detectors", default=",".join(DETECTORS), help=f"comma-separated, of {DETECTORS}")
    ap.add_argument("--repeats", type=int, default=3, help="timed calls per record, the best kept (XQRS: 1)")
    ap.add_argument("--xqrs-records", type=int, default=12, help="XQRS on the first N records only (0: all)")
    ap.add_argument("--output", type=Path, default=ROOT / "results" / "benchmarks" / "qrs.parquet")
    args = ap.parse_args(argv)
    records = args.records.split(",") if args.records else sorted(p.stem for p in args.data.glob("*.hea"))
    if not records:
        sys.exit(f"no records found in {args.data}")
    detectors = []
    for det in args.detectors.split(","):
        if det not in DETECTORS:
            sys.exit(f"unknown detector {det!r}; choose from {DETECTORS}")
        if available(det):
            detectors.append(det)
        else:
            print(f"skipped {det}: package {PACKAGE[det]} is not installed")
    cpu = pin_one_core()
    warnings.simplefilter("ignore")  # neurokit2 and wfdb warn about pandas and numpy deprecations
    table = benchmark(args.data, records, detectors, args.repeats, args.xqrs_records)
    versions = {det: version(PACKAGE[det]) for det in detectors}
    subset = "xqrs" in detectors and 0 < args.xqrs_records < len(records)
    write_parquet(table, args.output, {"records": records, "detectors": detectors, "versions": versions,
                                       "match_window_s": MATCH_WINDOW_S, "cpu": cpu, "repeats": args.repeats,
                                       "xqrs_records": records[: args.xqrs_records] if subset else records})
    pd.set_option("display.width", 200)
    total = table[table.record == "total"].copy()
    total[["sensitivity", "ppv"]] *= 100
    print(f"Gross figures on one core (CPU {cpu}), +-{MATCH_WINDOW_S * 1000:.0f} ms match, "
          f"sensitivity and PPV in %:")
    print(total[["detector", "n_records", "tp", "fp", "fn", "sensitivity", "ppv", "seconds", "realtime_x",
                 "median_offset_ms"]].to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    if subset:
        print(f"XQRS ran on the first {args.xqrs_records} of {len(records)} records only "
              f"({records[0]}..{records[args.xqrs_records - 1]}); --xqrs-records 0 runs it on all.")
    per = table[table.record != "total"].assign(worst=lambda t: np.minimum(t.sensitivity, t.ppv))
    print("\nWorst records per detector (lowest of sensitivity and PPV, %):")
    for det, part in per.groupby("detector", sort=False):
        worst = part.nsmallest(4, "worst")
        print(f"  {det}: " + ", ".join(f"{r.record} (Se {100 * r.sensitivity:.1f}, PPV {100 * r.ppv:.1f})"
                                       for r in worst.itertuples()))
    print(f"\nwritten: {args.output}")


if __name__ == "__main__":
    main()
