"""Snakemake entry point: one record's stream with its estimated (and true) AF episodes."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # the workflow's own ecgflow, whatever environment runs this

from ecgflow.episodes import write_record_figure
from ecgflow.extensions import load_extensions
from ecgflow.logs import log_to
from ecgflow.parquet import read_metadata

with log_to(snakemake.log[0]):
    load_extensions(snakemake.config["extensions"])
    inputs = snakemake.input
    configuration = read_metadata(inputs.episodes)["configuration"]
    write_record_figure(inputs.detections, configuration, snakemake.output[0], beats_path=inputs.beats,
                        events_path=inputs.events if snakemake.params.labelled else None)
