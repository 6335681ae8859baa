# Evaluation: one job per record scores every pair and grid combination of its detections file at
# every tolerance, policy and timing.

EVALUATE_TARGETS = expand(f"{RES}/metrics/{{record}}.parquet", record=DETECT_RECORDS)
EVALUATION = canonical(evaluation_settings(config["evaluation"], DATASET))
EVALUATION_PARAMS = json.dumps(EVALUATION, sort_keys=True)


rule score_record:
    input:
        unpack(score_inputs),
    output:
        f"{RES}/metrics/{{record}}.parquet",
    log:
        log_path("evaluate", "{record}"),
    benchmark:
        benchmark_path("evaluate", "{record}")
    conda:
        "../environment.yml"
    params:
        dataset=DATASET,
        evaluation=EVALUATION_PARAMS,
        config_hash=lambda w: config_hash(detect_setups(w), EVALUATION),
        code=code_hash("scripts/evaluate.py"),
    script:
        "../scripts/evaluate.py"
