"""Snakemake entry point: one detector over its whole grid on one stream of one record."""

from ecgflow.logs import log_to
from ecgflow.parquet import write_parquet
from ecgflow.sweep import sweep_record

with log_to(snakemake.log[0]):
    w = snakemake.wildcards
    det, meta = sweep_record(
        w.detector,
        w.stream,
        snakemake.params.setup,
        tidy_path=snakemake.input.get("tidy"),
        beats_path=snakemake.input.get("beats"),
    )
    write_parquet(det, snakemake.output[0], meta)
    print(f"{w.detector}/{w.stream}/{w.record}: {len(det)} detections over {len(meta['grid'])} combinations")
