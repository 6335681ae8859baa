"""Snakemake entry point: the report tables as sortable HTML pages for `snakemake --report`."""

import json
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # the workflow's own ecgflow, whatever environment runs this

from ecgflow.logs import log_to
from ecgflow.report.html import write_html_tables

with log_to(snakemake.log[0]):
    tables = {key: snakemake.input[key] for key in ("best_configs", "grid_summary", "study")}
    write_html_tables(tables, json.loads(snakemake.params.evaluation), snakemake.params.dataset,
                      dict(snakemake.output.items()))
