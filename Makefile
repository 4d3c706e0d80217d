# make demo: set up on first use and run the main job on embedded defaults (headless-safe).
# make test: set up and run the whole default test suite (lint, types, import contracts, pytest).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export POH_CACHE ?= $(HOME)/.cache/poh-kiosk
export POH_MODELS_DIR ?= $(POH_CACHE)/models
export POH_DATA_DIR ?= $(POH_CACHE)/data
export QT_QPA_PLATFORM ?= offscreen
STAMP := $(VENV)/.installed

.PHONY: setup models data demo test lint pytest eval clean

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,ui]'
	touch $@

setup: $(STAMP) models data

models: $(STAMP)
	$(BIN)/poh models fetch

data: $(STAMP)
	$(BIN)/poh data fetch

demo: setup
	$(BIN)/poh demo

lint: $(STAMP)
	$(BIN)/ruff check app inference storage sync tests
	$(BIN)/mypy
	$(BIN)/lint-imports

pytest: setup
	$(BIN)/python -m pytest

test: setup lint pytest

eval: setup
	$(BIN)/poh eval faces $(POH_DATA_DIR)/orl --upscale
	$(BIN)/poh eval pad --simulate

clean:
	rm -rf $(VENV) build dist *.egg-info
