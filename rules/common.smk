# Shared definitions: validated config, the record list, and the (detector, stream, record) jobs.
import hashlib
import re
import json
from pathlib import Path

from snakemake.utils import validate

from ecgflow.grid import canonical_stream_grid
from ecgflow.sources import dataset_spec, has_signal, list_records
from ecgflow.streams import BEAT_STREAMS, STREAMS


validate(config, "../config/schema/config.schema.yaml", set_default=True)

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

DETECT_JOBS = [
    (detector, stream, record)
    for detector, spec in sorted(config["detectors"].items())
    for stream in sorted(spec["streams"])
    for record in (RECORDS if stream in BEAT_STREAMS else SIGNAL_RECORDS)
]


def targets(files):
    """Input function of a target rule: ``files``, or an error when the dataset's folder is missing."""

    def files_of_dataset(wildcards):
        if DATASET != "demo" and not Path(RAW).is_dir():
            raise ValueError(f"config key 'data_dir': {RAW} is not a folder (`snakemake download` fetches {DATASET} there)")
        return files

    return files_of_dataset


def with_report(outputs, category):
    """Output dict with its figures (keys ``fig_*``) marked for `snakemake --report`."""
    return {
        key: report(path, caption=f"../report/train_{key[4:]}.rst", category=category) if key.startswith("fig_") else path
        for key, path in outputs.items()
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


def one_of(names):
    """Wildcard constraint matching exactly these names."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


def source_hash(*parts):
    """Hash of ecgflow source (sub-packages or modules), passed as a param so that editing it reruns the jobs."""
    root = Path(workflow.basedir) / "ecgflow"
    digest = hashlib.sha256()
    for part in parts:
        path = root / part
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]:
            digest.update(file.relative_to(root).as_posix().encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


# Input functions and params of the stage rules.


def raw_inputs(wildcards):
    """The WFDB files a record is read from (the signal files are checked by the reader itself)."""
    exts = dict.fromkeys([SPEC.rhythm_ext, SPEC.beat_ext])
    if wildcards.record in SIGNAL_RECORDS:
        exts = {"hea": None, **exts}
    return [f"{RAW}/{wildcards.record}.{ext}" for ext in exts]


def detect_inputs(wildcards):
    """The ecg stream reads the tidy signal; the beat streams read the beats table."""
    if wildcards.stream == "ecg":
        return {"tidy": f"{RES}/tidy/{wildcards.record}.parquet"}
    return {"beats": f"{RES}/beats/{wildcards.record}.parquet"}


def detect_setup(wildcards):
    """Only this detector's semantics, its fixed params (the stream's own ``params`` override the
    detector's) and this stream's grid, in canonical form."""
    spec = config["detectors"][wildcards.detector]
    stream = dict(spec["streams"][wildcards.stream])
    key = f"detectors.{wildcards.detector}.streams.{wildcards.stream}"
    return canonical(
        {
            "semantics": spec.get("semantics", "river"),
            "params": {**(spec.get("params") or {}), **(stream.pop("params", None) or {})},
            "grid": canonical_stream_grid(stream, wildcards.detector, wildcards.stream, key),
        }
    )
