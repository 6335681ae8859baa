"""Snakemake entry point: generate the demo PTB-XL-layout set (ptbxl_database.csv, scp_statements.csv, records100/)."""

import sys
from pathlib import Path

sys.path.insert(0, snakemake.scriptdir + "/..")  # the workflow's own ecgflow, whatever environment runs this

from ecgflow.demo.ptbxl import write_demo_ptbxl
from ecgflow.logs import log_to

with log_to(snakemake.log[0]):
    path = write_demo_ptbxl(Path(snakemake.output.database).parent, n_records=snakemake.params.n_records, seed=snakemake.params.seed)
    print(f"wrote demo PTB-XL set {path}")
