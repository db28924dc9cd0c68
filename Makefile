# `make run` sets up .venv and opens the dashboard; `make test` sets it up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
# The torch pair this project is tested with; override for another CUDA build, e.g.
# make run TORCH_SPEC="torch torchvision"
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
# Use the MNIST copy in ../shared/datasets when there is one and MNIST_TUI_DATA is not set
# (elsewhere the program falls back to ~/.cache/mnist-tui).
MNIST_TUI_DATA ?= $(if $(wildcard ../shared/datasets/MNIST/raw),$(abspath ../shared/datasets),)
export MNIST_TUI_DATA

BIN := $(VENV)/bin

.PHONY: setup run test bench clean

$(BIN)/mnist-tui: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e '.[test,ray]'
	touch $@

setup: $(BIN)/mnist-tui

run: setup
	$(BIN)/mnist-tui $(ARGS)

# Two test files at a time on a 2-core machine (more where there are more cores, at most 4): most
# tests wait on processes that start or train; one file's tests stay together (module fixtures).
PYTEST_ARGS ?= -n auto --maxprocesses 4 --dist loadfile

test: setup
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: setup
	$(BIN)/python benchmarks/engine_vs_classic.py

clean:
	rm -rf $(VENV) *.egg-info
