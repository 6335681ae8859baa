"""Snakemake entry point: generate one demo WFDB record (.hea/.dat/.atr)."""

import sys
from pathlib import Path

sys.path.insert(0, snakemake.scriptdir + "/..")  # the workflow's own ecgflow, whatever environment runs this

from ecgflow.demo.records import write_demo_record
from ecgflow.logs import log_to

with log_to(snakemake.log[0]):
    p = snakemake.params
    path = write_demo_record(Path(snakemake.output.hea).parent, snakemake.wildcards.record, seed=p.seed, duration_s=p.duration_s, fs=p.fs)
    print(f"wrote demo record {path}")
