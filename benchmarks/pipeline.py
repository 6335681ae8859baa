"""Throughput of the workflow: its wall time beside the same computation in one process, the cost of
one job, and how it scales to long records and many records.

Sections (``--only`` picks some; every one by default):

- ``chain``: for afdb and mitdb from ../shared/data (default config and grid, every configured pair but
  the rhythm model's ``p_af``, which trains a model first: benchmarks/rhythm.py), the data stage first
  (untimed), then ``snakemake`` from the tidy tables to the report tables with ``--cores 2``; then the
  same detect, score and tables computation in one Python process, in the same run. Figures: both wall
  times, their ratio, Snakemake's start-up (a rerun with nothing to do, and the import of Snakemake
  alone), hours of ECG per core-minute, each rule's largest peak RSS (its jobs' benchmark files). The
  two sets of tables must be equal. With ``--reference REV``, that commit's workflow runs the same
  chain after this tree's: its wall time and peak RSS per rule, the ratios, and its report tables must
  equal this tree's.
- ``overhead``: the wall time that one job adds (Snakemake's bookkeeping, interpreter start, script
  preamble, imports, a Parquet write): N jobs that only import the detect job's modules and write a
  file, minus the run with nothing to do, per job; also with imports of pyarrow alone, and the
  ``python -X importtime`` total of each job's modules.
- ``scale``: generated demo records (8 x 24 h and 8 x 6 h at 250 Hz) through the detection chain with
  a small grid (one threshold and window per pair, min-gaps 0 and 8 s): wall time per hour of ECG
  and the largest peak RSS of any job, from the rules' benchmark files.
- ``dag``: a 1,000-record dataset (headers and empty files only: all the DAG needs): the dry run's
  wall time, and the number of cluster jobs that Snakemake schedules through the SLURM profile for
  the per-record stage (its first wave, read from its log; stand-in SLURM commands, stopped then).

Writes results/benchmarks/pipeline.parquet (one row per figure; a run of some sections keeps the
other sections' rows) and prints it.

    .venv/bin/python benchmarks/pipeline.py [--only chain overhead scale dag] [--datasets afdb mitdb]
        [--reference REV]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml
from snakemake.utils import validate

from ecgflow.parquet import read_metadata, write_parquet
from reference import TABLES, assert_same_tables, reference_tree

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PY = sys.executable
rows: list[dict] = []


def record(section: str, dataset: str, figure: str, value: float, unit: str, note: str = "") -> None:
    rows.append({"section": section, "dataset": dataset, "figure": figure, "value": float(value), "unit": unit,
                 "note": note})
    print(f"{section:9s} {dataset:8s} {figure:34s} {value:12.3f} {unit:10s} {note}", flush=True)


def children_cpu() -> float:
    """CPU seconds (user + system) of every finished child process and their descendants so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def snakemake_cmd(workdir: Path, *args: str, snakefile: Path = ROOT / "Snakefile") -> list[str]:
    """The command line of a Snakemake run of ``snakefile`` in ``workdir``."""
    return [PY, "-m", "snakemake", "-s", str(snakefile), "-d", str(workdir), *args]


def snakemake(workdir: Path, *args: str, check: bool = True, env: dict | None = None, root: Path = ROOT):
    """Wall time and output of a Snakemake run of ``root``'s workflow (its CPU time: :func:`children_cpu`
    around it)."""
    cmd = snakemake_cmd(workdir, *args, snakefile=root / "Snakefile")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env={**os.environ, **(env or {})})
    if check and proc.returncode:
        raise RuntimeError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-4000:]}")
    return time.perf_counter() - t0, proc.stdout


