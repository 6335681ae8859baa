"""The rules and profiles as files: every computing rule benchmarked, profiles that name real rules and
leave resources to the rules, retries only on the cluster, workflow files clean for snakefmt and
``snakemake --lint``."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, snakemake
from workflow_utils import tiny_config, write_config

RULE_FILES = [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk"))]
PROFILES = {p.parent.name: yaml.safe_load(p.read_text()) for p in sorted((ROOT / "profiles").glob("*/config.yaml"))}


def rule_blocks() -> dict[str, str]:
    """Each rule's text, by name (a rule made by ``use rule A as B with:`` has A's text and its own)."""
    blocks, derived = {}, {}
    for path in RULE_FILES:
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            start = re.match(r"^(\s*)(?:(?:rule|checkpoint) (\w+)|use rule (\w+) as (\w+) with):", line)
            if start:
                indent, body = len(start.group(1)), []
                for following in lines[i + 1:]:
                    if following.strip() and len(following) - len(following.lstrip()) <= indent:
                        break
                    body.append(following)
                if start.group(2):
                    blocks[start.group(2)] = "\n".join(body)
                else:
                    derived[start.group(4)] = (start.group(3), "\n".join(body))
    return {**blocks, **{name: blocks[base] + "\n" + body for name, (base, body) in derived.items()}}


RULES = rule_blocks()


def test_every_computing_rule_writes_a_benchmark_file():
    computing = {name for name, body in RULES.items() if re.search(r"^\s*(script|shell|run):", body, re.M)}
    assert {"tidy_record", "detect_record", "score_record", "train_beats"} <= computing
    missing = {name for name in computing if "benchmark:" not in RULES[name]}
    assert not missing, f"rules without a benchmark: file: {sorted(missing)}"


def test_every_rule_a_profile_names_exists():
    for name, profile in PROFILES.items():
        named = {*profile.get("set-resources", {}), *profile.get("set-threads", {}), *profile.get("groups", {})}
        assert named <= set(RULES), f"profiles/{name} names unknown rules {sorted(named - set(RULES))}"


def test_profiles_leave_the_gpu_to_the_rules():
    for name, profile in PROFILES.items():
        resources = [profile.get("default-resources", {}), *profile.get("set-resources", {}).values()]
        assert not any("gpu" in r for r in resources), f"profiles/{name} sets a gpu resource"


def _resource(resources: dict, attempt: int, n_inputs: int = 48, key: str = "mem_mb") -> float:
    """A profile's ``mem_mb`` (or ``key``) expression, evaluated as Snakemake does (``attempt``, the
    job's ``input``)."""
    return eval(str(resources[key]), {"attempt": attempt, "input": [f"m{i}" for i in range(n_inputs)]})


def test_cluster_memory_grows_with_each_attempt():
    profile = PROFILES["slurm"]
    for key, resources in {"default": profile["default-resources"], **profile["set-resources"]}.items():
        assert _resource(resources, 2) > _resource(resources, 1), key


def test_cluster_resources_of_the_report_tables_cover_the_measured_peaks():
    """Headroom over the figures of docs/figures.md (mitdb's 48 records: 0.56 GB; 1,500 generated
    records: 1.64 GB and 374 s on 2 cores), growing with the records."""
    for rule in ("report_tables", "report_tables_cpsc2021"):
        tables = PROFILES["slurm"]["set-resources"][rule]
        assert _resource(tables, 1, 48) >= 1.5 * 560
        assert _resource(tables, 1, 1500) >= 1.5 * 1640
        assert _resource(tables, 1, 3000) > _resource(tables, 1, 1500)
        assert _resource(tables, 1, 1500, "runtime") >= 2 * 374 / 60
        assert _resource(tables, 1, 3000, "runtime") > _resource(tables, 1, 1500, "runtime")


def test_retries_only_on_the_cluster():
    assert "retries" not in PROFILES["default"]  # a local failure is deterministic: it would fail again
    assert PROFILES["slurm"]["retries"] >= 1


def test_download_runs_on_the_submitting_host():
    local = re.search(r"^localrules:\n((?:\s+\w+,?\n)+)", (ROOT / "rules" / "data.smk").read_text(), re.M)
    assert local and "download" in local.group(1)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_cluster_gpu_request_follows_train_device(tmp_path, monkeypatch, device):
    monkeypatch.setenv("SLURM_ACCOUNT", "test")
    monkeypatch.setenv("SLURM_PARTITION", "test")
    config = tiny_config()
    config["train"]["device"] = device
    workdir = write_config(tmp_path, config)
    out = snakemake(workdir, "train", "-n", "--profile", str(ROOT / "profiles" / "slurm")).stdout
    jobs = re.findall(r"rule (train_(?:superclass|beats)):.*?resources: ([^\n]*)", out, re.S)
    assert "train_superclass" in {name for name, _ in jobs}, out[-3000:]
    assert all(("gpu=1" in resources) == (device == "cuda") for _, resources in jobs), jobs


def test_workflow_files_are_snakefmt_clean():
    proc = subprocess.run([sys.executable, "-m", "snakefmt", "--check", *map(str, RULE_FILES)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_workflow_passes_snakemake_lint():
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
