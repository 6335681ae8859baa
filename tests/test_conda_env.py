"""The conda route, as far as it can be tested without conda: a fresh virtual environment built only
from environment.yml's package list, without ecgflow installed, runs the tiny demo chain and gives the
same tables as the development environment. Slow (installs every dependency, from pip's cache when
it has them): deselected by default, run by .ci/run with ``-m conda_env``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT
from workflow_utils import TARGET, assert_same_tables, tiny_config, write_config

pytestmark = [pytest.mark.slow, pytest.mark.conda_env]


def environment_requirements() -> list[str]:
    """environment.yml's packages as pip requirements (conda-forge and PyPI share these names)."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    reqs = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            reqs += dep["pip"]
        elif dep.partition("=")[0] not in ("python", "pip"):
            name, _, version = dep.partition("=")
            reqs.append(f"{name}=={version}")
    return reqs


def test_environment_file_runs_the_workflow_without_ecgflow_installed(workflow, done, tmp_path):
    env_dir = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", *environment_requirements()],
                             capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-3000:]
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    clean["PATH"] = f"{env_dir / 'bin'}:{clean['PATH']}"

    def run_in_env(*args, cwd=tmp_path):
        return subprocess.run([str(python), *args], capture_output=True, text=True, env=clean, cwd=cwd)

    assert run_in_env("-c", "import ecgflow").returncode != 0, "ecgflow must not be installed in the fresh environment"
    every_module = ("import importlib, pkgutil, sys; sys.path.insert(0, sys.argv[1]); import ecgflow; "
                    "[importlib.import_module(m.name) for m in pkgutil.walk_packages(ecgflow.__path__, 'ecgflow.')]")
    imported = run_in_env("-c", every_module, str(workflow))
    assert imported.returncode == 0, f"a runtime dependency is missing from environment.yml:\n{imported.stderr[-3000:]}"
    workdir = write_config(tmp_path / "run", tiny_config())
    chain = run_in_env("-m", "snakemake", "-s", str(workflow / "Snakefile"), "-d", str(workdir), "--cores", "2", TARGET)
    assert chain.returncode == 0, chain.stdout[-4000:] + chain.stderr[-4000:]
    assert_same_tables(done / "results", workdir / "results")
