"""Snakemake entry point: the methods that other datasets' studies pick, scored on this dataset."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # the workflow's own ecgflow, whatever environment runs this

from ecgflow.logs import log_to
from ecgflow.report.transfer import write_transfer_tables

with log_to(snakemake.log[0]):
    p, inputs = snakemake.params, snakemake.input
    write_transfer_tables(dict(zip(p.sources, inputs.sources)), inputs.metrics, inputs.study, snakemake.output[0],
                          target=p.dataset)
