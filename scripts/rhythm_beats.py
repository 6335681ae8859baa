"""Snakemake entry point: per-beat out-of-fold metrics of p_af beside the cosen and pirr streams."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # the workflow's own ecgflow, whatever environment runs this

from ecgflow.logs import log_to
from ecgflow.training.rhythm import write_beats_table

with log_to(snakemake.log[0]):
    p = snakemake.params
    table = write_beats_table(snakemake.input.rhythm, snakemake.input.beats, snakemake.input.events,
                              snakemake.output[0], dataset=p.dataset, threshold=p.threshold)
    print(table[table["record"] == "pooled"].to_string(index=False))
