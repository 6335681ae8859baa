"""Snakemake entry point: combine the per-record metrics into the report tables."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # the workflow's own ecgflow, whatever environment runs this

from ecgflow.logs import log_to
from ecgflow.report.tables import write_report_tables

with log_to(snakemake.log[0]):
    write_report_tables(list(snakemake.input), dict(snakemake.output.items()),
                        snakemake.params.dataset, snakemake.params.config_hash)
