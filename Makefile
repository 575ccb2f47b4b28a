# gapbench: two commands do everything on a fresh Debian machine.
#   make run   -> set-up, then the whole pipeline on config.yaml
#   make test  -> set-up, then the test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all
APT_PACKAGES := libfftw3-dev libfftw3-mpi-dev libopenmpi-dev openmpi-bin
# Debian's Open MPI prefix; Dedalus' setup looks under /usr/lib/openmpi otherwise.
MPI_PATH ?= $(firstword $(wildcard /usr/lib/$(shell uname -m)-linux-gnu/openmpi) /usr/lib/openmpi)
export OMP_NUM_THREADS ?= 1
# Rules call the `gapbench` console script: the venv's bin/ must come first on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup system-deps run test lint bench clean

system-deps:
	@scripts/system-deps.sh $(APT_PACKAGES)

$(BIN)/gapbench: pyproject.toml | system-deps
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	MPI_PATH=$(MPI_PATH) $(BIN)/pip install --quiet --disable-pip-version-check -e '.[all,test]'
	@touch $@

setup: system-deps $(BIN)/gapbench

run: setup
	$(BIN)/snakemake --workflow-profile workflow/profiles/default --cores $(CORES) --configfile config.yaml

test: setup
	$(BIN)/python -m pytest -q tests

lint: setup
	$(BIN)/snakemake --lint

bench: setup
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf results/* .snakemake
