"""Shared test fixtures: paths, synthetic WFDB records, and a runner for Snakemake on tiny configs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import wfdb

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason=f"real PhysioNet data not found at {SHARED}")


def pytest_collection_modifyitems(items):
    """SLURM tests (opt-in, ``ECGFLOW_TEST_SLURM=1``) run last: they install and start a local SLURM,
    and until they have restored the machine a ``slurm.conf`` whose controller is down would make every
    Snakemake start wait about 9 s for the SLURM plugin's ``scontrol`` query (README, SLURM section)."""
    items.sort(key=lambda item: item.get_closest_marker("slurm") is not None)


def write_wfdb(folder: Path, name: str, n: int = 5000, fs: int = 250, rhythm=((0, "(N"), (2000, "(AFIB"), (3500, "(N")), signal=None):
    """A small two-lead WFDB record with beats every 200 samples (a 1 mV spike on a slow wave, so that
    the beats sit on QRS-like slopes) and the given rhythm marks."""
    folder.mkdir(parents=True, exist_ok=True)
    beats = np.arange(100, n - 50, 200)
    if signal is None:
        t = np.arange(n) / fs
        x = np.stack([np.sin(2 * np.pi * 1.2 * t), np.cos(2 * np.pi * 1.2 * t)], axis=1) * 0.2
        for offset, height in ((-1, 0.5), (0, 1.0), (1, 0.5)):
            x[beats + offset] += height
    else:
        x = signal
    wfdb.wrsamp(name, fs=fs, units=["mV", "mV"], sig_name=["MLII", "V1"], p_signal=x, fmt=["212", "212"], adc_gain=[200, 200], baseline=[0, 0], write_dir=str(folder))
    marks = np.array([s for s, _ in rhythm], dtype=np.int64)
    samples = np.concatenate([beats, marks])
    symbols = ["N"] * len(beats) + ["+"] * len(marks)
    notes = [""] * len(beats) + [r for _, r in rhythm]
    order = np.argsort(samples, kind="stable")
    wfdb.wrann(name, "atr", samples[order], np.array(symbols)[order], aux_note=list(np.array(notes, dtype=object)[order]), fs=fs, write_dir=str(folder))
    return folder / name


def snakemake(workdir: Path, *args: str, check: bool = True, snakefile: Path = ROOT / "Snakefile") -> subprocess.CompletedProcess:
    """Run this repository's workflow in ``workdir`` (config/config.yaml there); output in ``.stdout``."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "-d", str(workdir), "--cores", "2", *args]
    env = {**os.environ, "PYTHONPATH": str(snakefile.parent)}
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-6000:]}")
    return proc


WORKFLOW_FILES = ("Snakefile", "rules", "scripts", "ecgflow", "config/schema", "profiles", "report", "environment.yml")


@pytest.fixture(scope="session")
def workflow(tmp_path_factory) -> Path:
    """A copy of the workflow and package, so that tests may edit its code. The copy keeps the
    package's __pycache__ (mtimes kept): numba's compiled kernels load from it instead of compiling."""
    root = tmp_path_factory.mktemp("workflow")
    for name in WORKFLOW_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, root / name)
        elif src.exists():
            shutil.copy2(src, root / name)
    return root


def run(workflow: Path, workdir: Path, *args: str, check=True):
    return snakemake(workdir, *args, snakefile=workflow / "Snakefile", check=check)


@pytest.fixture(scope="session")
def done(workflow, tmp_path_factory) -> Path:
    """A finished tiny run of the detection chain."""
    from workflow_utils import TARGET, tiny_config, write_config

    workdir = write_config(tmp_path_factory.mktemp("done"), tiny_config())
    run(workflow, workdir, TARGET)
    return workdir
