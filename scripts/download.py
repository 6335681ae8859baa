"""Snakemake entry point: download a PhysioNet database with wfdb.dl_database."""

import sys
from pathlib import Path

import wfdb

sys.path.insert(0, snakemake.scriptdir + "/..")  # the workflow's own ecgflow, whatever environment runs this

from ecgflow.logs import log_to

with log_to(snakemake.log[0]):
    if not snakemake.params.slugs:
        raise ValueError("no selected dataset names a PhysioNet database (the demo dataset is generated)")
    for slug, marker in zip(snakemake.params.slugs, snakemake.output):
        wfdb.dl_database(slug, dl_dir=str(Path(marker).parent))
        Path(marker).mkdir(parents=True, exist_ok=True)
