"""Scale of the detection chain and the report tables on a generated dataset the size of CPSC 2021.

The dataset ``scale``: up to 1,500 generated records (``d0001``...: the demo generator's records, 20
minutes at 250 Hz: CPSC 2021's size and record length) as WFDB files read like mitdb, the default
config's detectors and grid, the real datasets' tolerances (2, 4, 10, 30 s). Records are generated
(in this process), then tidied, detected and scored by the workflow (``snakemake --cores``), into a
cache folder, so each record is computed once: a record's files do not depend on how many records
there are. Only the first ``--scored`` records are generated and go through the per-record stages
(all 1,500 take hours on 2 cores); a count above that reuses their metrics under new record names
(said in the ``note``).

For each count of ``--records``:

- ``detect_record``, ``score_record`` (counts up to ``--scored``): jobs, wall time as the sum of the
  jobs' own seconds (their Snakemake benchmark files) over the cores (the records were computed in
  this or an earlier run), and the largest job's peak RSS;
- ``report_tables``: :func:`ecgflow.report.tables.write_report_tables` on the first N metrics tables in
  a process of its own: its wall time and peak RSS (``ru_maxrss``); with ``--reference REV``, the same
  for that commit's code (``report_tables (REV)``) at the counts of ``--reference-records``, whose grid
  summary, best configurations and study must equal this tree's.

Writes results/benchmarks/scale.parquet (records, rule, jobs, wall_s, peak_rss_mb, note) and prints it.

    .venv/bin/python benchmarks/scale.py [--records 100 300 1000 1500] [--scored 100]
        [--reference REV --reference-records 100 300] [--cores 2] [--cache DIR]
"""

from __future__ import annotations

import argparse
import os
from multiprocessing import Pool
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from ecgflow.demo.records import write_demo_record
from ecgflow.parquet import write_parquet
from reference import TABLES, assert_same_tables, reference_tree, report_tables

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
N_RECORDS, DURATION_S, FS, SEED, TOLERANCES = 1500, 1200, 250, 2026, [2, 4, 10, 30]
DATASET = "scale"
OUTPUT = ROOT / "results" / "benchmarks" / "scale.parquet"

def record_names(n: int) -> list[str]:
    return [f"d{i:04d}" for i in range(1, n + 1)]


def _generate(args) -> None:
    folder, name = args
    write_demo_record(folder, name, seed=SEED, duration_s=DURATION_S, fs=FS)


def generate(folder: Path, names: list[str], cores: int) -> float:
    """Write the WFDB records ``names`` that ``folder`` lacks; returns the seconds it took."""
    todo = [n for n in names if not all((folder / f"{n}.{ext}").exists() for ext in ("hea", "dat", "atr"))]
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with Pool(cores) as pool:
        pool.map(_generate, [(folder, n) for n in todo], chunksize=1)
    return time.perf_counter() - t0


def workflow_config(folder: Path, n_scored: int) -> dict:
    """The repository's config with the dataset ``scale`` (the records in ``folder``, read like mitdb),
    its first ``n_scored`` records used, scored at :data:`TOLERANCES`."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config.update(dataset=DATASET, data_dir=None, records=record_names(n_scored),
                  datasets={DATASET: {"data_dir": str(folder)}})
    config["evaluation"] = {**config["evaluation"], "tolerances_s": TOLERANCES}
    return config


def per_record_stages(cache: Path, n_scored: int, cores: int) -> float:
    """Tidy, detect and score the first ``n_scored`` records in ``cache`` (those already there are
    kept); returns the wall time of the Snakemake run."""
    (cache / "config").mkdir(parents=True, exist_ok=True)
    config = workflow_config(cache / "wfdb", n_scored)
    (cache / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    targets = [f"results/{DATASET}/metrics/{r}.parquet" for r in record_names(n_scored)]
    t0 = time.perf_counter()
    proc = subprocess.run([PY, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(cache), "--rerun-triggers",
                           "mtime", "--cores", str(cores), *targets],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode:
        sys.exit(f"snakemake failed:\n{proc.stdout[-4000:]}")
    return time.perf_counter() - t0


def job_figures(cache: Path, rule: str, records: list[str]) -> tuple[float, float]:
    """Summed seconds and largest peak RSS (MB) of a rule's jobs on ``records`` (benchmark files)."""
    frames = [pd.read_csv(cache / "results" / "benchmarks" / DATASET / rule / f"{r}.tsv", sep="\t") for r in records]
    table = pd.concat(frames, ignore_index=True)
    return float(table["s"].sum()), float(table["max_rss"].max())


