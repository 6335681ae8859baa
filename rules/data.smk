# Data stage: demo records are generated, real WFDB records are read; each becomes tidy Parquet.


wildcard_constraints:
    record=one_of(RECORDS),


localrules:
    download,


TIDY_TARGETS = [
    *expand(f"{RES}/tidy/{{record}}.parquet", record=SIGNAL_RECORDS),
    *expand(f"{RES}/{{kind}}/{{record}}.parquet", kind=("beats", "events"), record=RECORDS),
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
        log_path("demo_ptbxl", "ptbxl"),
    benchmark:
        benchmark_path("demo_ptbxl", "ptbxl")
    conda:
        "../environment.yml"
    params:
        seed=config["demo"]["seed"],
        n_records=config["demo"]["ptbxl_records"],
        code=code_hash("scripts/demo_ptbxl.py"),
    script:
        "../scripts/demo_ptbxl.py"


rule tidy_record:
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
        record=one_of(SIGNAL_RECORDS),
    conda:
        "../environment.yml"
    params:
        dataset=DATASET,
        raw=RAW,
        lead=config["lead"],
        max_flat_s=config["max_flat_s"],
        code=code_hash("scripts/tidy.py"),
    script:
        "../scripts/tidy.py"


rule tidy_annotations:
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
        record=one_of(ANNOTATION_RECORDS),
    conda:
        "../environment.yml"
    params:
        dataset=DATASET,
        raw=RAW,
        lead=config["lead"],
        max_flat_s=config["max_flat_s"],
        code=code_hash("scripts/tidy.py"),
    script:
        "../scripts/tidy.py"


rule download:
    """Fetch a PhysioNet database into data_dir (needs the internet; run it explicitly)."""
    output:
        directory(f"{RAW}/.download-{DATASET}"),
    log:
        log_path("download", DATASET),
    benchmark:
        benchmark_path("download", DATASET)
    conda:
        "../environment.yml"
    params:
        slug=SPEC.physionet,
    script:
        "../scripts/download.py"
