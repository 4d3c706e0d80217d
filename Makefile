# make demo: set up on first use and run the lab demo on embedded defaults (headless-safe).
# make test: set up, then lint (ruff, mypy, import contracts) and every test tier, slow tests excluded.
# make test-fast: the pure unit tier only (no model, no server, no fetch); seconds.
# Test tiers are folders under tests/: unit (pure), model (loads models), integration (real
# SQLCipher, Mosquitto, CLI), ui (pytest-qt, offscreen), lab (lab code, simulation, evaluation),
# browser (the hub's review console in Debian's chromium through Playwright).
# A tier whose folder does not exist yet is reported and skipped, never replaced by the whole tree.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# The CLI finds its models and sample data by itself (app/paths.py: under POH_CACHE, default
# ~/.cache/poh-kiosk); a POH_CACHE, POH_MODELS_DIR or POH_DATA_DIR in the environment passes through.
export QT_QPA_PLATFORM ?= offscreen
STAMP := $(VENV)/.installed
LOCK := requirements/dev.txt
LOCK_VENV := .venv-lock
LOCK_STAMP := $(LOCK_VENV)/.installed
LOCK_ARGS ?=
# hashes of every file the registry holds for each pin; no index or find-links of this machine
PIP_COMPILE = $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links $(LOCK_ARGS)

PYTEST := $(BIN)/python -m pytest
# extra pytest arguments, e.g. make test-fast PYTEST_ARGS='-x -k decision'
PYTEST_ARGS ?=
TIERS := unit model integration ui lab browser
# markers a conftest sets by folder (pyproject [tool.pytest.ini_options] markers)
NOT_FAST := not (slow or model or integration or ui or lab or browser)

# $(call tier,NAME[,MARKEXPR]): pytest on tests/NAME, or a note when that folder does not exist yet
tier = $(if $(wildcard tests/$(1)),$(PYTEST)$(if $(2), -m "$(2)")$(if $(PYTEST_ARGS), $(PYTEST_ARGS)) tests/$(1),@echo "tests/$(1)/ does not exist yet: nothing to run")

.PHONY: setup lock models data qt-libs demo demo-fleet demo-hub test test-fast lint pytest test-slow eval clean \
	package package-hub package-report test-bundle test-package-hub \
	$(addprefix test-,$(TIERS))

# Every package comes from the hash-locked requirements/dev.txt (the dev, ui and lab extras; pip
# resolves nothing and refuses a file whose hash differs), then the project itself, editable, on
# the lock's setuptools (no build environment downloaded); pip check fails when a dependency of
# the project (not of its extras) or of a locked package is missing from the lock, or at another
# version. A change to the lock or to pyproject.toml reinstalls.
$(STAMP): pyproject.toml $(LOCK)
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	touch $@

# Regenerate the locks from pyproject.toml with pip-tools (in .venv-lock, itself installed from
# its own lock): pins kept unless asked, e.g. make lock LOCK_ARGS='--upgrade-package rich'.
# runtime.txt (a wheel install: dependencies + ui), hub.txt (the hub's wheelhouse: dependencies
# only, no Qt) and package.txt (+ pyinstaller) are held to dev.txt's versions, so every venv runs
# the same packages.
$(LOCK_STAMP): requirements/pip-tools.txt
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet --require-hashes -r requirements/pip-tools.txt
	touch $@

lock: $(LOCK_STAMP)
	$(PIP_COMPILE) -o requirements/pip-tools.txt requirements/pip-tools.in
	$(PIP_COMPILE) --extra dev --extra ui --extra lab -o $(LOCK) pyproject.toml
	$(PIP_COMPILE) -c $(LOCK) --extra ui -o requirements/runtime.txt pyproject.toml
	$(PIP_COMPILE) -c $(LOCK) -o requirements/hub.txt pyproject.toml
	$(PIP_COMPILE) -c $(LOCK) --extra ui --extra package -o requirements/package.txt pyproject.toml

setup: $(STAMP) models data

models: $(STAMP)
	$(BIN)/poh models fetch

data: $(STAMP)
	$(BIN)/poh-lab data fetch

# the kiosk screen (PySide6, offscreen) needs these Debian libraries; say so before a long set-up
QT_LIBS := libEGL.so.1:libegl1 libGL.so.1:libgl1 libxkbcommon.so.0:libxkbcommon0 \
	libfontconfig.so.1:libfontconfig1
