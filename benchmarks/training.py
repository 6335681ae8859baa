"""Training benchmarks: network throughput, and the 5-seed inter-patient heartbeat study on mitdb.

``throughput``: samples per second of forward + backward + optimiser step, per network and device: CPU
always (``torch.set_num_threads(--threads)``, float32), CUDA when present (bf16 autocast, as in training);
random inputs of the tasks' shapes, a few warm-up steps, then the median of timed repeats. Writes
results/benchmarks/training.parquet (one row per network x device).

``study``: the beats task on mitdb, DS1 -> DS2 (de Chazal 2004), with the configuration's
``train.beats`` recipe and ``lead``: the records are read and tidied (cached in ``--work``), the dataset
is built, one model is trained per seed on ``--device``, and the DS2 figures of every seed, their mean and
standard deviation, the seed ensemble (mean of the seeds' probabilities) and de Chazal et al.'s linear
discriminant are written to ``--out`` (one row per source x class), and the ensemble's figures per DS2
record and class beside it (``<out>_records.parquet``: where each class's beats are found and missed).

``inner``: the same recipe judged on DS1 alone, as the recipe's choices were made (DS2 is never read into
the dataset's training, validation or test rows): four inner folds, each holding out 5 DS1 records as the
test set (:func:`inner_folds`; 20 of the 22 records are held out once), the validation records chosen
from the other 17 as in the study; one model per fold and seed. Writes every run's figures and their
mean and standard deviation to ``--out``.

``--set KEY=VALUE`` (repeatable) overrides a ``train.beats`` key of the configuration for ``study`` and
``inner`` (a candidate recipe); ``--device cuda`` trains there (the default, ``cpu``, is what the
training-time figure is measured on).

    python benchmarks/training.py [throughput] [--steps 10] [--threads 2]
    python benchmarks/training.py study --data ../shared/data/mitdb [--seeds 0 1 2 3 4] [--threads 2]
    python benchmarks/training.py inner --data ../shared/data/mitdb [--set balance=0.5] [--device cuda]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from ecgflow.beats import AAMI_CLASSES, AAMI_MACRO
from ecgflow.parquet import write_parquet
from ecgflow.sources import dataset_spec
from ecgflow.tidy import write_tidy
from ecgflow.training.datasets import (DS1, DS2, FEATURES, build_beats, choose_validation, class_counts,
                                      load_dataset, load_features, record_split)
from ecgflow.training.evaluate import ensemble_predictions, singlelabel_metrics
from ecgflow.training.models import build_model
from ecgflow.training.run import run_training
from ecgflow.training.train import TrainConfig, autocast_for, fit, predict, probabilities
from ecgflow.record_read import read_record

ROOT = Path(__file__).resolve().parents[1]
BEAT_SHAPE = (2, 128)
SHAPES = {"superclass": ((12, 1000), 64), "beats": (BEAT_SHAPE, 256)}  # input shape, batch size (config defaults)
# de Chazal, O'Dwyer, Reilly (2004), IEEE TBME 51(7), DS2 (their table): Se / +P per class, accuracy.
DE_CHAZAL_2004 = {"N": (0.869, 0.992), "S": (0.759, 0.385), "V": (0.777, 0.819), "F": (0.894, 0.086)}
DE_CHAZAL_ACCURACY = 0.862
INNER_FOLDS, INNER_TEST_RECORDS = 4, 5
STUDY_COLUMNS = ["source", "class", "sensitivity", "positive_predictivity", "fpr", "f1", "support", "accuracy",
                 "train_seconds", "best_epoch"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def throughput(task: str, device: torch.device, steps: int, warmup: int = 3, repeats: int = 3) -> dict:
    """Samples/s of training steps of ``task``'s network on ``device`` (median over ``repeats``)."""
    torch.manual_seed(0)
    shape, batch = SHAPES[task]
    extra = {"n_features": len(FEATURES)} if task == "beats" else {}
    model = build_model(task, in_channels=shape[0], **extra).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(batch, *shape, device=device)
    inputs = (x, torch.randn(batch, len(FEATURES), device=device)) if task == "beats" else (x,)
    if task == "superclass":
        y = (torch.rand(batch, 5, device=device) > 0.5).float()
        loss_fn = torch.nn.BCEWithLogitsLoss()
    else:
        y = torch.randint(0, 5, (batch,), device=device)
        loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad(set_to_none=True)
        with autocast_for(device):
            out = model(*inputs)
        loss = loss_fn((out[0] if isinstance(out, tuple) else out).float(), y)
        loss.backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    _sync(device)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        _sync(device)
        rates.append(steps * batch / (time.perf_counter() - start))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    return {"task": task, "device": device.type, "device_name": name, "batch_size": batch,
            "input_shape": "x".join(map(str, shape)), "precision": "bf16-autocast" if device.type == "cuda" else "fp32",
            "threads": torch.get_num_threads(), "steps": steps, "samples_per_s": statistics.median(rates),
            "samples_per_s_min": min(rates), "samples_per_s_max": max(rates)}


