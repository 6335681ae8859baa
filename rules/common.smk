# Shared definitions: validated config, the record list, the (detector, stream) pairs of each record,
# and the params (canonical config parts, code hashes) that decide what reruns.
import ast
import functools
import hashlib
import json
import re
from pathlib import Path

from ecgflow.config_check import check_config, typed_overrides, validate_config
from ecgflow.evaluation import evaluation_settings
from ecgflow.extensions import extensions_hash, load_extensions
from ecgflow.record_jobs.detect import record_setups
from ecgflow.parquet import read_metadata
from ecgflow.plan import dataset_plan
from ecgflow.sources import selected_datasets, signal_files
from ecgflow.streams import STREAMS
from ecgflow.training.targets import FIGURE_TITLES, figure_outputs

typed_overrides(config, f"{workflow.basedir}/config/schema/config.schema.yaml")
validate_config(config, f"{workflow.basedir}/config/schema/config.schema.yaml")
load_extensions(config["extensions"])
check_config(config)
EXTENSIONS = extensions_hash(config["extensions"])

DATASETS = {
    name: dataset_plan(
        spec, config["detectors"], config["demo"]["n_records"], config["train"]["rhythm"]["source_dataset"]
    )
    for name, spec in selected_datasets(config).items()
}
ALL_RECORDS = sorted({r for plan in DATASETS.values() for r in plan.records})
RES = "results/{dataset}"


def per_dataset(pattern, records="records"):
    """``pattern`` (with {dataset}, and {record} when ``records`` names a plan's record list)
    expanded over every selected dataset."""
    out = []
    for name, plan in DATASETS.items():
        if records is None:
            out.append(pattern.format(dataset=name))
        else:
            out.extend(pattern.format(dataset=name, record=r) for r in getattr(plan, records))
    return out


def plan_of(wildcards):
    return DATASETS[wildcards.dataset]


def kept(dataset, records):
    """``records`` of ``dataset`` less those its tidy job left out (``bad_records: skip``); with skipping
    on, the answer waits for the tidy checkpoints."""
    plan = DATASETS[dataset]
    if plan.spec.bad_records != "skip":
        return list(records)
    out = []
    for r in records:
        tidy = checkpoints.tidy_record if r in plan.signal_records else checkpoints.tidy_annotations
        if "skipped" not in read_metadata(tidy.get(dataset=dataset, record=r).output.beats):
            out.append(r)
    return out


def record_files(kind, records="records", datasets=None, ext="parquet"):
    """Input function: the ``kind`` file of every kept record of the job's dataset (or of each of
    ``datasets``), e.g. ``results/mitdb/detections/100.parquet``."""

    def files(wildcards):
        names = [wildcards.dataset] if datasets is None else datasets
        return [
            f"results/{name}/{kind}/{r}.{ext}" for name in names for r in kept(name, getattr(DATASETS[name], records))
        ]

    return files


def targets(files):
    """Input function of a target rule: ``files`` (a list, or a function of the wildcards returning
    one), or an error when a dataset's folder is missing."""

    def files_of_dataset(wildcards):
        for name, plan in DATASETS.items():
            if not plan.exists:
                raise ValueError(
                    f"config key 'datasets.{name}.data_dir': {plan.raw} is not a folder"
                    + (f" (`snakemake download` fetches {name} there)" if plan.spec.physionet else "")
                )
        return files(wildcards) if callable(files) else files

    return files_of_dataset


def training_figures(task, name, category):
    """The figure outputs of a task, marked for `snakemake --report` with a name and a caption."""
    return {
        f: report(
            path,
            caption=f"../report/train_{f}.rst",
            category=category,
            labels={"model": name, "figure": FIGURE_TITLES[f]},
        )
        for f, path in figure_outputs(task, name).items()
    }


def canonical(value):
    """A value in canonical form (keys sorted at every level) so params compare equal across runs."""
    return json.loads(json.dumps(value, sort_keys=True))


def config_hash(*parts):
    """Short stable hash of config parts, stored in table metadata."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def log_path(rule, *wildcards, dataset="{dataset}"):
    """Log file of a job: results/logs/{dataset}/{rule}/{wildcards...}.log."""
    return str(Path("results", "logs", dataset, rule, *wildcards)) + ".log"


def benchmark_path(rule, *wildcards, dataset="{dataset}"):
    """Snakemake's time and memory record of a job: results/benchmarks/{dataset}/{rule}/{wildcards...}.tsv."""
    return str(Path("results", "benchmarks", dataset, rule, *wildcards)) + ".tsv"


