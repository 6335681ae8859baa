"""Benchmark of the ``rhythm`` task on afdb: cross-fitted per-beat AF probabilities from RR intervals.

Reads the afdb annotation files of ../shared/data/afdb directly (``.qrs`` beats, ``.atr`` rhythm,
transitions convention), cross-fits the K fold models with the config's ``train.rhythm`` settings on
the CPU (``--threads``, default 2), and measures:

- the training time of all K folds (and the prediction time of every beat);
- out-of-fold per-beat AUROC, sensitivity, specificity and F1 of AF beats (AF or flutter) at the chosen
  threshold (``train.rhythm.threshold``), pooled and per record, beside the cosen (w 16) and pirr (w 8,
  100 ms) streams used as scores.

Targets: pooled AUROC >= 0.99, sensitivity and specificity >= 0.97, training of all folds within 15 min.
Writes results/benchmarks/rhythm.parquet (one row per stream and record, plus ``pooled``) and prints it.

    .venv/bin/python benchmarks/rhythm.py [--records 04015 04043 ...] [--threads 2] [--epochs N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import wfdb
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecgflow.rhythm import rhythm_episodes  # noqa: E402
from ecgflow.training.rhythm import beat_labels, beats_table, record_probabilities, train_crossfit  # noqa: E402

AFDB = ROOT.parent / "shared" / "data" / "afdb"


def afdb_record(name: str) -> dict:
    qrs = wfdb.rdann(str(AFDB / name), "qrs")
    atr = wfdb.rdann(str(AFDB / name), "atr")
    samples = np.unique(qrs.sample.astype(np.int64))
    marks = [(s, n) for s, n in zip(atr.sample, atr.aux_note) if n.strip()]
    n_samples = int(max(samples[-1], atr.sample.max())) + 2
    rh = rhythm_episodes([s for s, _ in marks], [n for _, n in marks], n_samples, "transitions")
    ev_s, _, to = rh.events()
    events = pd.DataFrame({"sample": ev_s, "rhythm_to": to})
    return {"record": name, "samples": samples, "fs": float(qrs.fs or 250), "labels": beat_labels(samples, events, rh.labels[0])}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", nargs="*")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--out", default=str(ROOT / "results" / "benchmarks" / "rhythm.parquet"))
    args = ap.parse_args()
    if not AFDB.exists():
        sys.exit(f"afdb not found at {AFDB}")
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    params = dict(config["train"]["rhythm"])
    if args.epochs:
        params["epochs"] = args.epochs
    names = args.records or sorted(p.stem for p in AFDB.glob("*.qrs"))
    records = [afdb_record(n) for n in names]
    print(f"{len(records)} records, {sum(len(r['samples']) for r in records)} beats, "
          f"{sum(int(r['labels'].sum()) for r in records)} in AF/AFL", flush=True)
    start = time.perf_counter()
    out = train_crossfit(records, params, seed=config["train"]["seed"], device="cpu", threads=args.threads,
                         log=lambda m: print(m, flush=True))
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    probs = {r["record"]: record_probabilities(out["checkpoint"], r["record"], r["samples"], r["fs"], args.threads)
             for r in records}
    predict_s = time.perf_counter() - start
    table = beats_table(records, probs, float(params.get("threshold", 0.5)))
    table["train_seconds"] = train_s
    table["predict_seconds"] = predict_s
    table["folds"] = int(max(out["checkpoint"]["folds"].values()) + 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(args.out, index=False)
    pd.set_option("display.width", 200)
    print(table.to_string(index=False))
    pooled = table[table["record"] == "pooled"].set_index("stream")
    print(f"\ntraining {train_s:.0f} s for {table['folds'].iloc[0]} folds, prediction {predict_s:.0f} s")
    p = pooled.loc["p_af"]
    print(f"p_af pooled: AUROC {p.auroc:.4f} (>= 0.99: {p.auroc >= 0.99}), Se {p.sensitivity:.4f}, "
          f"Sp {p.specificity:.4f} (>= 0.97: {min(p.sensitivity, p.specificity) >= 0.97}); "
          f"cosen AUROC {pooled.loc['cosen'].auroc:.4f}, pirr AUROC {pooled.loc['pirr'].auroc:.4f}")


if __name__ == "__main__":
    main()