def tidy_mitdb(data_dir, work: Path, lead) -> dict[str, tuple[Path, Path, Path]]:
    """Tidy and beats tables of the DS1 and DS2 records (written once into ``work``), as ``build_beats``
    inputs."""
    spec, inputs = dataset_spec("mitdb"), {}
    for record in sorted(DS1 + DS2):
        tidy, beats, events = (work / kind / f"{record}.parquet" for kind in ("tidy", "beats", "events"))
        if not tidy.exists():
            write_tidy(read_record(spec, data_dir, record, lead=lead), "mitdb", beats, events, tidy)
        inputs[record] = (tidy, beats, Path(data_dir) / f"{record}.hea")
    return inputs


def study_rows(source: str, metrics: pd.DataFrame, **extra) -> pd.DataFrame:
    """The per-class, macro and micro rows of a metrics table in the study's columns."""
    m = metrics.set_index("class")
    rows = [{"source": source, "class": c, "sensitivity": m.loc[c, "recall"],
             "positive_predictivity": m.loc[c, "precision"], "fpr": m.loc[c, "fpr"], "f1": m.loc[c, "f1"],
             "support": int(m.loc[c, "support"]), "accuracy": m.loc["micro", "accuracy"], **extra}
            for c in [*AAMI_CLASSES, "macro", "micro"]]
    return pd.DataFrame(rows)


def record_rows(predictions: pd.DataFrame, classes=AAMI_CLASSES) -> pd.DataFrame:
    """Per test record and class (those among its beats or its predictions) of a predictions table
    (``record``, ``true``, ``predicted``): the beats of the class, how many of them were called it
    (``detected``, sensitivity ``se``, NaN without beats) and how many beats of other classes were
    called it (``false_positives``)."""
    rows = []
    for record, part in predictions.groupby("record", sort=True):
        for cls in [c for c in classes if c in set(part["true"]) | set(part["predicted"])]:
            is_class, called = part["true"] == cls, part["predicted"] == cls
            support, detected = int(is_class.sum()), int((is_class & called).sum())
            rows.append({"record": str(record), "class": cls, "support": support, "detected": detected,
                         "se": detected / support if support else float("nan"),
                         "false_positives": int((called & ~is_class).sum())})
    return pd.DataFrame(rows)


def de_chazal_rows() -> pd.DataFrame:
    """de Chazal et al. (2004) DS2 figures: Se, +P, F1 per class, macro/micro F1 left undefined."""
    rows = [{"source": "de Chazal 2004", "class": c, "sensitivity": se, "positive_predictivity": pp,
             "f1": 2 * se * pp / (se + pp), "accuracy": DE_CHAZAL_ACCURACY} for c, (se, pp) in DE_CHAZAL_2004.items()]
    rows.append({"source": "de Chazal 2004", "class": "macro", "accuracy": DE_CHAZAL_ACCURACY,
                 "f1": float(np.mean([r["f1"] for r in rows]))})
    return pd.DataFrame(rows)


