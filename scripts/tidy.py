"""Snakemake entry point: read one WFDB record and write its tidy, beats and events tables."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # the workflow's own ecgflow, whatever environment runs this

from ecgflow.logs import log_to
from ecgflow.sources import dataset_spec
from ecgflow.tidy import write_tidy
from ecgflow.wfdb_read import read_record

with log_to(snakemake.log[0]):
    p = snakemake.params
    rec = read_record(dataset_spec(p.dataset), p.raw, snakemake.wildcards.record, lead=p.lead, max_flat_s=p.max_flat_s)
    write_tidy(rec, p.dataset, snakemake.output.beats, snakemake.output.events, snakemake.output.get("tidy"))
