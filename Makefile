# gapbench: two commands do everything on a fresh Debian machine.
#   make run   -> set-up, then the whole pipeline on config.yaml
#   make test  -> set-up, then the fast test tier (not marked slow: <= 5 min on 2 cores)
#   make test-all -> set-up, then the whole suite (end-to-end Snakemake runs included; what CI runs)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all
# Debian 12/13 packages: FFTW and Open MPI for Dedalus' build, Python's venv module and headers.
# SKIP_APT=1 skips this check where they come from elsewhere (other distributions, modules, conda).
APT_PACKAGES := libfftw3-dev libfftw3-mpi-dev libopenmpi-dev openmpi-bin python3-venv python3-dev
SKIP_APT ?= 0
# Debian's Open MPI prefix; Dedalus' setup looks under /usr/lib/openmpi otherwise.
MPI_PATH ?= $(firstword $(wildcard /usr/lib/$(shell uname -m)-linux-gnu/openmpi) /usr/lib/openmpi)
export OMP_NUM_THREADS ?= 1
# Rules run `python3 -m gapbench` (src/ on PYTHONPATH): the venv's bin/ must come first on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup system-deps run test test-all lint bench bench-gpu clean

system-deps:
	@if [ "$(SKIP_APT)" = 1 ]; then echo "gapbench set-up: SKIP_APT=1, not checking $(APT_PACKAGES)"; \
	else scripts/system-deps.sh $(APT_PACKAGES); fi

$(BIN)/gapbench: pyproject.toml | system-deps
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	MPI_PATH=$(MPI_PATH) $(BIN)/pip install --quiet --disable-pip-version-check -e '.[all,test]'
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps $$($(BIN)/python -c \
	  'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["tool"]["gapbench"]["install-without-deps"])')
	@touch $@

setup: system-deps $(BIN)/gapbench

run: setup
	$(BIN)/snakemake --workflow-profile workflow/profiles/default --cores $(CORES) --configfile config.yaml

test: setup
	$(BIN)/python -m pytest -q -m "not slow" tests

test-all: setup
	$(BIN)/python -m pytest -q tests

lint: setup
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/

bench: setup
	@for b in benchmarks/*.py; do case $$b in */job_costs.py|*/gpu_step.py) continue;; esac; \
	  echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Throughput, kernels per step and memory of one training step of every model family, on the GPU when there
# is one (else on the CPU, and it says so).
bench-gpu: setup
	$(BIN)/python benchmarks/gpu_step.py

clean:
	rm -rf results/* .snakemake
