"""Command line: one detector configuration on one record, as earlier studies ran it.

    python -m ecgflow.detect --data results/demo/tidy/d01.parquet --detector adwin --ma-window 175 \\
        --min-gap-samples 3000 --param delta=0.08 --tolerance 500 --sample-rate 250 [--output det.parquet]

``--data`` is the record's tidy or beats file; the other one, and the events, are read from the sibling
folders (``results/{dataset}/{tidy,beats,events}/{record}.parquet``). Every argument is checked
before any work. It prints the number of detections and, when the events file exists, TP/FP/FN,
precision, recall, F1 and the mean delay at ``--tolerance`` samples, for the alarms (the samples at
which the detector fired) and for the detector's own estimates of when the change happened.

``--data`` may also be a CSV file with the Parquet table's columns (tidy: ``record, sample, time_s, ecg,
rhythm, regime_change``; beats, in a folder named ``beats``: ``sample, symbol, aami_class, rr_s``), of which
only those the stream reads are required. A CSV file has no metadata: ``--sample-rate`` is required (and
checked against the ``time_s`` column where there is one), the sibling files are CSV files too, and without
an events file the ground truth is the tidy CSV's ``regime_change`` column (the samples where it is not 0).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from .detectors import DETECTORS, SEMANTICS, resolve_params
from .errors import ConfigError, EcgflowError, InputError
from .evaluation import evaluate_detections
from .grid import DETECTOR_STREAMS, THRESHOLD_NAME
from .parquet import read_metadata, write_parquet
from .streams import STREAMS, WINDOW_NAME, resolve_stream_params
from .sweep import TIMES, stream_tables, sweep


# Columns a CSV tidy or beats file may have, typed as the Parquet tables store them.
CSV_DTYPES = {"record": "string", "sample": "int64", "time_s": "float64", "ecg": "float32", "regime_change": "int8"}


class UsageError(EcgflowError):
    """A command-line argument that cannot be used; names the flag."""

    def __init__(self, flag: str, problem: str):
        super().__init__(f"{flag}: {problem}")


def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_params(items, flag: str = "--param") -> dict:
    """``["delta=0.08", "mode=up"]`` -> ``{"delta": 0.08, "mode": "up"}``."""
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(flag, f"expected NAME=VALUE, got {item!r}")
        out[name.strip()] = _value(value.strip())
    return out


def sibling(path: Path, kind: str) -> Path:
    """``results/x/tidy/r.parquet`` -> ``results/x/{kind}/r.parquet``."""
    return path.parent.parent / kind / path.name


def is_csv(path: Path) -> bool:
    return path.suffix.lower() == ".csv"


def read_csv_columns(path: Path, columns, optional=()) -> pd.DataFrame:
    """``columns`` (and those of ``optional`` it has) of the CSV file ``path``, typed as in the Parquet
    tables (:data:`CSV_DTYPES`); raises InputError naming the file and a missing column."""
    try:
        header = list(pd.read_csv(path, nrows=0).columns)
        missing = [c for c in columns if c not in header]
        if missing:
            raise InputError(path, f"no column {missing[0]!r} (needs {', '.join(columns)}; the file has {header})")
        use = [*columns, *(c for c in optional if c in header and c not in columns)]
        return pd.read_csv(path, usecols=use, dtype={c: CSV_DTYPES.get(c, "string") for c in use})
    except InputError:
        raise
    except (ValueError, OSError) as e:  # pandas' parser errors are ValueErrors
        raise InputError(path, f"does not read as a CSV table ({str(e).splitlines()[0]})") from None


def _check_times(path: Path, table: pd.DataFrame, fs: float) -> None:
    """A CSV's time_s column (where it has one) is sample / fs, within half a sample."""
    if "time_s" not in table:
        return
    bad = ~(np.abs(table["time_s"].to_numpy() * fs - table["sample"].to_numpy()) <= 0.5)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(path, f"time_s {table['time_s'].iloc[i]} at sample {table['sample'].iloc[i]} does not match "
                               f"--sample-rate {fs:g} (time_s must be sample / sampling rate)")


def _regime_changes(path: Path, table: pd.DataFrame | None = None) -> np.ndarray | None:
    """Samples where the tidy CSV ``path`` has a non-zero regime_change; None without that column."""
    if table is None:
        table = read_csv_columns(path, ["sample"], optional=["regime_change"])
    if "regime_change" not in table:
        return None
    return table["sample"].to_numpy(np.int64)[table["regime_change"].to_numpy() != 0]