def one_of(names):
    """Wildcard constraint matching exactly these names."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


def module_file(name):
    """The source file of ecgflow module ``name`` (dotted), or None when it is not one."""
    path = Path(workflow.basedir, *name.split("."))
    for file in (path.with_suffix(".py"), path / "__init__.py"):
        if file.is_file():
            return file
    return None


@functools.cache
def imported_modules(file, package):
    """The ecgflow modules that a source file imports (at any level, relative imports resolved
    against ``package``), each with the packages that importing it runs."""
    found = set()
    for node in ast.walk(ast.parse(Path(file).read_text(), filename=str(file))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] == "ecgflow" and module_file(name):
                parts = name.split(".")
                found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return frozenset(found)


@functools.cache
def code_hash(script):
    """Hash of a rule's script (path relative to the workflow folder) and of exactly the ecgflow
    modules it runs (its imports, followed through the package), passed as a param: editing any of
    them reruns the rule's jobs, editing other modules does not."""
    todo, seen = list(imported_modules(Path(workflow.basedir, script), "")), set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            file = module_file(name)
            package = name if file.name == "__init__.py" else name.rpartition(".")[0]
            todo.extend(imported_modules(file, package))
    digest = hashlib.sha256(Path(workflow.basedir, script).read_bytes())
    for name in sorted(seen):
        digest.update(name.encode())
        digest.update(module_file(name).read_bytes())
    return digest.hexdigest()[:16]


# Input functions and params of the stage rules.


def raw_files(dataset, record):
    """The files a record is read from: annotations, and for a record with a signal its header and
    the signal files that header names (read from the header: call it from input functions only, so
    that a parse reads no header), or its EDF file."""
    plan = DATASETS[dataset]
    files = [f"{plan.raw}/{record}.{ext}" for ext in plan.spec.annotation_exts() if ext != plan.spec.reference_beats]
    if plan.spec.reference_beats and Path(plan.raw, f"{record}.{plan.spec.reference_beats}").exists():
        files.append(f"{plan.raw}/{record}.{plan.spec.reference_beats}")
    if record in plan.signal_records:
        if plan.spec.format == "edf":
            return [f"{plan.raw}/{record}.edf", *files]
        signals = [f"{record}.dat"] if plan.spec.generated else signal_files(plan.raw, record)
        files = [f"{plan.raw}/{record}.hea", *(f"{plan.raw}/{name}" for name in signals), *files]
    return files


def raw_inputs(wildcards):
    """Input function: :func:`raw_files` of the job's record."""
    return raw_files(wildcards.dataset, wildcards.record)


def detect_setups(wildcards):
    """The setups of exactly the pairs that run on this record, keyed "<detector>/<stream>"."""
    plan = plan_of(wildcards)
    return record_setups(config["detectors"], wildcards.record in plan.signal_records, plan.rhythm)


def detect_inputs(wildcards):
    """The tables that the record's streams read: the tidy signal (ecg), the beats (every beat stream)."""
    kinds = {STREAMS[s].source for _, s in plan_of(wildcards).pairs[wildcards.record]}
    return {kind: f"results/{wildcards.dataset}/{kind}/{wildcards.record}.parquet" for kind in sorted(kinds)}


def score_inputs(wildcards):
    """The record's detections and events; with the CPSC 2021 score also its beats (the score needs them)."""
    folder = f"results/{wildcards.dataset}"
    inputs = {
        "detections": f"{folder}/detections/{wildcards.record}.parquet",
        "events": f"{folder}/events/{wildcards.record}.parquet",
    }
    if plan_of(wildcards).spec.cpsc_score:
        inputs["beats"] = f"{folder}/beats/{wildcards.record}.parquet"
    return inputs


def episode_study(dataset):
    """The study table that picks a dataset's episode configuration; None when the config names it."""
    if config["episodes"]["configuration"]:
        return None
    source = config["episodes"]["from_study"] or dataset
    if source == dataset and dataset not in SCORED:
        raise ValueError(
            f"config key 'episodes.configuration': dataset {dataset!r} has no rhythm labels, so no study of its own;"
            " name a configuration, or a dataset whose study picks it in episodes.from_study"
        )
    return f"results/{source}/tables/study.parquet"


def episode_inputs(wildcards):
    """The dataset's detections and beats, its events when labelled, and the study that picks."""
    inputs = {
        "detections": record_files("detections", "detect_records")(wildcards),
        "beats": record_files("beats", "detect_records")(wildcards),
    }
    if wildcards.dataset in SCORED:
        inputs["events"] = record_files("events", "detect_records")(wildcards)
    if EPISODE_STUDY[wildcards.dataset]:
        inputs["study"] = EPISODE_STUDY[wildcards.dataset]
        inputs["best_configs"] = EPISODE_STUDY[wildcards.dataset].replace("study.parquet", "best_configs.parquet")
    return inputs
