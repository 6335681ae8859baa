# Data stage: demo records are generated, real WFDB records are read; each becomes tidy Parquet.


wildcard_constraints:
    dataset=one_of(DATASETS),
    record=one_of(ALL_RECORDS),


localrules:
    download,


SIGNAL_NAMES = {r for plan in DATASETS.values() for r in plan.signal_records}
ANNOTATION_NAMES = {r for plan in DATASETS.values() for r in plan.annotation_records}
if SIGNAL_NAMES & ANNOTATION_NAMES:
    raise ValueError(
        f"records {sorted(SIGNAL_NAMES & ANNOTATION_NAMES)[:5]} have a signal in one selected dataset and not in"
        " another: run these datasets in separate invocations"
    )
GENERATED = [name for name, plan in DATASETS.items() if plan.spec.generated]
DOWNLOADS = {name: plan for name, plan in DATASETS.items() if plan.spec.physionet}
TIDY_TARGETS = [
    *per_dataset(f"{RES}/tidy/{{record}}.parquet", "signal_records"),
    *per_dataset(f"{RES}/beats/{{record}}.parquet"),
    *per_dataset(f"{RES}/events/{{record}}.parquet"),
]


rule demo_record:
    output:
        hea=f"{RES}/raw/{{record}}.hea",
        dat=f"{RES}/raw/{{record}}.dat",
        atr=f"{RES}/raw/{{record}}.atr",
    log:
        log_path("demo_record", "{record}"),
    benchmark:
        benchmark_path("demo_record", "{record}")
    wildcard_constraints:
        dataset=one_of(GENERATED),
    conda:
        "../environment.yml"
    params:
        seed=config["demo"]["seed"],
        duration_s=config["demo"]["duration_s"],
        fs=config["demo"]["fs"],
        code=code_hash("scripts/demo_record.py"),
    script:
        "../scripts/demo_record.py"


rule demo_ptbxl:
    output:
        database="results/demo/raw/ptbxl/ptbxl_database.csv",
        statements="results/demo/raw/ptbxl/scp_statements.csv",
        records=directory("results/demo/raw/ptbxl/records100"),
    log:
        log_path("demo_ptbxl", "ptbxl", dataset="demo"),
    benchmark:
        benchmark_path("demo_ptbxl", "ptbxl", dataset="demo")
    conda:
        "../environment.yml"
    params:
        seed=config["demo"]["seed"],
        n_records=config["demo"]["ptbxl_records"],
        code=code_hash("scripts/demo_ptbxl.py"),
    script:
        "../scripts/demo_ptbxl.py"


checkpoint tidy_record:
    input:
        raw_inputs,
    output:
        tidy=f"{RES}/tidy/{{record}}.parquet",
        beats=f"{RES}/beats/{{record}}.parquet",
        events=f"{RES}/events/{{record}}.parquet",
    log:
        log_path("tidy", "{record}"),
    benchmark:
        benchmark_path("tidy", "{record}")
    wildcard_constraints:
        record=one_of(SIGNAL_NAMES),
    conda:
        "../environment.yml"
    params:
        dataset=lambda w: w.dataset,
        reader=lambda w: plan_of(w).spec.reader(),
        raw=lambda w: plan_of(w).raw,
        max_flat_s=config["max_flat_s"],
        code=code_hash("scripts/tidy.py"),
    script:
        "../scripts/tidy.py"


checkpoint tidy_annotations:
    input:
        raw_inputs,
    output:
        beats=f"{RES}/beats/{{record}}.parquet",
        events=f"{RES}/events/{{record}}.parquet",
    log:
        log_path("tidy", "{record}"),
    benchmark:
        benchmark_path("tidy", "{record}")
    wildcard_constraints:
        record=one_of(ANNOTATION_NAMES),
    conda:
        "../environment.yml"
    params:
        dataset=lambda w: w.dataset,
        reader=lambda w: plan_of(w).spec.reader(),
        raw=lambda w: plan_of(w).raw,
        max_flat_s=config["max_flat_s"],
        code=code_hash("scripts/tidy.py"),
    script:
        "../scripts/tidy.py"


rule download:
    """Fetch the selected PhysioNet databases into their data_dir (needs the internet; run it explicitly)."""
    output:
        [directory(f"{plan.raw}/.download-{name}") for name, plan in DOWNLOADS.items()],
    log:
        log_path("download", "download", dataset="all"),
    benchmark:
        benchmark_path("download", "download", dataset="all")
    conda:
        "../environment.yml"
    params:
        slugs=[plan.spec.physionet for plan in DOWNLOADS.values()],
    script:
        "../scripts/download.py"


SKIPPING = [name for name, plan in DATASETS.items() if plan.spec.bad_records == "skip"]
QRS_MEASURED = [name for name, plan in DATASETS.items() if plan.spec.detects_beats and plan.spec.reference_beats]
RECORD_CHECK_TARGETS = [
    *(f"results/{name}/tables/skipped.parquet" for name in SKIPPING),
    *(f"results/{name}/tables/qrs_detection.parquet" for name in QRS_MEASURED),
]


rule skipped_records:
    input:
        lambda w: [f"results/{w.dataset}/beats/{r}.parquet" for r in plan_of(w).records],
    output:
        skipped=f"{RES}/tables/skipped.parquet",
    log:
        log_path("skipped_records", "{dataset}"),
    benchmark:
        benchmark_path("skipped_records", "{dataset}")
    wildcard_constraints:
        dataset=one_of(SKIPPING),
    conda:
        "../environment.yml"
    params:
        dataset=lambda w: w.dataset,
        code=code_hash("scripts/record_checks.py"),
    script:
        "../scripts/record_checks.py"


use rule skipped_records as qrs_detection with:
    input:
        record_files("beats"),
    output:
        qrs_detection=f"{RES}/tables/qrs_detection.parquet",
    log:
        log_path("qrs_detection", "{dataset}"),
    benchmark:
        benchmark_path("qrs_detection", "{dataset}")
    wildcard_constraints:
        dataset=one_of(QRS_MEASURED),