def _number(cast, low, low_open=False):
    """argparse type: a number of type ``cast`` above ``low``."""

    def parse(text):
        try:
            v = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if cast is int else 'a number'}, got {text!r}") from None
        if not math.isfinite(v) or (v <= low if low_open else v < low):
            raise argparse.ArgumentTypeError(f"must be {'>' if low_open else '>='} {low}, got {text}")
        return v

    return parse


class _DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default in --help, except where it has none (None, an empty list, off)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or action.default == []:
            return action.help
        return super()._get_help_string(action)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ecgflow.detect", description=__doc__.split("\n\n")[0],
                                formatter_class=_DefaultsHelp)
    p.add_argument("--data", required=True, type=Path,
                   help="the record's tidy or beats file: Parquet, or CSV with the same columns")
    p.add_argument("--detector", required=True, choices=DETECTORS, help="change detector")
    first = ", ".join(f"{d} {next(s for s in DETECTOR_STREAMS[d] if s != 'ecg')}" for d in DETECTORS)
    p.add_argument("--stream", choices=STREAMS,
                   help="stream the detector reads (default: ecg for a tidy file where the detector runs on it, "
                        f"else the detector's first beat stream: {first})")
    p.add_argument("--semantics", default="river", choices=SEMANTICS, help="reference implementation the detector follows")
    p.add_argument("--ma-window", type=_number(int, 1), default=1,
                   help="ecg, rr, drr streams: moving average over this many samples (ecg) or beats")
    p.add_argument("--irr-ms", type=_number(float, 0.0, low_open=True), default=50.0,
                   help="irr stream: RR change (ms) that counts as irregular")
    p.add_argument("--w", type=_number(int, 1), default=16, help="cosen, pirr, nrmssd streams: window of RR intervals")
    p.add_argument("--stream-param", action="append", metavar="NAME=VALUE", default=[],
                   help="fixed stream parameter (r for cosen, irr_ms for pirr), repeatable")
    p.add_argument("--diff", action="store_true", help="ecg stream: first difference after the moving average")
    p.add_argument("--min-gap-samples", type=_number(int, 0), default=0,
                   help="drop alarms closer than this to the last kept one")
    p.add_argument("--param", action="append", metavar="NAME=VALUE", default=[],
                   help="detector parameter (river name), repeatable, including the threshold (delta for adwin, "
                        "threshold for pagehinkley, ...); unset ones take the detector's defaults")
    p.add_argument("--tolerance", type=_number(int, 0), default=500, help="evaluation tolerance in samples")
    p.add_argument("--sample-rate", type=_number(float, 0.0, low_open=True),
                   help="expected sampling rate in Hz, checked against the file's metadata (default: not checked; "
                        "required when the metadata has none, and for a CSV file)")
    p.add_argument("--events", type=Path, help="events file (default: the sibling events folder)")
    p.add_argument("--output", type=Path,
                   help="write the detections (columns alarm_sample, change_sample, direction) to this Parquet file "
                        "(default: not written)")
    return p


