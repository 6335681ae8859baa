"""Snakemake entry point: draw a training job's figures from its saved tables (no retraining)."""

import sys
from pathlib import Path

sys.path.insert(0, snakemake.scriptdir + "/..")  # the workflow's own ecgflow, whatever environment runs this

from ecgflow.logs import log_to
from ecgflow.training.figures import write_figures

with log_to(snakemake.log[0]):
    p = snakemake.params
    dataset_dir = Path(snakemake.input.index).parent if "index" in snakemake.input.keys() else None
    write_figures(p.task, Path(snakemake.input.metrics).parent, Path(snakemake.output[0]).parent, dataset_dir)