def summarise(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation (ddof 1) over the seeds of every figure, per class."""
    numeric = ["sensitivity", "positive_predictivity", "fpr", "f1", "accuracy", "train_seconds", "best_epoch"]
    grouped = per_seed.groupby("class", sort=False)
    out = []
    for source, frame in (("mean", grouped[numeric].mean()), ("std", grouped[numeric].std(ddof=1))):
        frame = frame.reset_index()
        frame.insert(0, "source", source)
        frame["support"] = grouped["support"].first().to_numpy()
        out.append(frame)
    return pd.concat(out, ignore_index=True)


def recipe(config_path: Path, overrides: list[str]) -> tuple[dict, dict]:
    """``(config, train.beats)`` of the configuration, with ``KEY=VALUE`` overrides of ``train.beats``
    keys (values read as YAML)."""
    config = yaml.safe_load(config_path.read_text())
    params = dict(config["train"]["beats"])
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or key not in params:
            raise SystemExit(f"--set {item!r}: expected KEY=VALUE with KEY one of {sorted(params)}")
        params[key] = yaml.safe_load(value)
    TrainConfig.from_mapping(params, "train.beats")
    return config, params


def study(data_dir, seeds, threads: int, work: Path, out: Path, config_path: Path, overrides=(),
          device: str = "cpu") -> pd.DataFrame:
    """Run the mitdb seed study; returns (and writes to ``out``) its table."""
    config, params = recipe(config_path, list(overrides))
    lead = config["lead"]
    inputs = tidy_mitdb(data_dir, work, lead)
    dataset_dir = work / "dataset"
    index = build_beats(inputs, "mitdb", dataset_dir, params["window_s"], params["length"], params["val_fraction"],
                        config["train"]["seed"], leads=params["leads"], channels=params["channels"])
    tables, runs = [], []
    for seed in seeds:
        start = time.perf_counter()
        result = run_training("beats", dataset_dir, work / f"seed{seed}", params, seed=seed, device=device,
                              threads=threads, dataset="mitdb")
        seconds = time.perf_counter() - start
        best = int(result["history"].loc[result["history"]["best"], "epoch"].iloc[-1])
        tables.append(study_rows(f"seed {seed}", result["metrics"], train_seconds=seconds, best_epoch=best))
        runs.append(result["predictions"])
        print(tables[-1].loc[tables[-1]["class"].isin([*AAMI_MACRO, "macro"]), ["source", "class", "f1"]]
              .to_string(index=False), f"\n{seconds:.0f} s", flush=True)
    per_seed = pd.concat(tables, ignore_index=True)
    ensemble = ensemble_predictions(runs, AAMI_CLASSES)
    write_parquet(record_rows(ensemble), out.with_name(f"{out.stem}_records{out.suffix}"),
                  {"benchmark": "training study, per record", "source": f"ensemble of {len(seeds)} seeds"})
    labels = np.array([AAMI_CLASSES.index(c) for c in ensemble["true"]])
    probabilities = ensemble[[f"p_{c}" for c in AAMI_CLASSES]].to_numpy(np.float64)
    ensemble = study_rows(f"ensemble of {len(seeds)} seeds", singlelabel_metrics(labels, probabilities, AAMI_CLASSES))
    table = pd.concat([per_seed, summarise(per_seed), ensemble, de_chazal_rows()], ignore_index=True)
    table = table.reindex(columns=STUDY_COLUMNS).astype({"source": "str", "class": "str", "support": "float64"})
    val_records = sorted(index.loc[index["split"] == "val", "record"].unique())
    write_parquet(table, out, {"benchmark": "training study", "dataset": "mitdb", "split": "DS1 -> DS2",
                               "seeds": list(map(int, seeds)), "threads": threads, "device": device,
                               "train": params, "lead": lead, "val_records": val_records, "torch": torch.__version__,
                               "total_train_seconds": float(per_seed.groupby("source")["train_seconds"].first().sum())})
    return table


def inner_folds(counts: pd.DataFrame, n_folds: int = INNER_FOLDS, n_test: int = INNER_TEST_RECORDS,
                seed: int = 0) -> list[list[str]]:
    """Disjoint sets of ``n_test`` records (rows of ``counts``: beats per class), each chosen among the
    records not yet held out by :func:`choose_validation`, so that every class has its share of test beats."""
    folds: list[list[str]] = []
    for _ in range(n_folds):
        folds.append(choose_validation(counts.drop(index=[r for fold in folds for r in fold]), n_test, seed))
    return folds


def inner_study(data_dir, seeds, threads: int, work: Path, out: Path, config_path: Path, overrides=(),
                device: str = "cpu") -> pd.DataFrame:
    """Run the recipe on DS1's inner folds; returns (and writes to ``out``) its table."""
    config, params = recipe(config_path, list(overrides))
    lead, seed0 = config["lead"], config["train"]["seed"]
    dataset_dir = work / "dataset"
    build_beats(tidy_mitdb(data_dir, work, lead), "mitdb", dataset_dir, params["window_s"], params["length"],
                params["val_fraction"], seed0, leads=params["leads"], channels=params["channels"])
    X, index, meta = load_dataset(dataset_dir)
    features = load_features(dataset_dir, meta)
    index = index[index["record"].isin(DS1)].copy()
    counts = class_counts(index)
    cfg, tables, folds = TrainConfig.from_mapping(params, "train.beats"), [], inner_folds(counts, seed=seed0)
    for k, test in enumerate(folds):
        fold = index.assign(split=index["record"].map(record_split(counts, test, params["val_fraction"], seed0)))
        rows = fold.loc[fold["split"] == "test", "row"].to_numpy()
        for seed in seeds:
            start = time.perf_counter()
            result = fit("beats", X, fold, cfg, seed=seed, device=device, threads=threads, features=features)
            seconds = time.perf_counter() - start
            p = probabilities("beats", predict(result.model, X, rows, 512, result.device, features=features))
            metrics = singlelabel_metrics(fold.loc[fold["split"] == "test", "label"].to_numpy(), p, AAMI_CLASSES)
            tables.append(study_rows(f"fold {k} seed {seed}", metrics, train_seconds=seconds,
                                     best_epoch=result.best_epoch))
            print(tables[-1].loc[tables[-1]["class"].isin([*AAMI_MACRO, "macro"]), ["source", "class", "f1"]]
                  .to_string(index=False), flush=True)
    runs = pd.concat(tables, ignore_index=True)
    table = pd.concat([runs, summarise(runs)], ignore_index=True).reindex(columns=STUDY_COLUMNS)
    write_parquet(table.astype({"source": "str", "class": "str", "support": "float64"}), out,
                  {"benchmark": "training inner folds", "dataset": "mitdb", "split": "DS1 inner folds",
                   "folds": folds, "seeds": list(map(int, seeds)), "threads": threads, "device": device,
                   "train": params, "lead": lead, "torch": torch.__version__})
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.set_defaults(steps=10, threads=2, out="results/benchmarks/training.parquet")
    sub = parser.add_subparsers(dest="command")
    tp = sub.add_parser("throughput", help="samples/s per network and device (the default)")
    tp.add_argument("--steps", type=int, default=10)
    tp.add_argument("--threads", type=int, default=2)
    tp.add_argument("--out", default="results/benchmarks/training.parquet")
    for name, help_text, out in (
        ("study", "5-seed mitdb DS1 -> DS2 heartbeat study", "results/train/beats/mitdb/seed_study.parquet"),
        ("inner", f"the recipe on {INNER_FOLDS} inner folds of DS1 ({INNER_TEST_RECORDS} held-out records each)",
         "results/benchmarks/training_inner.parquet"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "mitdb"))
        p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--work", default="/tmp/ecgflow-mitdb-study")
        p.add_argument("--config", default=str(ROOT / "config" / "config.yaml"))
        p.add_argument("--out", default=out)
        p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a train.beats key of --config (repeatable)")
        p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.command in (None, "throughput"):
        devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
        table = pd.DataFrame([throughput(task, device, args.steps) for device in devices for task in SHAPES])
        write_parquet(table, Path(args.out), {"benchmark": "training", "torch": torch.__version__})
    else:
        run = study if args.command == "study" else inner_study
        table = run(args.data, args.seeds, args.threads, Path(args.work), Path(args.out), Path(args.config),
                    args.overrides, args.device)
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
