# Report: tables aggregated over records, figures, and the captions of `snakemake --report`.


LANDING = "results/report/landing.rst"  # the answer, then report/workflow.rst (once the run has made it)


report: str(Path(LANDING).resolve()) if Path(LANDING).exists() else "../report/workflow.rst"


REPORT_TABLES = {t: f"{RES}/tables/{t}.parquet" for t in ("detection_metrics", "grid_summary", "best_configs", "study")}
CPSC_SCORED = [name for name, plan in SCORED.items() if plan.spec.cpsc_score]
# name shown in `snakemake --report` of each figure and HTML table (caption: report/<key>.rst)
FIGURE_NAMES = {
    "ranking": "Methods ranked",
    "f1_heatmap": "F1 over the grid",
    "pr_scatter": "Precision and recall of the grid",
    "f1_tolerance": "F1 against tolerance",
    "delay_distribution": "Detection delays",
    "record_detections": "One record: rhythms, stream and detections",
}
HTML_TABLE_NAMES = {"best_configs": "Best configurations", "grid_summary": "Grid summary", "study": "Study"}
REPORT_FIGURES = {f: f"{RES}/figures/{f}.png" for f in FIGURE_NAMES}
REPORT_HTML = {t: f"{RES}/report/{t}.html" for t in HTML_TABLE_NAMES}
REPORT_TARGETS = [
    *(path.format(dataset=name) for name in SCORED for path in (*REPORT_TABLES.values(), *REPORT_FIGURES.values())),
    *(path.format(dataset=name) for name in SCORED for path in REPORT_HTML.values()),
    *(f"results/{name}/tables/cpsc2021_score.parquet" for name in CPSC_SCORED),
    *([LANDING] if SCORED else []),
]


rule report_tables:
    input:
        record_files("metrics", "detect_records"),
    output:
        **REPORT_TABLES,
    log:
        log_path("report_tables", "{dataset}"),
    benchmark:
        benchmark_path("report_tables", "{dataset}")
    wildcard_constraints:
        dataset=one_of(set(SCORED) - set(CPSC_SCORED)),
    conda:
        "../environment.yml"
    params:
        dataset=lambda w: w.dataset,
        config_hash=lambda w: config_hash(config["detectors"], EVALUATION[w.dataset]),
        code=code_hash("scripts/report_tables.py"),
    script:
        "../scripts/report_tables.py"


use rule report_tables as report_tables_cpsc2021 with:
    output:
        **REPORT_TABLES,
        cpsc2021_score=f"{RES}/tables/cpsc2021_score.parquet",
    wildcard_constraints:
        dataset=one_of(CPSC_SCORED),


rule report_figures:
    input:
        grid_summary=REPORT_TABLES["grid_summary"],
        best_configs=REPORT_TABLES["best_configs"],
        study=REPORT_TABLES["study"],
        detections=record_files("detections", "detect_records"),
        events=record_files("events"),
        signals=record_files("tidy", "signal_records"),
        beats=record_files("beats"),
    output:
        **{
            f: report(
                path,
                caption=f"../report/{f}.rst",
                category="Change detection: {dataset}",
                subcategory="Figures",
                labels={"figure": FIGURE_NAMES[f]},
            )
            for f, path in REPORT_FIGURES.items()
        },
    log:
        log_path("report_figures", "{dataset}"),
    benchmark:
        benchmark_path("report_figures", "{dataset}")
    conda:
        "../environment.yml"
    params:
        evaluation=lambda w: EVALUATION_PARAMS[w.dataset],
        code=code_hash("scripts/report_figures.py"),
        extensions=EXTENSIONS,
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
                category="Change detection: {dataset}",
                subcategory="Tables",
                labels={"table": HTML_TABLE_NAMES[t]},
            )
            for t, path in REPORT_HTML.items()
        },
    log:
        log_path("report_html", "{dataset}"),
    benchmark:
        benchmark_path("report_html", "{dataset}")
    conda:
        "../environment.yml"
    params:
        dataset=lambda w: w.dataset,
        evaluation=lambda w: EVALUATION_PARAMS[w.dataset],
        code=code_hash("scripts/report_html.py"),
    script:
        "../scripts/report_html.py"


TRANSFER_SOURCES = {name: [s for s in config["transfer"]["from"] if s != name] for name in SCORED}
TRANSFER_TARGETS = [f"results/{name}/tables/transfer.parquet" for name, sources in TRANSFER_SOURCES.items() if sources]


rule transfer_table:
    input:
        sources=lambda w: [f"results/{s}/tables/study.parquet" for s in TRANSFER_SOURCES[w.dataset]],
        study=REPORT_TABLES["study"],
        metrics=record_files("metrics", "detect_records"),
    output:
        f"{RES}/tables/transfer.parquet",
    log:
        log_path("transfer_table", "{dataset}"),
    benchmark:
        benchmark_path("transfer_table", "{dataset}")
    wildcard_constraints:
        dataset=one_of(SCORED),
    conda:
        "../environment.yml"
    params:
        dataset=lambda w: w.dataset,
        sources=lambda w: TRANSFER_SOURCES[w.dataset],
        code=code_hash("scripts/transfer_table.py"),
    script:
        "../scripts/transfer_table.py"


rule report_landing:
    input:
        studies=[f"results/{name}/tables/study.parquet" for name in SCORED],
        template=f"{workflow.basedir}/report/workflow.rst",
    output:
        LANDING,
    log:
        log_path("report_landing", "landing", dataset="all"),
    benchmark:
        benchmark_path("report_landing", "landing", dataset="all")
    conda:
        "../environment.yml"
    params:
        datasets=list(SCORED),
        policy=config["evaluation"]["policies"][0],
        code=code_hash("scripts/report_landing.py"),
    script:
        "../scripts/report_landing.py"
