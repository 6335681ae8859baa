# Evaluation: one job per record scores every pair and grid combination of its detections file at
# every tolerance, policy and timing.

SCORED = {name: plan for name, plan in DATASETS.items() if plan.spec.labelled}
EVALUATE_TARGETS = record_files("metrics", "detect_records", list(SCORED))
EVALUATION = {
    name: canonical(evaluation_settings(config["evaluation"], plan.spec.tolerances_s))
    for name, plan in DATASETS.items()
}
EVALUATION_PARAMS = {name: json.dumps(e, sort_keys=True) for name, e in EVALUATION.items()}


rule score_record:
    input:
        unpack(score_inputs),
    output:
        f"{RES}/metrics/{{record}}.parquet",
    log:
        log_path("evaluate", "{record}"),
    benchmark:
        benchmark_path("evaluate", "{record}")
    wildcard_constraints:
        dataset=one_of(SCORED),
    conda:
        "../environment.yml"
    params:
        dataset=lambda w: w.dataset,
        evaluation=lambda w: EVALUATION_PARAMS[w.dataset],
        config_hash=lambda w: config_hash(detect_setups(w), EVALUATION[w.dataset]),
        code=code_hash("scripts/evaluate.py"),
        extensions=EXTENSIONS,
    script:
        "../scripts/evaluate.py"
