# Detect stage: one job per record sweeps every configured (detector, stream) pair of that record
# over its whole grid, into one file.

DETECT_TARGETS = record_files("detections", "detect_records", list(DATASETS))


rule detect_record:
    input:
        unpack(detect_inputs),
    output:
        f"{RES}/detections/{{record}}.parquet",
    log:
        log_path("detect", "{record}"),
    benchmark:
        benchmark_path("detect", "{record}")
    conda:
        "../environment.yml"
    threads: 1
    params:
        dataset=lambda w: w.dataset,
        setups=detect_setups,
        code=code_hash("scripts/detect.py"),
        extensions=EXTENSIONS,
    script:
        "../scripts/detect.py"
