# Report: tables aggregated over records, figures, and the captions of `snakemake --report`.


report: "../report/workflow.rst"


REPORT_TABLES = {
    t: f"{RES}/tables/{t}.parquet"
    for t in ("detection_metrics", "grid_summary", "best_configs", "study")
    + (("cpsc2021_score",) if DATASET == "cpsc2021" else ())
}
# name shown in `snakemake --report` of each figure and HTML table (caption: report/<key>.rst)
FIGURE_NAMES = {
    "f1_heatmap": "F1 over the grid",
    "pr_scatter": "Precision and recall of the grid",
    "f1_tolerance": "F1 against tolerance",
    "delay_distribution": "Detection delays",
    "record_detections": "One record: rhythms, stream and detections",
}
HTML_TABLE_NAMES = {"best_configs": "Best configurations", "grid_summary": "Grid summary", "study": "Study"}
REPORT_FIGURES = {f: f"{RES}/figures/{f}.png" for f in FIGURE_NAMES}
REPORT_HTML = {t: f"{RES}/report/{t}.html" for t in HTML_TABLE_NAMES}
REPORT_TARGETS = [*REPORT_TABLES.values(), *REPORT_FIGURES.values(), *REPORT_HTML.values()]


rule report_tables:
    input:
        EVALUATE_TARGETS,
    output:
        **REPORT_TABLES,
    log:
        log_path("report_tables", DATASET),
    benchmark:
        benchmark_path("report_tables", DATASET)
    conda:
        "../environment.yml"
    params:
        dataset=DATASET,
        config_hash=config_hash(config["detectors"], EVALUATION),
        code=code_hash("scripts/report_tables.py"),
    script:
        "../scripts/report_tables.py"


rule report_figures:
    input:
        grid_summary=REPORT_TABLES["grid_summary"],
        best_configs=REPORT_TABLES["best_configs"],
        detections=DETECT_TARGETS,
        events=expand(f"{RES}/events/{{record}}.parquet", record=RECORDS),
        signals=expand(f"{RES}/tidy/{{record}}.parquet", record=SIGNAL_RECORDS),
        beats=expand(f"{RES}/beats/{{record}}.parquet", record=RECORDS),
    output:
        **{
            f: report(
                path,
                caption=f"../report/{f}.rst",
                category=f"Change detection: {DATASET}",
                subcategory="Figures",
                labels={"figure": FIGURE_NAMES[f]},
            )
            for f, path in REPORT_FIGURES.items()
        },
    log:
        log_path("report_figures", DATASET),
    benchmark:
        benchmark_path("report_figures", DATASET)
    conda:
        "../environment.yml"
    params:
        evaluation=EVALUATION_PARAMS,
        code=code_hash("scripts/report_figures.py"),
    script:
        "../scripts/report_figures.py"


rule report_html:
    input:
        best_configs=REPORT_TABLES["best_configs"],
        grid_summary=REPORT_TABLES["grid_summary"],
        study=REPORT_TABLES["study"],
    output:
        **{
            t: report(
                path,
                caption=f"../report/table_{t}.rst",
                category=f"Change detection: {DATASET}",
                subcategory="Tables",
                labels={"table": HTML_TABLE_NAMES[t]},
            )
            for t, path in REPORT_HTML.items()
        },
    log:
        log_path("report_html", DATASET),
    benchmark:
        benchmark_path("report_html", DATASET)
    conda:
        "../environment.yml"
    params:
        dataset=DATASET,
        evaluation=EVALUATION_PARAMS,
        code=code_hash("scripts/report_html.py"),
    script:
        "../scripts/report_html.py"
