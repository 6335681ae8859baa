"""Snakemake entry point: score one record's detections file (every pair and grid combination)
against its events at every tolerance and policy, and write the metrics table."""

import json
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # the workflow's own ecgflow, whatever environment runs this

from ecgflow.extensions import load_extensions
from ecgflow.logs import log_to
from ecgflow.record_jobs.score import write_metrics

with log_to(snakemake.log[0]):
    load_extensions(snakemake.config["extensions"])
    p = snakemake.params
    metrics = write_metrics(snakemake.input.detections, snakemake.input.events, json.loads(p.evaluation),
                            snakemake.output[0], {"dataset": p.dataset, "config_hash": p.config_hash},
                            beats_path=snakemake.input.get("beats"))
    print(f"{len(metrics)} metric rows, best F1 {metrics['f1'].max():.3f}")
