# AF episodes and burden per record from one two-state configuration (named in the config, or the
# nested pick of a study table), with a figure of each record's stream and episodes; labelled datasets
# get the true episodes and burden beside them.

EPISODES = config["episodes"]


EPISODE_STUDY = {name: episode_study(name) for name in DATASETS}
EPISODE_TABLES = {t: f"{RES}/tables/{t}.parquet" for t in ("episodes", "burden")}
EPISODE_TARGETS = [
    *(path.format(dataset=name) for name in DATASETS for path in EPISODE_TABLES.values()),
    *(f"results/{name}/tables/burden_summary.parquet" for name in SCORED),
]
EPISODE_FIGURES = record_files("figures/episodes", "detect_records", list(DATASETS), ext="png")


rule episode_tables:
    input:
        unpack(episode_inputs),
    output:
        **EPISODE_TABLES,
    log:
        log_path("episode_tables", "{dataset}"),
    benchmark:
        benchmark_path("episode_tables", "{dataset}")
    conda:
        "../environment.yml"
    params:
        dataset=lambda w: w.dataset,
        settings=canonical(EPISODES),
        code=code_hash("scripts/episode_tables.py"),
        extensions=EXTENSIONS,
    script:
        "../scripts/episode_tables.py"


use rule episode_tables as episode_tables_labelled with:
    output:
        **EPISODE_TABLES,
        burden_summary=f"{RES}/tables/burden_summary.parquet",
    wildcard_constraints:
        dataset=one_of(SCORED),


ruleorder: episode_tables_labelled > episode_tables


rule episode_figure:
    input:
        episodes=EPISODE_TABLES["episodes"],
        detections=f"{RES}/detections/{{record}}.parquet",
        beats=f"{RES}/beats/{{record}}.parquet",
        events=f"{RES}/events/{{record}}.parquet",
    output:
        report(
            f"{RES}/figures/episodes/{{record}}.png",
            caption="../report/episode_figure.rst",
            category="Outcomes: {dataset}",
            subcategory="AF episodes",
            labels={"record": "{record}"},
        ),
    log:
        log_path("episode_figure", "{record}"),
    benchmark:
        benchmark_path("episode_figure", "{record}")
    conda:
        "../environment.yml"
    params:
        labelled=lambda w: w.dataset in SCORED,
        code=code_hash("scripts/episode_figure.py"),
        extensions=EXTENSIONS,
    script:
        "../scripts/episode_figure.py"


OUTCOME_PAGES = {
    name: [
        "burden",
        *(["burden_summary"] if name in SCORED else []),
        *(["qrs_detection"] if name in QRS_MEASURED else []),
        *(["transfer"] if TRANSFER_SOURCES.get(name) else []),
        *(["skipped"] if name in SKIPPING else []),
    ]
    for name in DATASETS
}
OUTCOME_TARGETS = [f"results/{name}/report/{t}.html" for name, tables in OUTCOME_PAGES.items() for t in tables]


rule outcome_html:
    input:
        f"{RES}/tables/{{table}}.parquet",
    output:
        report(
            f"{RES}/report/{{table}}.html",
            caption="../report/table_outcomes.rst",
            category="Outcomes: {dataset}",
            labels={"table": "{table}"},
        ),
    log:
        log_path("outcome_html", "{table}"),
    benchmark:
        benchmark_path("outcome_html", "{table}")
    wildcard_constraints:
        table=one_of(["burden", "burden_summary", "qrs_detection", "transfer", "skipped"]),
    conda:
        "../environment.yml"
    params:
        code=code_hash("scripts/outcome_html.py"),
    script:
        "../scripts/outcome_html.py"
