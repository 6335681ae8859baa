"""Snakemake entry point: build a training dataset (X.npy, index.parquet; beats also features.npy) for params.task."""

import sys
from pathlib import Path

sys.path.insert(0, snakemake.scriptdir + "/..")  # the workflow's own ecgflow, whatever environment runs this

from ecgflow.logs import log_to
from ecgflow.training.datasets import build_beats, build_superclass

with log_to(snakemake.log[0]):
    p = snakemake.params
    out_dir = Path(snakemake.output.X).parent
    if p.task == "superclass":
        index = build_superclass(Path(snakemake.input[-1]).parent, out_dir)
    else:
        inputs = dict(zip(p.records, zip(snakemake.input.tidy, snakemake.input.beats, snakemake.input.headers)))
        index = build_beats(inputs, p.dataset, out_dir, p.window_s, p.length, p.val_fraction, p.seed, leads=p.leads,
                            channels=p.channels)
    print(f"{p.task}: {len(index)} rows; per split: {index['split'].value_counts().sort_index().to_dict()}")