def metrics_paths(cache: Path, n: int, n_scored: int) -> list[Path]:
    """The metrics tables of the first ``n`` records: the scored ones, then copies of them under the
    names dNNNN (made once, in ``cache``/replicas)."""
    names = record_names(max(n, n_scored))
    scored = [cache / "results" / DATASET / "metrics" / f"{r}.parquet" for r in names[:n_scored]]
    paths = scored[:n]
    for i in range(n_scored, n):
        path = cache / "replicas" / f"{names[i]}.parquet"
        if not path.exists():
            table = pq.read_table(scored[i % n_scored])
            column = table.schema.get_field_index("record")
            table = table.set_column(column, table.schema.field(column),
                                     pa.array([names[i]] * table.num_rows, table.schema.field(column).type))
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path)
        paths.append(path)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, nargs="+", default=[100, 300, 1000, 1500])
    ap.add_argument("--scored", type=int, default=None, help="records through the per-record stages "
                    "(default: the largest count)")
    ap.add_argument("--reference", default=None, help="a commit whose report tables run beside this tree's")
    ap.add_argument("--reference-records", type=int, nargs="*", default=[100, 300])
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=ROOT / "results" / "benchmarks" / "scale_cache")
    args = ap.parse_args()
    n_scored = min(args.scored or max(args.records), N_RECORDS)
    cache = args.cache.resolve()
    reference = reference_tree(args.reference, cache) if args.reference else None
    seconds = generate(cache / "wfdb", record_names(n_scored), args.cores)
    print(f"generated the records of {n_scored} not cached: {seconds:.0f} s", flush=True)
    wall = per_record_stages(cache, n_scored, args.cores)
    print(f"per-record stages of the {n_scored} records not cached: {wall:.0f} s", flush=True)
    rows = []

    def add(n, rule, jobs, wall_s, peak, note=""):
        rows.append({"records": n, "rule": rule, "jobs": jobs, "wall_s": wall_s, "peak_rss_mb": peak, "note": note})
        print(f"{n:6d} {rule:22s} {jobs:6d} {wall_s:9.1f} s {peak:8.0f} MB  {note}", flush=True)

    for n in sorted(args.records):
        names = record_names(n)
        if n <= n_scored:
            for rule, bench in (("detect_record", "detect"), ("score_record", "evaluate")):
                seconds, peak = job_figures(cache, bench, names)
                add(n, rule, n, seconds / args.cores, peak, f"sum of the jobs' seconds / {args.cores} cores")
        paths = metrics_paths(cache, n, n_scored)
        note = "" if n <= n_scored else (f"{n - n_scored} of the {n} metrics tables are copies of the first "
                                         f"{n_scored} records' under new names")
        with tempfile.TemporaryDirectory(prefix="ecgflow-scale-") as tmp:
            figures = report_tables(paths, ROOT, Path(tmp) / "tree", DATASET)
            add(n, "report_tables", 1, figures["wall_s"], figures["peak_rss_mb"], note)
            if reference is not None and n in args.reference_records:
                figures = report_tables(paths, reference, Path(tmp) / "reference", DATASET)
                add(n, f"report_tables ({args.reference})", 1, figures["wall_s"], figures["peak_rss_mb"], note)
                assert_same_tables(Path(tmp) / "tree", Path(tmp) / "reference", f"{n} records")
    table = pd.DataFrame(rows)
    write_parquet(table, OUTPUT, {"n_generated": N_RECORDS, "duration_s": DURATION_S, "records_scored": n_scored,
                                  "cores": args.cores, "load_average": os.getloadavg()[0]})
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
