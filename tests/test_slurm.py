"""The demo detection chain submitted through the SLURM profile to a real single-node SLURM on localhost.

Opt-in: it runs only with ``ECGFLOW_TEST_SLURM=1`` (``make test-slurm``; ``.ci/run`` sets it), since it
installs SLURM, munge and MariaDB with apt-get when they are missing and starts their daemons. Afterwards
it puts the machine back as it found it: the daemons stopped, the SLURM configuration files restored (or
removed when there were none), the packages it installed purged, and the folders and system users they
created removed.
A ``slurm.conf`` left behind with its controller down would make every later ``snakemake`` command wait
about 9 s (the SLURM executor plugin's ``scontrol show config`` at start-up; README, SLURM section).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROOT, run
from workflow_utils import TARGET, assert_same_tables, tiny_config, write_config

SLURM_LOCAL = ROOT.parent / "shared" / "tools" / "slurm-local.sh"
OPT_IN = "ECGFLOW_TEST_SLURM"
PACKAGES = ("slurm-wlm", "slurmdbd", "munge", "mariadb-server")
# files slurm-local.sh writes over: restored afterwards, or removed when they did not exist
CONFIG_FILES = (Path("/etc/slurm/slurm.conf"), Path("/etc/slurm/slurmdbd.conf"))
# what slurm-local.sh and the packages create: removed afterwards when it did not exist before
CREATED_PATHS = tuple(Path(p) for p in (
    "/etc/slurm", "/var/lib/slurm", "/var/log/slurm", "/var/spool/slurmctld", "/var/spool/slurmd",
    "/etc/munge", "/var/lib/munge", "/var/log/munge", "/run/munge",
    "/etc/mysql", "/var/lib/mysql", "/var/log/mysql", "/run/mysqld", "/var/log/mariadb-slurm.log",
    "/tmp/slurm-local-apt.log",
))
ACCOUNTS = ("slurm", "munge", "mysql")  # system users and groups the packages create (purging keeps mysql)
DAEMONS = ("slurmstepd", "slurmd", "slurmctld", "slurmdbd", "mariadbd", "mysqld", "munged")  # stopped in this order
PID_FILES = tuple(Path(p) for p in (
    "/run/slurmd.pid", "/run/slurmctld.pid", "/run/slurmdbd.pid", "/run/mysqld/mysqld.pid", "/run/munge/munged.pid",
))


def _opted_in() -> bool:
    return os.environ.get(OPT_IN, "").strip().lower() not in ("", "0", "false", "no")


pytestmark = [
    pytest.mark.slurm,
    pytest.mark.slow,
    pytest.mark.skipif(not _opted_in(), reason=f"opt-in: set {OPT_IN}=1 (make test-slurm) to install and start a "
                       "local SLURM with apt-get (root); the machine is restored afterwards"),
    pytest.mark.skipif(not SLURM_LOCAL.exists(), reason=f"no local SLURM tool at {SLURM_LOCAL}"),
    pytest.mark.skipif(os.geteuid() != 0, reason="bringing up a local SLURM needs root"),
    pytest.mark.skipif(shutil.which("apt-get") is None, reason="the local SLURM is installed with apt-get"),
]


def _dpkg_states() -> dict[str, str]:
    """Package name -> dpkg status abbreviation (``ii`` installed, ``rc`` removed with its config left)."""
    out = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}\t${Package}\n"],
                         capture_output=True, text=True).stdout
    states = {}
    for line in out.splitlines():
        abbrev, _, name = line.partition("\t")
        if name:
            states[name] = abbrev.strip()
    return states


def _accounts() -> tuple[set[str], set[str]]:
    """Which of ACCOUNTS exist as users and as groups."""
    def exists(db, name):
        return subprocess.run(["getent", db, name], capture_output=True).returncode == 0
    return {a for a in ACCOUNTS if exists("passwd", a)}, {a for a in ACCOUNTS if exists("group", a)}


def _daemon_pids() -> dict[int, str]:
    """PID -> name of the running SLURM, MariaDB and munge daemons."""
    pids = {}
    for name in DAEMONS:
        out = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout
        pids.update((int(p), name) for p in out.split())
    return pids


def _stop(pids: dict[int, str]) -> None:
    """Stop these daemons by PID in slurm-local.sh's order (SIGTERM, SIGKILL after 20 s) and remove the
    PID files they leave (a stale /run/slurmctld.pid makes removing the slurmctld package fail)."""
    for name in DAEMONS:
        for pid in (p for p, n in pids.items() if n == name):
            try:
                os.kill(pid, signal.SIGTERM)
                for _ in range(80):
                    os.kill(pid, 0)
                    time.sleep(0.25)
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for pidfile in PID_FILES:
        try:
            os.kill(int(pidfile.read_text().split()[0]), 0)
        except (OSError, ValueError, IndexError):  # no file, no PID or no such process: stale
            pidfile.unlink(missing_ok=True)


def _restore(before: dict) -> list[str]:
    """Undo what bringing up the local SLURM changed; returns what could not be undone. Only the daemons
    started during the test are stopped (``slurm-local.sh down`` would stop any it finds)."""
    problems = []
    _stop({p: n for p, n in _daemon_pids().items() if p not in before["pids"]})
    for path, content in before["configs"].items():
        try:
            if content is None:
                path.unlink(missing_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content[0])
                os.chmod(path, content[1])
        except OSError as e:
            problems.append(f"{path}: {e}")
    states = _dpkg_states()
    added = sorted(p for p, s in states.items() if s.startswith("i") and not before["dpkg"].get(p, "").startswith("i"))
    if added:
        # purged (their configuration came with them), except those whose configuration files were left
        # from an earlier removal (dpkg state rc): removed only
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        remove = [p for p in added if before["dpkg"].get(p, "").startswith("r")]
        purge = [p for p in added if p not in remove]
        for verb, names in (("purge", purge), ("remove", remove)):
            if names:
                proc = subprocess.run(["apt-get", verb, "-y", "-q", *names], capture_output=True, text=True, env=env)
                if proc.returncode:
                    problems.append(f"apt-get {verb}: {proc.stdout[-500:]} {proc.stderr[-500:]}")
    for path in CREATED_PATHS:
        if path not in before["paths"] and (path.exists() or path.is_symlink()):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    users, groups = _accounts()
    for tool, names in (("userdel", users - before["users"]), ("groupdel", groups - before["groups"])):
        for name in sorted(names):
            if tool == "groupdel" and subprocess.run(["getent", "group", name], capture_output=True).returncode:
                continue  # userdel removed it with its user
            proc = subprocess.run([tool, name], capture_output=True, text=True)
            if proc.returncode:
                problems.append(f"{tool} {name}: {proc.stderr.strip()}")
    return problems


@pytest.fixture(scope="module")
def slurm():
    """A running single-node SLURM; afterwards the machine as it was before (see the module docstring)."""
    before = {
        "dpkg": _dpkg_states(),
        "pids": _daemon_pids(),
        "configs": {p: (p.read_bytes(), p.stat().st_mode & 0o7777) if p.exists() else None for p in CONFIG_FILES},
        "paths": {p for p in CREATED_PATHS if p.exists() or p.is_symlink()},
    }
    before["users"], before["groups"] = _accounts()
    try:
        if any(not before["dpkg"].get(p, "").startswith("i") for p in PACKAGES):
            subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True)
        up = subprocess.run(["bash", str(SLURM_LOCAL), "up"], capture_output=True, text=True)
        if up.returncode:
            pytest.fail(f"slurm-local.sh up failed:\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}")
        yield {"SLURM_ACCOUNT": "smk", "SLURM_PARTITION": "debug"}
    finally:
        problems = _restore(before)
        assert not problems, "restoring the machine after the SLURM test:\n" + "\n".join(problems)


def test_slurm_run_matches_local_run(slurm, workflow, done, tmp_path, monkeypatch):
    for key, value in slurm.items():
        monkeypatch.setenv(key, value)
    workdir = write_config(tmp_path / "slurm", tiny_config())
    proc = run(workflow, workdir, TARGET, "--profile", str(workflow / "profiles" / "slurm"), "--jobs", "4")
    assert "sbatch" in proc.stdout or "SLURM" in proc.stdout
    assert_same_tables(done / "results", workdir / "results")
    accounting = subprocess.run(["sacct", "-n", "-X", "-o", "JobName%60,State"], capture_output=True, text=True).stdout
    assert "COMPLETED" in accounting
