# Shared definitions: validated config, the record list, the (detector, stream) pairs of each record,
# and the params (canonical config parts, code hashes) that decide what reruns.
import ast
import functools
import hashlib
import json
import re
from pathlib import Path

from snakemake.utils import validate

from ecgflow.config_check import check_config, typed_overrides
from ecgflow.evaluation import evaluation_settings
from ecgflow.record_jobs.detect import record_pairs, record_setups
from ecgflow.sources import dataset_spec, has_signal, list_records, signal_files
from ecgflow.training.targets import FIGURE_TITLES, figure_outputs

typed_overrides(config, f"{workflow.basedir}/config/schema/config.schema.yaml")
validate(config, "../config/schema/config.schema.yaml", set_default=True)
check_config(config)

DATASET = config["dataset"]
SPEC = dataset_spec(DATASET)
RES = f"results/{DATASET}"

if DATASET == "demo":
    RAW = f"{RES}/raw"
    RECORDS = [f"d{i:02d}" for i in range(1, config["demo"]["n_records"] + 1)]
    SIGNAL_RECORDS = list(RECORDS)
else:
    if not config["data_dir"]:
        raise ValueError(f"config key 'data_dir': required for dataset {DATASET!r} (the folder of its WFDB records)")
    RAW = config["data_dir"]
    RECORDS = list_records(DATASET, RAW) if Path(RAW).is_dir() else []  # empty until `download` fetches it
    SIGNAL_RECORDS = [r for r in RECORDS if has_signal(RAW, r)]
if config["records"]:
    unknown = sorted(set(config["records"]) - set(RECORDS))
    if unknown:
        raise ValueError(f"config key 'records': {unknown} not found in {RAW}")
    RECORDS = [r for r in RECORDS if r in config["records"]]
    SIGNAL_RECORDS = [r for r in SIGNAL_RECORDS if r in config["records"]]
ANNOTATION_RECORDS = [r for r in RECORDS if r not in SIGNAL_RECORDS]

# record -> the configured (detector, stream) pairs that run on it (the ecg stream needs a signal)
RECORD_PAIRS = {record: record_pairs(config["detectors"], record in SIGNAL_RECORDS) for record in RECORDS}
DETECT_RECORDS = [r for r in RECORDS if RECORD_PAIRS[r]]


def targets(files):
    """Input function of a target rule: ``files``, or an error when the dataset's folder is missing."""

    def files_of_dataset(wildcards):
        if DATASET != "demo" and not Path(RAW).is_dir():
            raise ValueError(
                f"config key 'data_dir': {RAW} is not a folder (`snakemake download` fetches {DATASET} there)"
            )
        return files

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


def log_path(rule, *wildcards):
    """Log file of a job: results/logs/{dataset}/{rule}/{wildcards...}.log."""
    return str(Path("results", "logs", DATASET, rule, *wildcards)) + ".log"


def benchmark_path(rule, *wildcards):
    """Snakemake's time and memory record of a job: results/benchmarks/{dataset}/{rule}/{wildcards...}.tsv."""
    return str(Path("results", "benchmarks", DATASET, rule, *wildcards)) + ".tsv"


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


def raw_files(record):
    """The WFDB files a record is read from: annotations, and for a record with a signal its
    header and the signal files that header names (read from the header: call it from input
    functions only, so that a parse reads no header)."""
    exts = dict.fromkeys([SPEC.rhythm_ext, SPEC.beat_ext])
    files = [f"{RAW}/{record}.{ext}" for ext in exts]
    if record in SIGNAL_RECORDS:
        signals = [f"{record}.dat"] if DATASET == "demo" else signal_files(RAW, record)
        files = [f"{RAW}/{record}.hea", *(f"{RAW}/{name}" for name in signals), *files]
    return files


def raw_inputs(wildcards):
    """Input function: :func:`raw_files` of the job's record."""
    return raw_files(wildcards.record)


def detect_setups(wildcards):
    """The setups of exactly the pairs that run on this record, keyed "<detector>/<stream>"."""
    return record_setups(config["detectors"], wildcards.record in SIGNAL_RECORDS)


def detect_inputs(wildcards):
    """The tidy signal when the ecg stream runs on the record, the beats table when a beat stream does."""
    streams = {s for _, s in RECORD_PAIRS[wildcards.record]}
    inputs = {}
    if "ecg" in streams:
        inputs["tidy"] = f"{RES}/tidy/{wildcards.record}.parquet"
    if streams - {"ecg"}:
        inputs["beats"] = f"{RES}/beats/{wildcards.record}.parquet"
    return inputs


def score_inputs(wildcards):
    """The record's detections and events; for cpsc2021 also its beats (the CPSC 2021 score needs them)."""
    inputs = {
        "detections": f"{RES}/detections/{wildcards.record}.parquet",
        "events": f"{RES}/events/{wildcards.record}.parquet",
    }
    if DATASET == "cpsc2021":
        inputs["beats"] = f"{RES}/beats/{wildcards.record}.parquet"
    return inputs