def check_args(args) -> dict:
    """Everything that can be checked without reading the data; returns the run's setup."""
    data = args.data
    if not data.is_file():
        raise UsageError("--data", f"{data}: no such file")
    kind = "beats" if data.parent.name == "beats" else "tidy"
    allowed = DETECTOR_STREAMS[args.detector]
    stream = args.stream or ("ecg" if kind == "tidy" and "ecg" in allowed else next(s for s in allowed if s != "ecg"))
    if stream not in allowed:
        raise UsageError("--stream", f"{args.detector} does not run on {stream!r}; streams: {list(allowed)}")
    window_name = WINDOW_NAME[stream]
    params = parse_params(args.param)
    stream_params = parse_params(args.stream_param, "--stream-param")
    try:
        threshold = resolve_params(args.detector, args.semantics, params)[THRESHOLD_NAME[args.detector]]
    except ConfigError as e:
        raise UsageError("--param", f"{e.key}: {e.problem}") from None
    try:
        resolve_stream_params(stream, stream_params, key="")
    except ConfigError as e:
        raise UsageError("--stream-param", f"{e.key.lstrip('.')}: {e.problem}") from None
    if args.diff and stream != "ecg":
        raise UsageError("--diff", f"only the ecg stream has a first difference, not {stream!r}")
    path = data if (stream == "ecg") == (kind == "tidy") else sibling(data, "tidy" if stream == "ecg" else "beats")
    if not path.is_file():
        raise UsageError("--data", f"the {stream} stream reads {path}: no such file")
    events = args.events or sibling(path, "events")
    if args.events is not None and not events.is_file():
        raise UsageError("--events", f"{events}: no such file")
    events = events if events.is_file() else None
    tables = changes = None
    if is_csv(path):
        if args.sample_rate is None:
            raise UsageError("--sample-rate", f"required with a CSV file ({path} has no metadata)")
        fs = args.sample_rate
        name, columns = ("tidy", ["sample", "ecg"]) if stream == "ecg" else ("beats", ["sample"])
        table = read_csv_columns(path, columns, optional=["time_s", "record", "regime_change"])
        _check_times(path, table, fs)
        records = table["record"].dropna() if "record" in table else []
        meta = {"record": str(records.iloc[0])} if len(records) else {}
        tables = {name: table[columns]}
        tidy = data if kind == "tidy" else path if stream == "ecg" else None
        if events is None and tidy is not None:
            changes = _regime_changes(tidy, table if tidy == path else None)
    else:
        try:
            meta = read_metadata(path)
        except (pa.ArrowInvalid, OSError) as e:
            raise InputError(path, f"not a Parquet file ({str(e).splitlines()[0]})") from None
        fs = meta.get("fs", args.sample_rate)
        if fs is None:
            raise InputError(path, "no sampling rate in the metadata: pass --sample-rate")
        if args.sample_rate is not None and not np.isclose(float(fs), args.sample_rate):
            raise InputError(path, f"sampling rate {fs} Hz differs from --sample-rate {args.sample_rate:g}")
    return {"path": path, "meta": meta, "fs": float(fs), "stream": stream, "window_name": window_name,
            "window": getattr(args, window_name), "params": params, "threshold": threshold, "stream_params": stream_params,
            "events": events, "tables": tables, "changes": changes}


def _delay(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1f} samples"


def run(args) -> dict:
    """Run one configuration; returns the printed figures as a dict (``alarm`` and ``change`` scores)."""
    s = check_args(args)
    path, stream, fs = s["path"], s["stream"], s["fs"]
    tname = THRESHOLD_NAME[args.detector]
    threshold = s["threshold"]
    grid = {"threshold": {"name": tname, "values": [threshold]},
            "window": {"name": s["window_name"], "values": [s["window"]]},
            "min_gap_s": [args.min_gap_samples / fs], "diff": args.diff, "stream_params": s["stream_params"]}
    fixed = {k: v for k, v in s["params"].items() if k != tname}
    try:
        tables = s["tables"] or stream_tables(stream, path)  # metadata and sampling rate: already read and checked
    except (pa.ArrowInvalid, KeyError, OSError) as e:
        raise InputError(path, f"cannot read the {stream} stream's columns ({str(e).splitlines()[0]})") from None
    det, meta = sweep(args.detector, stream, grid, fs=fs, semantics=args.semantics, params=fixed,
                      source=str(path), **tables)
    det = det[list(TIMES)].reset_index(drop=True)
    print(f"record {s['meta'].get('record', path.stem)}: {args.detector} ({args.semantics}, {tname} {threshold:g}) "
          f"on {stream} ({s['window_name']} {s['window']:g}), {meta['n_elements']} elements, {len(det)} detections")
    if args.output:
        write_parquet(det, args.output, {**{k: s["meta"].get(k) for k in ("dataset", "record", "n_samples")},
                                         **meta, "min_gap_samples": args.min_gap_samples})
    result = {"detections": len(det)}
    if s["events"] is not None:
        read = read_csv_columns if is_csv(s["events"]) else pd.read_parquet
        events, source = read(s["events"], columns=["sample"])["sample"].to_numpy(np.int64), ""
    elif s["changes"] is not None:
        events, source = s["changes"], " (the tidy CSV's regime_change column)"
    else:
        print(f"no events file at {sibling(path, 'events')}: not evaluated")
        return result
    print(f"tolerance {args.tolerance} samples, {events.size} events{source}:")
    for timing in ("alarm", "change"):
        m = evaluate_detections(det[f"{timing}_sample"].to_numpy(), events, tolerance=args.tolerance)
        result[timing] = {k: m[k] for k in ("tp", "fp", "fn", "precision", "recall", "f1", "mean_delay")}
        print(f"  {timing + ' samples:':15} TP {m['tp']} FP {m['fp']} FN {m['fn']} precision {m['precision']:.3f} "
              f"recall {m['recall']:.3f} F1 {m['f1']:.3f} mean delay {_delay(m['mean_delay'])}")
    return result


def main(argv=None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as e:  # argparse has printed the usage and the error (or the help)
        return int(e.code or 0)
    try:
        run(args)
    except EcgflowError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
