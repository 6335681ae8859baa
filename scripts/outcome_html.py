"""Snakemake entry point: one of the per-dataset outcome tables (burden, QRS detection, transfer,
skipped records) as a sortable HTML page for `snakemake --report`."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # the workflow's own ecgflow, whatever environment runs this

from ecgflow.logs import log_to
from ecgflow.report.html import write_outcome_page

with log_to(snakemake.log[0]):
    w = snakemake.wildcards
    write_outcome_page(w.table, snakemake.input[0], w.dataset, snakemake.output[0])