def workdir_with(path: Path, root: Path = ROOT, **config) -> Path:
    """A fresh workdir at ``path`` whose config is ``root``'s with ``config`` merged in."""
    base = yaml.safe_load((root / "config" / "config.yaml").read_text())
    for key, value in config.items():
        if isinstance(value, dict):
            base[key] = {**base.get(key, {}), **value}
        else:
            base[key] = value
    shutil.rmtree(path, ignore_errors=True)
    (path / "config").mkdir(parents=True)
    (path / "config" / "config.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    return path


IN_PROCESS = """
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
from pathlib import Path
from ecgflow.record_jobs.detect import record_setups, write_detections
from ecgflow.record_jobs.score import write_metrics
from ecgflow.evaluation import evaluation_settings
from ecgflow.sources import dataset_spec
from ecgflow.report.tables import write_report_tables
cfg, res, out = json.loads({config!r}), Path({res!r}), Path({out!r})
evaluation = evaluation_settings(cfg["evaluation"], dataset_spec(cfg["dataset"]).tolerances_s)
metrics = []
for rec in sorted(p.stem for p in (res / "beats").glob("*.parquet")):
    tidy = res / "tidy" / f"{{rec}}.parquet"
    tidy = tidy if tidy.exists() else None
    write_detections(record_setups(cfg["detectors"], tidy is not None), out / "detections" / f"{{rec}}.parquet",
                     dataset=cfg["dataset"], record=rec, tidy_path=tidy, beats_path=res / "beats" / f"{{rec}}.parquet")
    metrics.append(out / "metrics" / f"{{rec}}.parquet")
    write_metrics(out / "detections" / f"{{rec}}.parquet", res / "events" / f"{{rec}}.parquet", evaluation,
                  metrics[-1], {{"dataset": cfg["dataset"]}})
write_report_tables(metrics, {{t: str(out / "tables" / f"{{t}}.parquet") for t in {tables!r}}}, cfg["dataset"], "")
print(json.dumps({{"wall_s": time.perf_counter() - t0}}))
"""


def ecg_hours(res: Path) -> float:
    """Hours of ECG of a dataset's records (from the events tables' metadata)."""
    total = 0.0
    for path in (res / "events").glob("*.parquet"):
        meta = read_metadata(path)
        total += meta["n_samples"] / meta["fs"] / 3600
    return total


def import_time(module: str) -> float:
    """Wall time of a fresh interpreter importing ``module``."""
    t0 = time.perf_counter()
    subprocess.run([PY, "-c", f"import {module}"], check=True)
    return time.perf_counter() - t0


def workflow_chain(root: Path, work: Path, ds: str, data: Path) -> dict:
    """``root``'s workflow on dataset ``ds`` in ``work``, from the tidy tables to the report tables with
    ``--cores 2`` (the data stage first, untimed), without the rhythm model's ``p_af`` stream (which
    trains a model first: benchmarks/rhythm.py): wall and CPU seconds, jobs, and a rerun's wall time."""
    workdir_with(work, root, dataset=ds, data_dir=str(data / ds))
    cfg = yaml.safe_load((work / "config" / "config.yaml").read_text())
    cfg["detectors"]["hysteresis"]["streams"].pop("p_af", None)
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    snakemake(work, "--cores", "2", "tidy", root=root)
    targets = [f"results/{ds}/tables/{t}.parquet" for t in TABLES]
    n_jobs = len(re.findall(r"^\s*(?:local)?rule \w+:", snakemake(work, "-n", *targets, root=root)[1], re.M))
    cpu0 = children_cpu()
    wall, _ = snakemake(work, "--cores", "2", *targets, root=root)
    cpu = children_cpu() - cpu0
    idle, _ = snakemake(work, "--cores", "2", *targets, root=root)  # nothing left to do: start-up, parse and DAG
    return {"wall": wall, "cpu": cpu, "jobs": n_jobs, "idle": idle}


def chain(datasets: list[str], data: Path, scratch: Path, reference: str | None = None) -> None:
    ref_root = reference_tree(reference, scratch) if reference else None
    for ds in datasets:
        if not (data / ds).is_dir():
            print(f"chain: {data / ds} not found, skipped")
            continue
        work = scratch / ds
        run = workflow_chain(ROOT, work, ds, data)
        wall, cpu, n_jobs, idle = run["wall"], run["cpu"], run["jobs"], run["idle"]
        res = work / "results" / ds
        print(f"chain {ds}: workflow {wall:.1f} s, {n_jobs} jobs", flush=True)
        if ref_root is not None:
            ref = workflow_chain(ref_root, scratch / f"{ds}-reference", ds, data)
            assert_same_tables(res / "tables", scratch / f"{ds}-reference" / "results" / ds / "tables", ds)
            note = f"commit {ref_root.name.removeprefix('reference-')}, same data and config, run after this tree's"
            record("chain", ds, "reference_wall_s", ref["wall"], "s", note)
            record("chain", ds, "wall_vs_reference", wall / ref["wall"], "x", "this tree / reference, wall time")
            record("chain", ds, "cpu_vs_reference", cpu / ref["cpu"], "x", "this tree / reference, CPU time")
            for key, value in sorted(benchmark_peaks(scratch / f"{ds}-reference", ds).items()):
                record("chain", ds, f"reference_{key}", value, "MB", note)
        cfg = yaml.safe_load((work / "config" / "config.yaml").read_text())
        validate(cfg, str(ROOT / "config" / "schema" / "config.schema.yaml"), set_default=True)  # as the workflow does
        script = IN_PROCESS.format(root=str(ROOT), config=json.dumps(cfg), res=str(res), out=str(scratch / f"{ds}-inproc"),
                                   tables=TABLES)
        t0, cpu0 = time.perf_counter(), children_cpu()
        proc = subprocess.run([PY, "-c", script], capture_output=True, text=True)
        inproc, inproc_cpu = time.perf_counter() - t0, children_cpu() - cpu0
        if proc.returncode:
            raise RuntimeError(proc.stderr[-4000:])
        for t in TABLES:
            a = pd.read_parquet(res / "tables" / f"{t}.parquet")
            b = pd.read_parquet(scratch / f"{ds}-inproc" / "tables" / f"{t}.parquet")
            pd.testing.assert_frame_equal(a, b, check_exact=True, obj=t)
        hours = ecg_hours(res)
        n_records = len(list((res / "events").glob("*.parquet")))
        record("chain", ds, "workflow_wall_s", wall, "s", f"tidy tables -> report tables, --cores 2, {n_jobs} jobs")
        record("chain", ds, "in_process_wall_s", inproc, "s", "one process, one core, imports included")
        record("chain", ds, "ratio", wall / inproc, "x", "workflow / in-process, wall time")
        record("chain", ds, "startup_s", idle, "s", "a rerun with nothing to do: Snakemake's start-up, parse and DAG")
        record("chain", ds, "snakemake_import_s", import_time("snakemake.cli"), "s", "python -c 'import snakemake.cli'")
        record("chain", ds, "workflow_cpu_s", cpu, "s", "Snakemake and all its jobs")
        record("chain", ds, "in_process_cpu_s", inproc_cpu, "s")
        record("chain", ds, "cpu_ratio", cpu / inproc_cpu, "x", "workflow / in-process, CPU time (load-independent)")
        record("chain", ds, "load_average_1min", os.getloadavg()[0], "", "machine load at the end (other work slows both)")
        record("chain", ds, "records", n_records, "records")
        record("chain", ds, "ecg_hours_per_core_minute", hours / (wall * 2 / 60), "h/core-min", f"workflow ({hours:.1f} h of ECG)")
        record("chain", ds, "ecg_hours_per_core_minute_in_process", hours / (inproc / 60), "h/core-min", "in-process")
        for key, value in sorted(benchmark_peaks(work, ds).items()):
            record("chain", ds, key, value, "MB", "largest peak RSS of the rule's jobs (benchmark files)")


NOOP = """import sys
sys.path.insert(0, {root!r})
import pyarrow as pa
import pyarrow.parquet as pq
{imports}
pq.write_table(pa.table({{"x": [1]}}), snakemake.output[0])
"""


def overhead(scratch: Path, n_jobs: int = 20) -> None:
    for name, imports in {"detect_job_imports": "import ecgflow.record_jobs.detect",
                          "score_job_imports": "import ecgflow.record_jobs.score",
                          "pyarrow_only": ""}.items():
        work = scratch / f"overhead-{name}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        (work / "noop.py").write_text(NOOP.format(root=str(ROOT), imports=imports))
        (work / "Snakefile").write_text(f"rule all:\n    input: expand('out/{{i}}.parquet', i=range({n_jobs}))\n\n"
                                        "rule noop:\n    output: 'out/{i}.parquet'\n    script: 'noop.py'\n")
        cmd = snakemake_cmd(work, "--cores", "1", snakefile=work / "Snakefile")
        subprocess.run(cmd + ["out/0.parquet"], check=True, capture_output=True)  # warm caches
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        wall = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)  # nothing to do: start-up and DAG only
        idle = time.perf_counter() - t0
        record("overhead", "-", f"per_job_s_{name}", (wall - idle) / (n_jobs - 1), "s",
               f"{n_jobs - 1} jobs on one core, minus a run with nothing to do")
    for module in ("ecgflow.record_jobs.detect", "ecgflow.record_jobs.score", "ecgflow.tidy", "pandas", "numba", "pyarrow.parquet"):
        err = subprocess.run([PY, "-X", "importtime", "-c", f"import {module}"], capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)}).stderr
        total = max(int(line.split("|")[1]) for line in err.splitlines() if line.startswith("import time:") and "|" in line
                    and line.split("|")[1].strip().isdigit())
        record("overhead", "-", f"importtime_{module}", total / 1e6, "s", "python -X importtime, cumulative")


