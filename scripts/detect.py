"""Snakemake entry point: every configured (detector, stream) pair of one record over its whole grid."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # the workflow's own ecgflow, whatever environment runs this

from ecgflow.extensions import load_extensions
from ecgflow.logs import log_to
from ecgflow.record_jobs.detect import write_detections

with log_to(snakemake.log[0]):
    load_extensions(snakemake.config["extensions"])
    p = snakemake.params
    table = write_detections(p.setups, snakemake.output[0], dataset=p.dataset, record=snakemake.wildcards.record,
                             paths=dict(snakemake.input.items()))
    print(f"{snakemake.wildcards.record}: {table.num_rows} detections of {len(p.setups)} (detector, stream) pairs")
