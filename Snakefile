# ecgflow: WFDB or EDF records -> tidy Parquet -> detector grids -> tolerance evaluation -> report tables,
# and tidy data -> classifier training. See README.md; config in config/config.yaml.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/detect.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"
include: "rules/episodes.smk"
include: "rules/train.smk"


rule all:
    default_target: True
    input:
        targets(TIDY_TARGETS),
        targets(RECORD_CHECK_TARGETS),
        targets(REPORT_TARGETS),
        targets(TRANSFER_TARGETS),
        targets(EPISODE_TARGETS),
        targets(EPISODE_FIGURES),
        targets(OUTCOME_TARGETS),
        TRAIN_TARGETS,


rule tidy:
    input:
        targets(TIDY_TARGETS),
        targets(RECORD_CHECK_TARGETS),


rule detect:
    input:
        targets(DETECT_TARGETS),


rule evaluate:
    input:
        targets(EVALUATE_TARGETS),


rule report:
    input:
        targets(REPORT_TARGETS),
        targets(TRANSFER_TARGETS),
        targets(EPISODE_TARGETS),
        targets(EPISODE_FIGURES),
        targets(OUTCOME_TARGETS),


rule train:
    input:
        TRAIN_TARGETS,
