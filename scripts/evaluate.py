"""Snakemake entry point: score one detections file (every grid combination) against its record's
events at every tolerance and policy, and write the metrics table."""

import json

from ecgflow.evaluation import score_file
from ecgflow.logs import log_to
from ecgflow.parquet import write_parquet

with log_to(snakemake.log[0]):
    evaluation = json.loads(snakemake.params.evaluation)
    metrics = score_file(snakemake.input.detections, snakemake.input.events, evaluation)
    write_parquet(metrics, snakemake.output[0],
                  {"dataset": snakemake.params.dataset, "config_hash": snakemake.params.config_hash})
    print(f"{len(metrics)} metric rows, best F1 {metrics['f1'].max():.3f}")
