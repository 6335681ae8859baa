# Training: datasets built from the data stage (.npy + Parquet index), one training job per task.
#
# superclass: the PTB-XL-layout folder train.superclass.data_dir when set (outputs named "ptbxl"),
#   else the generated demo set when dataset is demo (named "demo"); otherwise the task is not a target.
# beats: the dataset's signal records (mitdb: de Chazal DS1/DS2; others: seeded record-level split),
#   beat windows (X.npy) plus RR-interval features (rr.npy); not a target when the records cannot be
#   split (e.g. afdb, which has no signal).
#
# GPUs: the train rules request `gpu: 1` unless train.device is "cpu". Locally an undeclared resource
# limit is unlimited (`snakemake --cores 2` does not wait for it; training then uses CUDA only if present);
# the SLURM executor turns it into a GPU request. Set train.device: cpu to run on CPU-only cluster nodes.
from ecgflow.training.targets import beats_split, superclass_files, superclass_source, train_outputs

TRAIN = config["train"]
TRAIN_GPU = 0 if TRAIN["device"] == "cpu" else 1
TRAIN_CODE = source_hash("training")
DATASET_CODE = source_hash("training/datasets")
SC_NAME, SC_FOLDER = superclass_source(TRAIN, DATASET)
BEATS_SPLIT = beats_split(SIGNAL_RECORDS, TRAIN, DATASET)
BEATS_RECORDS = sorted(BEATS_SPLIT)
TRAIN_TARGETS = [
    *(train_outputs("superclass", SC_NAME).values() if SC_NAME else []),
    *(train_outputs("beats", DATASET).values() if BEATS_RECORDS else []),
]


if SC_NAME:

    rule build_superclass_dataset:
        input:
            superclass_files(SC_FOLDER),
        output:
            X=f"results/train/superclass/{SC_NAME}/dataset/X.npy",
            index=f"results/train/superclass/{SC_NAME}/dataset/index.parquet",
        params:
            task="superclass",
            code=DATASET_CODE,
        conda:
            "../environment.yml"
        log:
            log_path("build_superclass_dataset", SC_NAME),
        script:
            "../scripts/build_dataset.py"


    rule train_superclass:
        input:
            X=rules.build_superclass_dataset.output.X,
            index=rules.build_superclass_dataset.output.index,
        output:
            **with_report(train_outputs("superclass", SC_NAME), "Superclass classifier"),
        params:
            task="superclass",
            dataset=SC_NAME,
            train=canonical(TRAIN["superclass"]),
            seed=TRAIN["seed"],
            device=TRAIN["device"],
            code=TRAIN_CODE,
        threads: TRAIN["threads"]
        resources:
            gpu=TRAIN_GPU,
        conda:
            "../environment.yml"
        log:
            log_path("train_superclass", SC_NAME),
        script:
            "../scripts/train.py"


if BEATS_RECORDS:

    rule build_beats_dataset:
        input:
            tidy=expand(f"{RES}/tidy/{{record}}.parquet", record=BEATS_RECORDS),
            beats=expand(f"{RES}/beats/{{record}}.parquet", record=BEATS_RECORDS),
        output:
            X=f"results/train/beats/{DATASET}/dataset/X.npy",
            rr=f"results/train/beats/{DATASET}/dataset/rr.npy",
            index=f"results/train/beats/{DATASET}/dataset/index.parquet",
        params:
            task="beats",
            dataset=DATASET,
            records=BEATS_RECORDS,
            window_s=[float(w) for w in TRAIN["beats"]["window_s"]],
            length=TRAIN["beats"]["length"],
            val_fraction=TRAIN["beats"]["val_fraction"],
            seed=TRAIN["seed"],
            code=DATASET_CODE,
        conda:
            "../environment.yml"
        log:
            log_path("build_beats_dataset", DATASET),
        script:
            "../scripts/build_dataset.py"


    rule train_beats:
        input:
            X=rules.build_beats_dataset.output.X,
            rr=rules.build_beats_dataset.output.rr,
            index=rules.build_beats_dataset.output.index,
        output:
            **with_report(train_outputs("beats", DATASET), "Heartbeat classifier"),
        params:
            task="beats",
            dataset=DATASET,
            train=canonical(TRAIN["beats"]),
            seed=TRAIN["seed"],
            device=TRAIN["device"],
            code=TRAIN_CODE,
        threads: TRAIN["threads"]
        resources:
            gpu=TRAIN_GPU,
        conda:
            "../environment.yml"
        log:
            log_path("train_beats", DATASET),
        script:
            "../scripts/train.py"
