"""Snakemake entry point: one record's per-beat P(AF) (the p_af stream's table) from the rhythm models."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # the workflow's own ecgflow, whatever environment runs this

from ecgflow.logs import log_to
from ecgflow.training.rhythm import write_record_probabilities

with log_to(snakemake.log[0]):
    p = snakemake.params
    table = write_record_probabilities(snakemake.input.model, snakemake.input.beats, snakemake.output[0],
                                       dataset=p.dataset, source_dataset=p.source_dataset, threads=snakemake.threads)
    print(f"{snakemake.wildcards.record}: {len(table)} beats, mean P(AF) {table['p_af'].mean():.3f}")
