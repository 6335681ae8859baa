"""Snakemake entry point: the tables about a dataset's records (those skipped; detected beats against
the reference beats)."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # the workflow's own ecgflow, whatever environment runs this

from ecgflow.logs import log_to
from ecgflow.report.record_checks import write_record_checks

with log_to(snakemake.log[0]):
    write_record_checks(snakemake.input, dict(snakemake.output.items()), snakemake.params.dataset)
