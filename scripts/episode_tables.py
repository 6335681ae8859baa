"""Snakemake entry point: AF episodes and burden of a dataset's records from one two-state configuration."""

import sys

sys.path.insert(0, snakemake.scriptdir + "/..")  # the workflow's own ecgflow, whatever environment runs this

import pandas as pd

from ecgflow.episodes import episode_configuration, study_tolerance, write_episode_tables
from ecgflow.extensions import load_extensions
from ecgflow.logs import log_to

with log_to(snakemake.log[0]):
    load_extensions(snakemake.config["extensions"])
    settings, inputs = snakemake.params.settings, snakemake.input
    configuration, origin = settings["configuration"], {"config": "episodes.configuration"}
    if not configuration:
        study = pd.read_parquet(inputs.study)
        tolerance = settings["tolerance_s"] or study_tolerance(study)
        configuration, origin = episode_configuration(study, pd.read_parquet(inputs.best_configs), tolerance,
                                                      settings["policy"], path=inputs.study)
    print(f"configuration: {configuration} ({origin})")
    write_episode_tables(inputs.detections, inputs.get("events"), configuration, dict(snakemake.output.items()),
                         origin=origin, dataset=snakemake.params.dataset, beats_paths=inputs.beats)