def benchmark_peaks(res_root: Path, dataset: str) -> dict[str, float]:
    """Largest max_rss (MB) per rule from the rules' benchmark files."""
    out = {}
    for path in (res_root / "results" / "benchmarks" / dataset).glob("*/*.tsv"):
        table = pd.read_csv(path, sep="\t")
        rule = path.parent.name
        out[f"{rule}_max_rss_mb"] = max(out.get(f"{rule}_max_rss_mb", 0.0), float(table["max_rss"].max()))
    return out


def scale(scratch: Path, hours_list=(6, 24)) -> None:
    detectors = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["detectors"]
    for spec in detectors.values():
        for grid in spec["streams"].values():
            grid["threshold"]["values"] = grid["threshold"]["values"][3:4]
            grid["window"]["values"] = grid["window"]["values"][:1]
            grid["min_gap_s"] = [0, 8]
    for hours in hours_list:
        work = workdir_with(scratch / f"scale-{hours}h", detectors=detectors,
                            demo={"n_records": 8, "duration_s": hours * 3600, "fs": 250})
        data_wall, _ = snakemake(work, "--cores", "2", "tidy")
        targets = [f"results/demo/metrics/d{i:02d}.parquet" for i in range(1, 9)]
        wall, _ = snakemake(work, "--cores", "2", *targets)
        total = 8 * hours
        record("scale", f"8x{hours}h", "data_stage_wall_s", data_wall, "s", "generate + tidy, --cores 2")
        record("scale", f"8x{hours}h", "detect_score_wall_s", wall, "s", "detect + score, --cores 2, small grid")
        record("scale", f"8x{hours}h", "detect_score_s_per_ecg_hour", wall / total, "s/h")
        for key, value in sorted(benchmark_peaks(work, "demo").items()):
            record("scale", f"8x{hours}h", key, value, "MB", "largest peak RSS of the rule's jobs (benchmark files)")
        shutil.rmtree(work / "results" / "demo" / "raw", ignore_errors=True)
        shutil.rmtree(work / "results" / "demo" / "tidy", ignore_errors=True)


