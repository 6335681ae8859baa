"""Snakemake entry point: the report's landing page, the answer first (results/report/landing.rst)."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # the workflow's own ecgflow, whatever environment runs this

from ecgflow.logs import log_to
from ecgflow.report.answer import write_landing

with log_to(snakemake.log[0]):
    p = snakemake.params
    write_landing(dict(zip(p.datasets, snakemake.input.studies)), snakemake.input.template, snakemake.output[0],
                  p.policy)
