# Training: datasets built from the data stage (.npy + Parquet index), one training job per task.
#
# superclass: the PTB-XL-layout folder train.superclass.data_dir when set (outputs named "ptbxl"),
#   else the generated demo set when dataset is demo (named "demo"); otherwise the task is not a target.
# beats: the signal records of the first selected dataset with annotated beats that can be split (mitdb: de Chazal DS1/DS2; others: a seeded test set), validation
#   records chosen from the training side when the dataset is built; beat windows of both leads (X.npy,
#   the second lead read from the raw record) plus per-beat features (features.npy); not a target when
#   the records cannot be split (e.g. afdb, which has no signal).
# Figures: their own rules, drawn from the saved tables, so that a change to a plot does not retrain.
#
# GPUs: the train rules request `gpu: 1` unless train.device is "cpu". Locally an undeclared resource
# limit is unlimited (`snakemake --cores 2` does not wait for it; training then uses CUDA only if present);
# the SLURM executor turns it into a GPU request. Set train.device: cpu to run on CPU-only cluster nodes.
from ecgflow.training.targets import (
    rhythm_datasets,
    rhythm_source,
    beats_source,
    superclass_files,
    superclass_source,
    train_outputs,
)

TRAIN = config["train"]
TRAIN_GPU = 0 if TRAIN["device"] == "cpu" else 1
TRAIN_CODE = code_hash("scripts/train.py")
DATASET_CODE = code_hash("scripts/build_dataset.py")
SC_NAME, SC_FOLDER = superclass_source(TRAIN, next(iter(DATASETS)))
BEATS_DATASET, BEATS_SPLIT = beats_source(DATASETS, TRAIN)
BEATS_RECORDS = sorted(r for records in BEATS_SPLIT.values() for r in records)
BEATS_RES = f"results/{BEATS_DATASET}"
FIGURES_CODE = code_hash("scripts/train_figures.py")
TRAIN_TARGETS = [
    *(train_outputs("superclass", SC_NAME).values() if SC_NAME else []),
    *(figure_outputs("superclass", SC_NAME).values() if SC_NAME else []),
    *(train_outputs("beats", BEATS_DATASET).values() if BEATS_RECORDS else []),
    *(figure_outputs("beats", BEATS_DATASET).values() if BEATS_RECORDS else []),
]


if SC_NAME:

    rule build_superclass_dataset:
        input:
            superclass_files(SC_FOLDER),
            f"{SC_FOLDER}/records100",
        output:
            X=f"results/train/superclass/{SC_NAME}/dataset/X.npy",
            index=f"results/train/superclass/{SC_NAME}/dataset/index.parquet",
        log:
            log_path("build_superclass_dataset", SC_NAME, dataset=SC_NAME),
        benchmark:
            benchmark_path("build_superclass_dataset", SC_NAME, dataset=SC_NAME)
        conda:
            "../environment.yml"
        params:
            task="superclass",
            code=DATASET_CODE,
        script:
            "../scripts/build_dataset.py"

    rule train_superclass:
        input:
            X=rules.build_superclass_dataset.output.X,
            index=rules.build_superclass_dataset.output.index,
        output:
            **train_outputs("superclass", SC_NAME),
        log:
            log_path("train_superclass", SC_NAME, dataset=SC_NAME),
        benchmark:
            benchmark_path("train_superclass", SC_NAME, dataset=SC_NAME)
        conda:
            "../environment.yml"
        threads: TRAIN["threads"]
        resources:
            gpu=TRAIN_GPU,
        params:
            task="superclass",
            dataset=SC_NAME,
            train=canonical(TRAIN["superclass"]),
            seed=TRAIN["seed"],
            device=TRAIN["device"],
            code=TRAIN_CODE,
        script:
            "../scripts/train.py"

    rule train_figures_superclass:
        input:
            **{t: path for t, path in train_outputs("superclass", SC_NAME).items() if t != "model"},
            index=rules.build_superclass_dataset.output.index,
            X=rules.build_superclass_dataset.output.X,
        output:
            **training_figures("superclass", SC_NAME, "Superclass classifier"),
        log:
            log_path("train_figures_superclass", SC_NAME, dataset=SC_NAME),
        benchmark:
            benchmark_path("train_figures_superclass", SC_NAME, dataset=SC_NAME)
        conda:
            "../environment.yml"
        params:
            task="superclass",
            code=FIGURES_CODE,
        script:
            "../scripts/train_figures.py"


