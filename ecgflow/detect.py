"""Command line: one detector configuration on one record, as earlier studies ran it.

    python -m ecgflow.detect --data results/demo/tidy/d01.parquet --detector adwin --ma-window 175 \\
        --min-gap-samples 3000 --param delta=0.08 --tolerance 500 --sample-rate 250 [--output det.parquet]

``--data`` is the record's tidy or beats file; the other one, and the events, are read from the sibling
folders (``results/{dataset}/{tidy,beats,events}/{record}.parquet``). It prints the number of
detections and, when :mod:`ecgflow.evaluation` is available and the events file exists, TP/FP/FN,
precision, recall, F1 and the mean delay at ``--tolerance`` samples.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .detectors import DETECTORS, SEMANTICS, detect
from .errors import EcgflowError, InputError
from .grid import thin
from .parquet import read_metadata, write_parquet
from .streams import STREAMS, build_stream


def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_params(items) -> dict:
    """``["delta=0.08", "mode=up"]`` -> ``{"delta": 0.08, "mode": "up"}``."""
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InputError("--param", f"expected NAME=VALUE, got {item!r}")
        out[name.strip()] = _value(value.strip())
    return out


def sibling(path: Path, kind: str) -> Path:
    """``results/x/tidy/r.parquet`` -> ``results/x/{kind}/r.parquet``."""
    return path.parent.parent / kind / path.name


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ecgflow.detect", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, type=Path, help="the record's tidy or beats Parquet file")
    p.add_argument("--detector", required=True, choices=DETECTORS)
    p.add_argument("--stream", choices=STREAMS, help="default: ecg for a tidy file, rr for a beats file (irr for ddm)")
    p.add_argument("--semantics", default="river", choices=SEMANTICS)
    p.add_argument("--ma-window", type=int, default=1, help="moving average: samples (ecg) or beats (rr, drr)")
    p.add_argument("--irr-ms", type=float, default=50.0, help="irr stream: RR change (ms) that counts as irregular")
    p.add_argument("--diff", action="store_true", help="ecg stream: first difference after the moving average")
    p.add_argument("--min-gap-samples", type=int, default=0, help="drop detections closer than this to the last kept one")
    p.add_argument("--param", action="append", metavar="NAME=VALUE", help="detector parameter (river name), repeatable")
    p.add_argument("--tolerance", type=int, default=500, help="evaluation tolerance in samples")
    p.add_argument("--sample-rate", type=float, help="expected sampling rate (checked against the file's metadata)")
    p.add_argument("--events", type=Path, help="events file (default: the sibling events folder)")
    p.add_argument("--output", type=Path, help="write the detections (column sample) to this Parquet file")
    return p


def run(args) -> dict:
    """Run one configuration; returns the printed figures as a dict."""
    data = args.data
    if not data.exists():
        raise InputError(data, "no such file")
    kind = data.parent.name if data.parent.name in ("tidy", "beats") else "tidy"
    stream = args.stream or ("irr" if args.detector == "ddm" else "ecg" if kind == "tidy" else "rr")
    path = data if (stream == "ecg") == (kind == "tidy") else sibling(data, "tidy" if stream == "ecg" else "beats")
    if not path.exists():
        raise InputError(path, f"the {stream} stream needs this file")
    meta = read_metadata(path)
    fs = meta.get("fs", args.sample_rate)
    if fs is None:
        raise InputError(path, "no sampling rate in the metadata: pass --sample-rate")
    if args.sample_rate is not None and not np.isclose(float(fs), args.sample_rate):
        raise InputError(path, f"sampling rate {fs} Hz differs from --sample-rate {args.sample_rate}")
    fs = float(fs)
    table = pd.read_parquet(path, columns=["sample", "ecg"] if stream == "ecg" else ["sample"])
    window = args.irr_ms if stream == "irr" else args.ma_window
    tables = {"tidy": table} if stream == "ecg" else {"beats": table}
    values, positions = build_stream(stream, window, fs=fs, diff=args.diff, source=str(path), **tables)
    fired = positions[detect(args.detector, values, args.semantics, source=str(path), **parse_params(args.param))]
    samples = thin(fired, args.min_gap_samples)
    result = {"detections": int(samples.size)}
    print(f"record {meta.get('record', path.stem)}: {args.detector} ({args.semantics}) on {stream}, "
          f"{values.size} elements, {samples.size} detections")
    if args.output:
        write_parquet(pd.DataFrame({"sample": samples}), args.output,
                      {**{k: meta.get(k) for k in ("dataset", "record", "n_samples")}, "fs": fs,
                       "detector": args.detector, "stream": stream, "semantics": args.semantics,
                       "window": window, "min_gap_samples": args.min_gap_samples, "params": parse_params(args.param)})
    try:
        from .evaluation import evaluate_detections
    except ImportError:
        return result
    events_path = args.events or sibling(path, "events")
    if not events_path.exists():
        print(f"no events file at {events_path}: not evaluated")
        return result
    events = pd.read_parquet(events_path, columns=["sample"])["sample"].to_numpy(np.int64)
    m = evaluate_detections(samples, events, tolerance=args.tolerance)
    result.update({k: m[k] for k in ("tp", "fp", "fn", "precision", "recall", "f1", "mean_delay")})
    print(f"tolerance {args.tolerance} samples, {events.size} events: TP {m['tp']} FP {m['fp']} FN {m['fn']} "
          f"precision {m['precision']:.3f} recall {m['recall']:.3f} F1 {m['f1']:.3f} "
          f"mean delay {m['mean_delay']:.1f} samples")
    return result


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        run(args)
    except EcgflowError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
