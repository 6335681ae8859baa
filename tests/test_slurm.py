"""The demo detection chain submitted through the SLURM profile to a real single-node SLURM on localhost."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from conftest import ROOT, run
from workflow_utils import TARGET, assert_same_tables, tiny_config, write_config

SLURM_LOCAL = ROOT.parent / "shared" / "tools" / "slurm-local.sh"

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.slow,
    pytest.mark.skipif(not SLURM_LOCAL.exists(), reason=f"no local SLURM tool at {SLURM_LOCAL}"),
    pytest.mark.skipif(os.geteuid() != 0, reason="bringing up a local SLURM needs root"),
    pytest.mark.skipif(shutil.which("apt-get") is None, reason="the local SLURM is installed with apt-get"),
]


@pytest.fixture(scope="module")
def slurm():
    """A running single-node SLURM, brought down again afterwards."""
    if subprocess.run(["dpkg", "-s", "slurm-wlm", "slurmdbd", "munge", "mariadb-server"], capture_output=True).returncode:
        subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True)
    up = subprocess.run(["bash", str(SLURM_LOCAL), "up"], capture_output=True, text=True)
    if up.returncode:
        pytest.fail(f"slurm-local.sh up failed:\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}")
    yield {"SLURM_ACCOUNT": "smk", "SLURM_PARTITION": "debug"}
    subprocess.run(["bash", str(SLURM_LOCAL), "down"], capture_output=True)


def test_slurm_run_matches_local_run(slurm, workflow, done, tmp_path, monkeypatch):
    for key, value in slurm.items():
        monkeypatch.setenv(key, value)
    workdir = write_config(tmp_path / "slurm", tiny_config())
    proc = run(workflow, workdir, TARGET, "--profile", str(workflow / "profiles" / "slurm"), "--jobs", "4")
    assert "sbatch" in proc.stdout or "SLURM" in proc.stdout
    assert_same_tables(done / "results", workdir / "results")
    accounting = subprocess.run(["sacct", "-n", "-X", "-o", "JobName%60,State"], capture_output=True, text=True).stdout
    assert "COMPLETED" in accounting
