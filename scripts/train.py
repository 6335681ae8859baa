"""Snakemake entry point: train params.task, write the model and tables of its output folder."""

import logging
import sys
from pathlib import Path

sys.path.insert(0, snakemake.scriptdir + "/..")  # the workflow's own ecgflow, whatever environment runs this

from ecgflow.logs import log_to
from ecgflow.training.run import run_training

with log_to(snakemake.log[0]):
    p = snakemake.params
    log = logging.getLogger("ecgflow.train").info
    tables = run_training(p.task, Path(snakemake.input.index).parent, Path(snakemake.output.model).parent,
                          p.train, seed=p.seed, device=p.device, threads=snakemake.threads,
                          dataset=p.dataset, log=log)
    log("test metrics:\n%s", tables["metrics"].to_string(index=False))
