"""Snakemake entry point: download a PhysioNet database with wfdb.dl_database."""

import sys
from pathlib import Path

import wfdb

sys.path.insert(0, snakemake.scriptdir + "/..")  # the workflow's own ecgflow, whatever environment runs this

from ecgflow.logs import log_to

with log_to(snakemake.log[0]):
    if snakemake.params.slug is None:
        raise ValueError("the demo dataset is generated, not downloaded")
    wfdb.dl_database(snakemake.params.slug, dl_dir=str(Path(snakemake.output[0]).parent))
    Path(snakemake.output[0]).mkdir(parents=True, exist_ok=True)
