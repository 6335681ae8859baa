# Data stage: demo records are generated, real WFDB records are read; each becomes tidy Parquet.


wildcard_constraints:
    record=one_of(RECORDS),


TIDY_TARGETS = [
    *expand(f"{RES}/tidy/{{record}}.parquet", record=SIGNAL_RECORDS),
    *expand(f"{RES}/{{kind}}/{{record}}.parquet", kind=("beats", "events"), record=RECORDS),
]


rule demo_record:
    output:
        hea=f"{RES}/raw/{{record}}.hea",
        dat=f"{RES}/raw/{{record}}.dat",
        atr=f"{RES}/raw/{{record}}.atr",
    params:
        seed=config["demo"]["seed"],
        duration_s=config["demo"]["duration_s"],
        fs=config["demo"]["fs"],
    conda:
        "../environment.yml"
    log:
        log_path("demo_record", "{record}"),
    script:
        "../scripts/demo_record.py"


rule demo_ptbxl:
    output:
        database="results/demo/raw/ptbxl/ptbxl_database.csv",
        statements="results/demo/raw/ptbxl/scp_statements.csv",
    params:
        seed=config["demo"]["seed"],
        n_records=config["demo"]["ptbxl_records"],
    conda:
        "../environment.yml"
    log:
        log_path("demo_ptbxl", "ptbxl"),
    script:
        "../scripts/demo_ptbxl.py"


rule tidy_record:
    input:
        raw_inputs,
    output:
        tidy=f"{RES}/tidy/{{record}}.parquet",
        beats=f"{RES}/beats/{{record}}.parquet",
        events=f"{RES}/events/{{record}}.parquet",
    wildcard_constraints:
        record=one_of(SIGNAL_RECORDS),
    params:
        dataset=DATASET,
        raw=RAW,
        lead=config["lead"],
        max_flat_s=config["max_flat_s"],
    conda:
        "../environment.yml"
    log:
        log_path("tidy", "{record}"),
    script:
        "../scripts/tidy.py"


rule tidy_annotations:
    input:
        raw_inputs,
    output:
        beats=f"{RES}/beats/{{record}}.parquet",
        events=f"{RES}/events/{{record}}.parquet",
    wildcard_constraints:
        record=one_of(ANNOTATION_RECORDS),
    params:
        dataset=DATASET,
        raw=RAW,
        lead=config["lead"],
        max_flat_s=config["max_flat_s"],
    conda:
        "../environment.yml"
    log:
        log_path("tidy", "{record}"),
    script:
        "../scripts/tidy.py"


rule download:
    """Fetch a PhysioNet database into data_dir (needs the internet; run it explicitly)."""
    output:
        directory(f"{RAW}/.download-{DATASET}"),
    params:
        slug=SPEC.physionet,
    conda:
        "../environment.yml"
    log:
        log_path("download", DATASET),
    script:
        "../scripts/download.py"