qt-libs:
	@missing=""; for pair in $(QT_LIBS); do \
		/sbin/ldconfig -p | grep "$${pair%%:*}" >/dev/null || missing="$$missing $${pair##*:}"; done; \
	if [ -n "$$missing" ]; then echo "error: the kiosk screen needs:$$missing (apt-get install$$missing)" >&2; exit 2; fi

demo: qt-libs setup
	$(BIN)/poh-lab demo

# a local fleet: mosquitto (packaging/mosquitto), a hub, two booths; A enrols, B finds
demo-fleet: setup
	$(BIN)/python -m app.lab.fleet_demo

# the hub serving an integrator: mosquitto, poh hub run --http, a booth; webhooks a Didit-style
# receiver verifies, and GET /v3/session/{id}/decision/
demo-hub: setup
	$(BIN)/python -m app.lab.hub_demo

lint: $(STAMP)
	$(BIN)/ruff check app inference storage sync tests
	$(BIN)/mypy
	$(BIN)/lint-imports

# The pure unit tier: needs only the venv (no models, no sample data, no server).
test-fast: $(STAMP)
	$(call tier,unit,$(NOT_FAST))

test-unit: test-fast

test-model test-integration test-ui test-lab test-browser: test-%: setup
	$(call tier,$*)

# Every tier in one run, slow tests excluded (pyproject addopts: -m 'not slow'). The whole tests/
# tree, so a test file not yet sorted into a tier folder still runs.
pytest: setup
	$(PYTEST)$(if $(PYTEST_ARGS), $(PYTEST_ARGS)) tests

test: qt-libs setup lint pytest

# The long evaluations and benchmarks only.
test-slow: setup
	$(PYTEST) -m slow$(if $(PYTEST_ARGS), $(PYTEST_ARGS)) tests

eval: setup
	$(BIN)/poh-lab eval faces $$($(BIN)/python -c 'from app.paths import data_dir; print(data_dir())')/orl --upscale
	$(BIN)/poh-lab eval pad --simulate

# The booth bundle (one folder, dist/poh/; packaging/poh.spec): PyInstaller from the `package`
# extra, the verified models inside. package-report: its size and cold start (median of 5).
# PyInstaller comes from the hash-locked requirements/package.txt (held to dev.txt's versions).
PACKAGE_STAMP := $(VENV)/.package-installed
$(PACKAGE_STAMP): $(STAMP) requirements/package.txt
	$(BIN)/pip install --quiet --require-hashes -r requirements/package.txt
	touch $@

package: $(PACKAGE_STAMP) models
	$(BIN)/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
		packaging/poh.spec
	@echo "dist/poh: $$(du -sm dist/poh | cut -f1) MiB unpacked, $$(find dist/poh -type f | wc -l) files"

# The hub's wheelhouse (dist/poh-hub/; packaging/hub_wheelhouse.py): the project's wheel from the
# committed tree and a wheel of every pin of requirements/hub.txt (the dependencies without the ui
# extra: no Qt), downloaded with --require-hashes, and a requirements.txt naming each file by its
# hash; packaging/install.sh --role hub installs it offline into a venv of the host's python3.11.
package-hub: $(STAMP)
	$(BIN)/python packaging/hub_wheelhouse.py --lock requirements/hub.txt --out dist/poh-hub
	@echo "dist/poh-hub: $$(du -sm dist/poh-hub | cut -f1) MiB, $$(ls dist/poh-hub/wheels | wc -l) wheels"

# The wheelhouse installed offline by install.sh and the hub run from it (slow; builds the
# wheelhouse in a temporary folder unless dist/poh-hub/ is of HEAD's commit and the current lock).
test-package-hub: $(STAMP)
	$(PYTEST) -m slow$(if $(PYTEST_ARGS), $(PYTEST_ARGS)) tests/integration/test_hub_wheelhouse.py

package-report: $(STAMP)
	$(BIN)/python packaging/bundle_report.py dist/poh --runs 5

# The bundle run as a booth runs it (env -i, no network): tests/integration/test_bundle.py, slow;
# it builds dist/poh unless a build newer than every source file is there (CI runs it).
test-bundle: $(PACKAGE_STAMP) setup
	$(PYTEST) -m slow$(if $(PYTEST_ARGS), $(PYTEST_ARGS)) tests/integration/test_bundle.py

clean:
	rm -rf $(VENV) $(LOCK_VENV) build dist *.egg-info
