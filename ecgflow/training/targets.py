"""What the training rules build for a config: data sources, record splits and output paths."""

from __future__ import annotations

from ..errors import ConfigError, InputError
from .datasets import DS1, DS2, ptbxl_database_path, test_records

DEMO_PTBXL = "results/demo/raw/ptbxl"
_TABLES = ("history", "thresholds", "metrics", "predictions", "confusion")
TABLES = {"superclass": (*_TABLES, "attention"), "beats": _TABLES}
FIGURES = {"superclass": ("curves", "roc", "confusion", "attention"), "beats": ("curves", "roc", "confusion")}
FIGURE_TITLES = {"curves": "training curves", "roc": "ROC curves", "confusion": "confusion matrix",
                 "attention": "attention over test records"}


def superclass_source(train: dict, dataset: str) -> tuple[str | None, str | None]:
    """``(name, folder)`` of the superclass data: ``train.superclass.data_dir`` as ``ptbxl``, else the demo
    set as ``demo`` when the dataset is demo, else ``(None, None)`` (no superclass task)."""
    if train["superclass"].get("data_dir"):
        return "ptbxl", str(train["superclass"]["data_dir"]).rstrip("/")
    if dataset == "demo":
        return "demo", DEMO_PTBXL
    return None, None


def superclass_files(folder: str) -> list[str]:
    """The tables a real PTB-XL-layout folder is read from (``ptbxl_database.csv`` when neither exists)."""
    try:
        database = str(ptbxl_database_path(folder))
    except InputError:
        database = f"{folder}/ptbxl_database.csv"
    return [database, f"{folder}/scp_statements.csv"]


def beats_split(signal_records, train: dict, dataset: str) -> dict[str, list[str]]:
    """``{"train_side": [...], "test": [...]}`` records of the beats task (validation records are chosen
    from the training side when the dataset is built); ``{}`` when the records cannot be split."""
    records = [r for r in signal_records if dataset != "mitdb" or r in DS1 + DS2]
    try:
        train_side, test = test_records(records, train["beats"]["val_fraction"], train["seed"], dataset)
    except ValueError:
        return {}
    return {"train_side": train_side, "test": test}


def beats_source(plans: dict, train: dict) -> tuple[str | None, dict[str, list[str]]]:
    """``(dataset, split)`` of the beats task: the first of ``plans`` (name -> DatasetPlan) whose beats are
    annotated and whose signal records can be split (:func:`beats_split`); ``(None, {})`` when none can."""
    for name, plan in plans.items():
        if not plan.spec.detects_beats:
            split = beats_split(plan.signal_records, train, name)
            if split:
                return name, split
    return None, {}


def train_outputs(task: str, name: str) -> dict[str, str]:
    """Output files of a training job by name: the model and the tables."""
    folder = f"results/train/{task}/{name}"
    return {"model": f"{folder}/model.pt", **{t: f"{folder}/{t}.parquet" for t in TABLES[task]}}


def figure_outputs(task: str, name: str) -> dict[str, str]:
    """The figures drawn from a training job's tables, by name."""
    return {f: f"results/train/{task}/{name}/figures/{f}.png" for f in FIGURES[task]}


def rhythm_datasets(plans: dict) -> list[str]:
    """The datasets (name -> DatasetPlan) with a pair on a stream read from the rhythm tables (``p_af``)."""
    from ..streams import STREAMS

    return [name for name, plan in plans.items()
            if any(STREAMS[s].source == "rhythm" for pairs in plan.pairs.values() for _, s in pairs)]


def rhythm_source(dataset: str, rhythm: dict, plans: dict) -> str:
    """The dataset whose rhythm models score ``dataset``: ``train.rhythm.source_dataset``, else itself
    (cross-fitted); it must be selected and labelled."""
    source = rhythm.get("source_dataset") or dataset
    key = "train.rhythm.source_dataset"
    if source not in plans:
        raise ConfigError(key, f"{source!r} is not a selected dataset ({sorted(plans)}): select it too")
    if not plans[source].spec.labelled:
        why = "" if rhythm.get("source_dataset") else f" (the p_af stream of {dataset!r} needs one)"
        raise ConfigError(key, f"{source!r} has no rhythm labels to train on{why}: name a labelled dataset")
    return source