if BEATS_RECORDS:

    rule build_beats_dataset:
        input:
            tidy=expand(f"{BEATS_RES}/tidy/{{record}}.parquet", record=BEATS_RECORDS),
            beats=expand(f"{BEATS_RES}/beats/{{record}}.parquet", record=BEATS_RECORDS),
            headers=expand(f"{DATASETS[BEATS_DATASET].raw}/{{record}}.hea", record=BEATS_RECORDS),
            # the signal files whose second lead the dataset reads (an input function: a parse reads no header)
            signals=lambda wildcards: [
                f for r in BEATS_RECORDS for f in raw_files(BEATS_DATASET, r) if not f.endswith(".hea")
            ],
        output:
            X=f"results/train/beats/{BEATS_DATASET}/dataset/X.npy",
            features=f"results/train/beats/{BEATS_DATASET}/dataset/features.npy",
            index=f"results/train/beats/{BEATS_DATASET}/dataset/index.parquet",
        log:
            log_path("build_beats_dataset", BEATS_DATASET, dataset=BEATS_DATASET),
        benchmark:
            benchmark_path("build_beats_dataset", BEATS_DATASET, dataset=BEATS_DATASET)
        conda:
            "../environment.yml"
        params:
            task="beats",
            dataset=BEATS_DATASET,
            records=BEATS_RECORDS,
            window_s=[float(w) for w in TRAIN["beats"]["window_s"]],
            length=TRAIN["beats"]["length"],
            leads=TRAIN["beats"]["leads"],
            channels=TRAIN["beats"]["channels"],
            val_fraction=TRAIN["beats"]["val_fraction"],
            seed=TRAIN["seed"],
            code=DATASET_CODE,
        script:
            "../scripts/build_dataset.py"

    rule train_beats:
        input:
            X=rules.build_beats_dataset.output.X,
            features=rules.build_beats_dataset.output.features,
            index=rules.build_beats_dataset.output.index,
        output:
            **train_outputs("beats", BEATS_DATASET),
        log:
            log_path("train_beats", BEATS_DATASET, dataset=BEATS_DATASET),
        benchmark:
            benchmark_path("train_beats", BEATS_DATASET, dataset=BEATS_DATASET)
        conda:
            "../environment.yml"
        threads: TRAIN["threads"]
        resources:
            gpu=TRAIN_GPU,
        params:
            task="beats",
            dataset=BEATS_DATASET,
            train=canonical(TRAIN["beats"]),
            seed=TRAIN["seed"],
            device=TRAIN["device"],
            code=TRAIN_CODE,
        script:
            "../scripts/train.py"

    rule train_figures_beats:
        input:
            **{t: path for t, path in train_outputs("beats", BEATS_DATASET).items() if t != "model"},
        output:
            **training_figures("beats", BEATS_DATASET, "Heartbeat classifier"),
        log:
            log_path("train_figures_beats", BEATS_DATASET, dataset=BEATS_DATASET),
        benchmark:
            benchmark_path("train_figures_beats", BEATS_DATASET, dataset=BEATS_DATASET)
        conda:
            "../environment.yml"
        params:
            task="beats",
            code=FIGURES_CODE,
        script:
            "../scripts/train_figures.py"


# rhythm: a per-beat AF classifier over causal RR windows (ecgflow.training.rhythm), cross-fitted by record:
#   train_rhythm fits the K fold models of a dataset, rhythm_stream writes each record's P(AF) (the p_af
#   stream's table, read by the detect jobs) from the model of its fold (or, with train.rhythm.source_dataset,
#   the mean of that dataset's fold models), rhythm_beats the per-beat metrics beside cosen and pirr.
RHYTHM = TRAIN["rhythm"]
RHYTHM_CODE = code_hash("scripts/train_rhythm.py")
RHYTHM_DATASETS = rhythm_datasets(DATASETS)
RHYTHM_SOURCE = {name: rhythm_source(name, RHYTHM, DATASETS) for name in RHYTHM_DATASETS}
RHYTHM_MODELS = sorted(set(RHYTHM_SOURCE.values()))
TRAIN_TARGETS += [f"results/{name}/tables/rhythm_beats.parquet" for name in RHYTHM_DATASETS if name in SCORED]


rule train_rhythm:
    input:
        beats=record_files("beats"),
        events=record_files("events"),
    output:
        model="results/train/rhythm/{dataset}/model.pt",
        history="results/train/rhythm/{dataset}/history.parquet",
        folds="results/train/rhythm/{dataset}/folds.parquet",
    log:
        log_path("train_rhythm", "{dataset}"),
    benchmark:
        benchmark_path("train_rhythm", "{dataset}")
    wildcard_constraints:
        dataset=one_of(RHYTHM_MODELS),
    conda:
        "../environment.yml"
    threads: TRAIN["threads"]
    resources:
        gpu=TRAIN_GPU,
    params:
        dataset=lambda w: w.dataset,
        train=canonical({k: v for k, v in RHYTHM.items() if k not in ("source_dataset", "threshold")}),
        seed=TRAIN["seed"],
        device=TRAIN["device"],
        code=RHYTHM_CODE,
    script:
        "../scripts/train_rhythm.py"


rule rhythm_stream:
    input:
        beats=f"{RES}/beats/{{record}}.parquet",
        model=lambda w: f"results/train/rhythm/{RHYTHM_SOURCE[w.dataset]}/model.pt",
    output:
        f"{RES}/rhythm/{{record}}.parquet",
    log:
        log_path("rhythm_stream", "{record}"),
    benchmark:
        benchmark_path("rhythm_stream", "{record}")
    wildcard_constraints:
        dataset=one_of(RHYTHM_DATASETS),
    conda:
        "../environment.yml"
    threads: 1
    params:
        dataset=lambda w: w.dataset,
        source_dataset=lambda w: RHYTHM_SOURCE[w.dataset],
        code=code_hash("scripts/rhythm_stream.py"),
    script:
        "../scripts/rhythm_stream.py"


rule rhythm_beats:
    input:
        rhythm=record_files("rhythm", "detect_records"),
        beats=record_files("beats", "detect_records"),
        events=record_files("events", "detect_records"),
    output:
        "results/{dataset}/tables/rhythm_beats.parquet",
    log:
        log_path("rhythm_beats", "rhythm_beats"),
    benchmark:
        benchmark_path("rhythm_beats", "rhythm_beats")
    wildcard_constraints:
        dataset=one_of([name for name in RHYTHM_DATASETS if name in SCORED]),
    conda:
        "../environment.yml"
    params:
        dataset=lambda w: w.dataset,
        threshold=RHYTHM["threshold"],
        code=code_hash("scripts/rhythm_beats.py"),
    script:
        "../scripts/rhythm_beats.py"
