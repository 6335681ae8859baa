"""Snakemake entry point: cross-fit the rhythm task's fold models on one dataset."""

import logging
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # the workflow's own ecgflow, whatever environment runs this

from pathlib import Path

from ecgflow.logs import log_to
from ecgflow.training.rhythm import run_rhythm_training

with log_to(snakemake.log[0]):
    p = snakemake.params
    run_rhythm_training(snakemake.input.beats, snakemake.input.events, Path(snakemake.output.model).parent, p.train,
                        seed=p.seed, device=p.device, threads=snakemake.threads, dataset=p.dataset,
                        log=logging.getLogger("ecgflow.train").info)
