"""Score job of one record: the metrics of every (detector, stream) pair of its detections file."""

from __future__ import annotations

from ..evaluation.scoring import score_record_file
from ..parquet import write_parquet


def write_metrics(detections_path, events_path, evaluation: dict, out, metadata: dict, beats_path=None):
    """:func:`ecgflow.evaluation.scoring.score_record_file` of a per-record detections file (with
    ``beats_path``, the CPSC 2021 score columns too), written atomically to ``out``."""
    metrics = score_record_file(detections_path, events_path, evaluation, beats_path)
    write_parquet(metrics, out, metadata)
    return metrics
