"""Snakemake entry point: read one WFDB record and write its tidy, beats and events tables."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # the workflow's own ecgflow, whatever environment runs this

from ecgflow.logs import log_to
from ecgflow.tidy import tidy_record

with log_to(snakemake.log[0]):
    p = snakemake.params
    tidy_record(p.reader, p.raw, snakemake.wildcards.record, dict(snakemake.output.items()), dataset=p.dataset,
                max_flat_s=p.max_flat_s)
