"""Snakemake entry point: draw the report figures from the report tables and per-record files."""

import json
import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # the workflow's own ecgflow, whatever environment runs this

from ecgflow.extensions import load_extensions
from ecgflow.logs import log_to
from ecgflow.report.figures import write_figures

with log_to(snakemake.log[0]):
    load_extensions(snakemake.config["extensions"])
    i = snakemake.input
    tables = {"grid_summary": i.grid_summary, "best_configs": i.best_configs, "study": i.study}
    write_figures(tables, json.loads(snakemake.params.evaluation), list(i.detections), list(i.events),
                  list(i.signals), list(i.beats), dict(snakemake.output.items()))
