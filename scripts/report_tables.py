"""Snakemake entry point: combine the per-record metrics into the report tables."""

from ecgflow.logs import log_to
from ecgflow.report.tables import write_report_tables

with log_to(snakemake.log[0]):
    write_report_tables(list(snakemake.input), dict(snakemake.output.items()),
                        snakemake.params.dataset, snakemake.params.config_hash)
