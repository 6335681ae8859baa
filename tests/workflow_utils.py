"""Helpers for workflow tests: a tiny demo config, dry-run job parsing, table comparison."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import yaml

from conftest import ROOT, snakemake

TARGET = "report"  # detection chain end to end (training has its own tests)
# the rules downstream of the per-record metrics: report tables, figures and pages, AF episodes
REPORT_RULES = {
    match.group(1) or match.group(2)
    for smk in ("report.smk", "episodes.smk")
    for match in re.finditer(r"^(?:rule (\w+):|use rule \w+ as (\w+) with:)", (ROOT / "rules" / smk).read_text(), re.M)
}
# those that run on the demo (no CPSC 2021 score, no transfer; labelled, so its episodes come with the truth)
DEMO_REPORT_RULES = REPORT_RULES - {"report_tables_cpsc2021", "transfer_table", "episode_tables"}


def tiny_config(p_af: bool = False, **overrides) -> dict:
    """The default config on two 5-minute demo records, with smaller grids (and without the rhythm
    model's ``p_af`` stream unless asked for)."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["demo"].update(n_records=2, duration_s=300, ptbxl_records=100)
    for detector in config["detectors"].values():
        for grid in detector["streams"].values():
            grid["threshold"]["values"] = grid["threshold"]["values"][2:5]
            grid["window"]["values"] = grid["window"]["values"][:2]
            grid["min_gap_s"] = grid["min_gap_s"][:3] + grid["min_gap_s"][-1:]
    config["detectors"]["adwin"]["streams"]["rr"]["params"] = {"clock": 1}  # a stream's own params
    if not p_af:  # the rhythm model's stream trains a model first: only the tests of that stream keep it
        config["detectors"]["hysteresis"]["streams"].pop("p_af")
    config.update(overrides)
    return config


def write_config(workdir: Path, config: dict) -> Path:
    (workdir / "config").mkdir(parents=True, exist_ok=True)
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return workdir


def planned_jobs(workdir: Path, snakefile: Path = ROOT / "Snakefile") -> dict[str, set[str]]:
    """Jobs a dry run would execute: rule -> set of wildcard strings ('' for rules without wildcards)."""
    out = snakemake(workdir, TARGET, "-n", snakefile=snakefile).stdout
    jobs: dict[str, set[str]] = {}
    rule = None
    for line in out.splitlines():
        start = re.match(r"^(?:local)?(?:rule|checkpoint) (\w+):$", line.strip())
        if start:
            rule = start.group(1)
            jobs.setdefault(rule, set()).add("")
            continue
        wildcards = re.match(r"^wildcards: (.*)$", line.strip())
        if wildcards and rule:
            jobs[rule].discard("")
            jobs[rule].add(wildcards.group(1))
            rule = None
    for rule in [r for r in jobs if r == TARGET]:
        del jobs[rule]
    return jobs


def table_contents(results: Path) -> dict[str, pd.DataFrame]:
    """Every Parquet table under ``results/demo/tables`` and ``metrics``, by relative path."""
    base = results / "demo"
    return {
        str(p.relative_to(base)): pq.read_table(p).to_pandas()
        for sub in ("tables", "metrics", "detections")
        for p in sorted((base / sub).rglob("*.parquet"))
    }


def assert_same_tables(a: Path, b: Path) -> None:
    ta, tb = table_contents(a), table_contents(b)
    assert ta.keys() == tb.keys() and ta
    for name in ta:
        pd.testing.assert_frame_equal(ta[name], tb[name], check_exact=True, obj=name)
        assert pq.read_schema(a / "demo" / name).metadata == pq.read_schema(b / "demo" / name).metadata, name
