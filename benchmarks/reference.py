"""Report tables by this tree's code or by an earlier commit's, in a process of their own, to compare
their time, memory and tables in the same benchmark run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("detection_metrics", "grid_summary", "best_configs", "study")

# the tree's ecgflow first on sys.path: write the report tables, print wall time and peak RSS as JSON
CHILD = """
import json, resource, sys, time
args = json.load(open(sys.argv[1]))
sys.path.insert(0, args["root"])
from ecgflow.report.tables import write_report_tables
t0 = time.perf_counter()
write_report_tables(args["paths"], args["outputs"], args["dataset"], "bench")
print(json.dumps({"wall_s": time.perf_counter() - t0,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def reference_tree(rev: str, scratch: Path) -> Path:
    """The files of commit ``rev`` (``git archive``) in ``scratch``/reference-<short hash>. Its Snakefile
    runs its own ``ecgflow`` (the scripts put their tree first on ``sys.path``), as :func:`report_tables`
    does."""
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev], check=True, capture_output=True,
                         text=True).stdout.strip()
    path = scratch / f"reference-{sha}"
    if not (path / "Snakefile").exists():
        path.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", sha], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(path)], input=archive, check=True)
    return path


def report_tables(paths: list[Path], root: Path, out: Path, dataset: str) -> dict:
    """Wall time and peak RSS (MB) of the report tables of the metrics tables ``paths`` (written to
    folder ``out``) by the code of the tree ``root``, in a process of its own."""
    out.mkdir(parents=True, exist_ok=True)
    args = {"paths": [str(p) for p in paths], "root": str(root), "dataset": dataset,
            "outputs": {k: str(out / f"{k}.parquet") for k in TABLES}}
    (out / "args.json").write_text(json.dumps(args))
    proc = subprocess.run([sys.executable, "-c", CHILD, str(out / "args.json")], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, cwd=out)
    if proc.returncode:
        sys.exit(f"report tables of {root} failed:\n{proc.stderr[-4000:]}")
    return json.loads([line for line in proc.stdout.splitlines() if line.startswith("{")][-1])


def assert_same_tables(a: Path, b: Path, what: str) -> None:
    """The grid summary, best configurations and study in folders ``a`` and ``b`` are equal, exactly
    (detection_metrics holds the same rows, which earlier code ordered differently)."""
    for t in TABLES[1:]:
        pd.testing.assert_frame_equal(pd.read_parquet(a / f"{t}.parquet"), pd.read_parquet(b / f"{t}.parquet"),
                                      check_exact=True, obj=f"{t} ({what})")
