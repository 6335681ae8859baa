# Report: tables aggregated over records, figures, and the captions of `snakemake --report`.


report: "../report/workflow.rst"


REPORT_TABLES = {t: f"{RES}/tables/{t}.parquet" for t in ("detection_metrics", "grid_summary", "best_configs")}
REPORT_FIGURES = {f: f"{RES}/figures/{f}.png" for f in ("f1_heatmap", "pr_scatter", "delay_distribution", "record_detections")}
REPORT_TARGETS = [*REPORT_TABLES.values(), *REPORT_FIGURES.values()]


rule report_tables:
    input:
        EVALUATE_TARGETS,
    output:
        **REPORT_TABLES,
    params:
        dataset=DATASET,
        config_hash=config_hash(config["detectors"], config["evaluation"]),
        code=source_hash("report/tables"),
    conda:
        "../environment.yml"
    log:
        log_path("report_tables", DATASET),
    script:
        "../scripts/report_tables.py"


rule report_figures:
    input:
        grid_summary=REPORT_TABLES["grid_summary"],
        best_configs=REPORT_TABLES["best_configs"],
        detections=[f"{RES}/detections/{d}/{s}/{r}.parquet" for d, s, r in DETECT_JOBS],
        events=expand(f"{RES}/events/{{record}}.parquet", record=RECORDS),
        signals=expand(f"{RES}/tidy/{{record}}.parquet", record=SIGNAL_RECORDS),
        beats=expand(f"{RES}/beats/{{record}}.parquet", record=RECORDS),
    output:
        **{
            f: report(path, caption=f"../report/{f}.rst", category="Change detection", labels={"figure": f})
            for f, path in REPORT_FIGURES.items()
        },
    params:
        evaluation=EVALUATION_PARAMS,
        code=source_hash("report/figures", "evaluation"),
    conda:
        "../environment.yml"
    log:
        log_path("report_figures", DATASET),
    script:
        "../scripts/report_figures.py"
