"""The real databases as a user runs them: one ``snakemake`` invocation over several datasets defined in
the config, with beats annotated and detected, AF burden, and a method chosen on afdb scored elsewhere.

Runs the workflow (default detectors and grids) in a scratch folder on ../shared/data with

    dataset: [mitdb, mitdb_detected, cpsc2021, cpsc2021_detected, afdb]
    datasets: {mitdb_detected: {base: mitdb, beats: detect}, cpsc2021_detected: {base: cpsc2021, beats: detect}}
    transfer: {from: [afdb]}

(without the rhythm model's ``p_af`` stream, which benchmarks/rhythm.py measures) and collects, per
dataset:

- ``study``: the nested leave-one-record-out pooled F1 (greedy matching; timing chosen per fold, and
  change times) at every tolerance, beside its chance level, with false alarms per hour;
- ``detected_vs_reference``: the same from detected beats, and its loss relative to reference beats;
- ``qrs``: gross sensitivity and positive predictivity of the detected beats (150 ms window);
- ``burden``: the absolute error of the estimated AF burden (median, 90th percentile) of the
  configuration the dataset's own study picks at 10 s, beside a method that always says 0;
- ``transfer``: afdb's pick scored on the others (pooled F1, chance, false alarms per hour).

Writes results/benchmarks/datasets.parquet (one row per figure) and prints it. About 10 minutes here.

    .venv/bin/python benchmarks/datasets.py [--keep DIR] [--cores 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

from ecgflow.parquet import write_parquet

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
DATASETS = ["mitdb", "mitdb_detected", "cpsc2021", "cpsc2021_detected", "afdb"]
TOLERANCE_S = 10.0
rows: list[dict] = []


def add(section, dataset, figure, value, tolerance_s=None, note=""):
    rows.append({"section": section, "dataset": dataset, "figure": figure, "tolerance_s": tolerance_s,
                 "value": float(value), "note": note})
    tol = "" if tolerance_s is None else f"{tolerance_s:g} s"
    print(f"{section:22s} {dataset:18s} {figure:36s} {tol:>5s} {float(value):10.4f} {note}", flush=True)


def config() -> dict:
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["detectors"]["hysteresis"]["streams"].pop("p_af")  # the rhythm model's stream: benchmarks/rhythm.py
    cfg.update(dataset=DATASETS, data_dir=None, transfer={"from": ["afdb"]},
               datasets={"mitdb": {"data_dir": str(DATA / "mitdb")}, "cpsc2021": {"data_dir": str(DATA / "cpsc2021")},
                         "afdb": {"data_dir": str(DATA / "afdb")},
                         "mitdb_detected": {"base": "mitdb", "beats": "detect"},
                         "cpsc2021_detected": {"base": "cpsc2021", "beats": "detect"}})
    return cfg


def targets() -> list[str]:
    out = []
    for name in DATASETS:
        out += [f"results/{name}/tables/{t}.parquet" for t in ("study", "burden", "burden_summary")]
        if name != "afdb":
            out.append(f"results/{name}/tables/transfer.parquet")
        if name.endswith("_detected"):
            out.append(f"results/{name}/tables/qrs_detection.parquet")
    return out


def collect(res: Path) -> None:
    studies = {}
    for name in DATASETS:
        study = pd.read_parquet(res / name / "tables" / "study.parquet")
        studies[name] = study = study[study["policy"] == "greedy"]
        for r in study[study["timing"].isin(["chosen", "change"])].itertuples():
            add(f"study ({r.timing})", name, "nested pooled F1", r.loro_pooled_f1, r.tolerance_s,
                f"chance {r.loro_pooled_f1_chance:.3f}, {r.loro_false_alarms_per_hour:.1f} false alarms/h, "
                f"pick {r.picked_detector}/{r.picked_stream}")
        summary = pd.read_parquet(res / name / "tables" / "burden_summary.parquet").set_index("method")
        for method in summary.index:
            for stat in ("median_abs_error", "p90_abs_error"):
                add("burden", name, f"{method}: {stat}", summary.loc[method, stat])
    for name in ("mitdb", "cpsc2021"):
        ref, det = (studies[n][studies[n]["timing"] == "chosen"].set_index("tolerance_s")["loro_pooled_f1"]
                    for n in (name, f"{name}_detected"))
        for tol in ref.index:
            loss = (ref[tol] - det[tol]) / ref[tol] if ref[tol] else float("nan")
            add("detected_vs_reference", name, "relative loss of nested pooled F1", loss, tol,
                f"reference {ref[tol]:.3f}, detected {det[tol]:.3f}")
        qrs = pd.read_parquet(res / f"{name}_detected" / "tables" / "qrs_detection.parquet").set_index("record")
        add("qrs", name, "gross sensitivity", qrs.loc["total", "sensitivity"], note=f"{int(qrs.loc['total', 'tp'])} beats")
        add("qrs", name, "gross positive predictivity", qrs.loc["total", "ppv"])
    for name in DATASETS:
        if name == "afdb":
            continue
        t = pd.read_parquet(res / name / "tables" / "transfer.parquet")
        t = t[(t["policy"] == "greedy") & (t["timing"] == "chosen")]
        for r in t.itertuples():
            add("transfer from afdb", name, "pooled F1", r.pooled_f1, r.tolerance_s,
                f"chance {r.pooled_f1_chance:.3f}, {r.false_alarms_per_hour:.1f} false alarms/h, own nested "
                f"{r.target_nested_pooled_f1:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (default: a temporary one)")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"{DATA} not found: this benchmark needs the real databases")
    with tempfile.TemporaryDirectory(prefix="ecgflow-datasets-") as tmp:
        work = args.keep or Path(tmp)
        (work / "config").mkdir(parents=True, exist_ok=True)
        (work / "config" / "config.yaml").write_text(yaml.safe_dump(config(), sort_keys=False))
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(work), "--cores",
                        str(args.cores), *targets()], check=True)
        add("run", "all", "wall time (s)", time.perf_counter() - start, note=f"{len(DATASETS)} datasets, one invocation")
        collect(work / "results")
    out = ROOT / "results" / "benchmarks" / "datasets.parquet"
    write_parquet(pd.DataFrame(rows), out, {"command": "benchmarks/datasets.py", "date": time.strftime("%Y-%m-%d")})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