FAKE_SLURM = {  # stand-ins: the run is stopped once Snakemake has scheduled the first wave
    "sbatch": "#!/bin/sh\ncat > /dev/null\necho 1\n",
    "sinfo": "#!/bin/sh\nexit 0\n",
    "sacct": "#!/bin/sh\nexit 0\n",
    "squeue": "#!/bin/sh\nexit 0\n",
    "scontrol": "#!/bin/sh\nexit 0\n",
}


def dag(scratch: Path, n_records: int = 1000) -> None:
    data = scratch / "dag-data"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    names = [f"r{i:04d}" for i in range(1, n_records + 1)]
    for name in names:  # a 24-h single-lead header, and empty files for what the DAG lists as inputs
        (data / f"{name}.hea").write_text(f"{name} 1 250 21600000\n{name}.dat 16 200 16 0 0 0 0 ECG\n")
        (data / f"{name}.dat").touch()
        (data / f"{name}.atr").touch()
    (data / "RECORDS").write_text("\n".join(names) + "\n")
    work = workdir_with(scratch / "dag", dataset="mitdb", data_dir=str(data))
    wall, out = snakemake(work, "-n", "--cores", "2", "report")
    n_jobs = len(re.findall(r"^\s*(?:local)?rule \w+:", out, re.M))
    record("dag", f"{n_records}rec", "dry_run_wall_s", wall, "s", f"{n_jobs} jobs, local")
    bin_dir = scratch / "fake-slurm"
    bin_dir.mkdir(exist_ok=True)
    for name, text in FAKE_SLURM.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    shutil.rmtree(work / ".snakemake", ignore_errors=True)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "SLURM_ACCOUNT": "bench", "SLURM_PARTITION": "bench"}
    cmd = snakemake_cmd(work, "--profile", str(ROOT / "profiles" / "slurm"), "--slurm-init-seconds-before-status-checks",
                        "600", "report")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    wave = None
    deadline = time.monotonic() + 300
    while wave is None and time.monotonic() < deadline:  # the first wave: every record's group is ready
        time.sleep(5)
        for log in (work / ".snakemake" / "log").glob("*.log"):
            if re.search(r"^Execute \d+ jobs", log.read_text(), re.M):
                time.sleep(10)  # the wave's jobs are listed after that line
                text = log.read_text()
                wave = int(re.search(r"^Execute (\d+) jobs", text, re.M).group(1)), text.count("Group job record")
    os.killpg(proc.pid, signal.SIGKILL)  # its submitted jobs never finish: SIGTERM would wait for them
    proc.wait()
    if wave is None:
        raise RuntimeError("the SLURM profile's run did not schedule its first wave within 300 s")
    record("dag", f"{n_records}rec", "cluster_jobs_per_record_stage", wave[0], "jobs",
           f"first wave scheduled through the SLURM profile ({wave[1]} group jobs of tidy, detect and score)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", choices=["chain", "overhead", "scale", "dag"],
                    default=["chain", "overhead", "scale", "dag"])
    ap.add_argument("--datasets", nargs="+", default=["afdb", "mitdb"])
    ap.add_argument("--reference", default=None, help="chain: a commit whose workflow runs the same chain too, "
                    "its report tables compared and its times beside this tree's")
    ap.add_argument("--scale-hours", nargs="+", type=int, default=[6, 24], help="record lengths of the scale runs")
    ap.add_argument("--data", type=Path, default=DATA, help="folder holding the datasets' folders")
    ap.add_argument("--scratch", type=Path, default=Path(tempfile.gettempdir()) / "ecgflow-pipeline-bench")
    args = ap.parse_args()
    args.scratch.mkdir(parents=True, exist_ok=True)
    if "overhead" in args.only:
        overhead(args.scratch)
    if "chain" in args.only:
        chain(args.datasets, args.data, args.scratch, args.reference)
    if "dag" in args.only:
        dag(args.scratch)
    if "scale" in args.only:
        scale(args.scratch, args.scale_hours)
    out = ROOT / "results" / "benchmarks" / "pipeline.parquet"
    table = pd.DataFrame(rows)
    if out.exists():  # keep the rows of the sections not run this time
        kept = pd.read_parquet(out)
        table = pd.concat([kept[~kept["section"].isin(args.only)], table], ignore_index=True)
    print(f"wrote {write_parquet(table, out)}")


if __name__ == "__main__":
    main()
