# Evaluation: one job per (detector, stream, record) scores the whole grid of its detections file
# at every tolerance and policy.

EVALUATE_TARGETS = [f"{RES}/metrics/{d}/{s}/{r}.parquet" for d, s, r in DETECT_JOBS]
EVALUATION_PARAMS = json.dumps(canonical(config["evaluation"]), sort_keys=True)


rule score_detections:
    input:
        detections=f"{RES}/detections/{{detector}}/{{stream}}/{{record}}.parquet",
        events=f"{RES}/events/{{record}}.parquet",
    output:
        f"{RES}/metrics/{{detector}}/{{stream}}/{{record}}.parquet",
    wildcard_constraints:
        detector=one_of(sorted({d for d, _, _ in DETECT_JOBS})),
        stream=one_of(sorted({s for _, s, _ in DETECT_JOBS})),
    params:
        dataset=DATASET,
        evaluation=EVALUATION_PARAMS,
        config_hash=lambda w: config_hash(detect_setup(w), config["evaluation"]),
        code=source_hash("evaluation"),
    conda:
        "../environment.yml"
    log:
        log_path("evaluate", "{detector}", "{stream}", "{record}"),
    script:
        "../scripts/evaluate.py"
