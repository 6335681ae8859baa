# Two entry points: `make run` (demo pipeline) and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CORES ?= 2

.PHONY: run test test-slurm lint dryrun report bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

# profiles/default is Snakemake's workflow profile: every run in this folder uses it.
run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --report results/report.html

test: $(STAMP)
	$(BIN)/python -m pytest -q

# opt-in: installs and starts a local SLURM (root, apt-get), runs the chain through it, restores the machine
test-slurm: $(STAMP)
	ECGFLOW_TEST_SLURM=1 $(BIN)/python -m pytest -q -rs tests/test_slurm.py

lint: $(STAMP)
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile rules

report: run

bench: $(STAMP)
	$(BIN)/python benchmarks/detectors.py
	$(BIN)/python benchmarks/evaluation.py
	$(BIN)/python benchmarks/training.py
	$(BIN)/python benchmarks/pipeline.py
	$(BIN)/python benchmarks/qrs.py
	$(BIN)/python benchmarks/datasets.py
	$(BIN)/python benchmarks/rhythm.py

clean:
	rm -rf results/demo results/logs results/train results/benchmarks .snakemake
