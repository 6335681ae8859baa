"""Benchmark study: nested leave-one-record-out F1 of every configured detector-stream pair on the real
afdb and mitdb records (../shared/data), beside its chance level.

    .venv/bin/python benchmarks/study.py [--datasets afdb mitdb] [--data-dir ../shared/data] [--ecg]

For each record: its beats and rhythm changes are read with the pipeline's own reader, every
(detector, stream) of the ``detectors:`` section of config/config.yaml sweeps its whole grid
(:func:`ecgflow.sweep.sweep`), and the detections are scored at 2, 4, 10 and 30 s with greedy matching,
for both timings (alarm and change; :func:`ecgflow.evaluation.scoring.score_detections`). The study
table (:func:`ecgflow.report.study.study_table`) then chooses, for each held-out record, the detector,
stream and settings (and, for timing "chosen", the timing) on the other records only. Beat streams
only by default (afdb records have no signal here); ``--ecg`` adds the ecg-stream pairs on records with
a signal.

Writes results/benchmarks/study.parquet (one row per dataset x tolerance x timing, over every pair)
and results/benchmarks/study_pairs.parquet (the same per detector-stream pair), and prints both.
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

from ecgflow.evaluation.scoring import score_detections  # noqa: E402
from ecgflow.parquet import write_parquet  # noqa: E402
from ecgflow.record_jobs import split_key  # noqa: E402
from ecgflow.record_jobs.detect import record_pairs, record_setups  # noqa: E402
from ecgflow.report.study import study_table  # noqa: E402
from ecgflow.sources import dataset_spec, list_records  # noqa: E402
from ecgflow.sweep import sweep  # noqa: E402
from ecgflow.record_read import read_record  # noqa: E402

EVALUATION = {"tolerances_s": [2, 4, 10, 30], "pre_tolerance_s": 0, "policies": ["greedy"], "chance_phases": 16,
              "seed": 0}
OUT = ROOT / "results" / "benchmarks"


def record_metrics(dataset: str, data_dir: Path, record: str, detectors: dict, ecg: bool) -> pd.DataFrame:
    """Metrics of every pair that runs on one record (the ecg-stream pairs only with ``ecg`` and a signal)."""
    rec = read_record(dataset_spec(dataset), data_dir, record)
    beats = pd.DataFrame({"sample": rec.beat_samples.astype(np.int64)})
    tidy = None if rec.signal is None else pd.DataFrame({"sample": np.arange(rec.n_samples), "ecg": rec.signal})
    events = rec.rhythms.events()[0]
    ev_meta = {"fs": rec.fs, "n_samples": rec.n_samples, "duration_s": rec.n_samples / rec.fs}
    frames, streams = [], {}  # each beat stream built once per record, as in the workflow's detect job
    for key, setup in record_setups(detectors, ecg and tidy is not None).items():
        detector, stream = split_key(key)
        det, meta = sweep(detector, stream, setup["grid"], fs=rec.fs, semantics=setup["semantics"],
                          params=setup["params"], tidy=tidy, beats=beats, source=f"{dataset}/{record}",
                          streams=streams)
        meta.update(dataset=dataset, record=record)
        frames.append(score_detections(det, meta, events, ev_meta, EVALUATION, source=f"{dataset}/{record}"))
    return pd.concat(frames, ignore_index=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", nargs="+", default=["afdb", "mitdb"])
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--config", type=Path, default=ROOT / "config" / "config.yaml")
    ap.add_argument("--ecg", action="store_true", help="also the ecg-stream pairs (records with a signal)")
    args = ap.parse_args(argv)
    detectors = yaml.safe_load(args.config.read_text())["detectors"]
    todo = record_pairs(detectors, args.ecg)
    studies, per_pair = [], []
    for dataset in args.datasets:
        start = time.perf_counter()
        folder = args.data_dir / dataset
        metrics = pd.concat([record_metrics(dataset, folder, r, detectors, args.ecg) for r in list_records(dataset_spec(dataset), folder)],
                            ignore_index=True)
        seconds = time.perf_counter() - start
        studies.append(study_table(metrics, dataset).assign(seconds=seconds))
        for (detector, stream), sub in metrics.groupby(["detector", "stream"], sort=True):
            per_pair.append(study_table(sub, dataset).assign(detector=detector, stream=stream))
        print(f"{dataset}: {metrics['record'].nunique()} records, {len(todo)} pairs, {seconds:.0f} s", flush=True)
    study = pd.concat(studies, ignore_index=True)
    pairs_table = pd.concat(per_pair, ignore_index=True)
    info = {"evaluation": EVALUATION, "pairs": [f"{d}/{s}" for d, s in todo], "config": str(args.config)}
    write_parquet(study, OUT / "study.parquet", info)
    write_parquet(pairs_table, OUT / "study_pairs.parquet", info)
    cols = ["dataset", "tolerance_s", "timing", "loro_pooled_f1", "loro_pooled_f1_chance", "loro_pooled_f1_lift",
            "loro_f1_mean", "loro_f1_chance", "loro_false_alarms_per_hour", "loro_median_delay_s", "picked_detector",
            "picked_stream"]
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.max_rows", 500):
        print(study[cols].round(3).to_string(index=False))
        pair_cols = ["dataset", "detector", "stream", "tolerance_s", "loro_pooled_f1", "loro_pooled_f1_chance",
                     "loro_false_alarms_per_hour"]
        print(pairs_table.loc[pairs_table.timing == "change", pair_cols].round(3).to_string(index=False))


if __name__ == "__main__":
    main()
