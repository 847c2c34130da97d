# chipswitch developer tasks. Everything runs from the project's own virtual environment.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# One stamp per install: the core package (enough for `make demo`), and the extras the test
# suite and linters need (PyTorch, Ray, Playwright, pytest, ruff, mypy, the export checkers),
# installed only there.
CORE_STAMP := $(VENV)/.installed-core
FULL_STAMP := $(VENV)/.installed-full

.PHONY: venv venv-core demo test test-fast lint clean

## venv: create .venv and install chipswitch (editable) with test and dev tools and all extras,
##   export-check included (the frameworks that check `chipswitch export` files)
venv: $(FULL_STAMP)

## venv-core: create .venv and install chipswitch (editable) with its core dependencies only
venv-core: $(CORE_STAMP)

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) || { \
	  echo "error: '$(PYTHON) -m venv' failed; on Debian/Ubuntu: apt-get install python3-venv" >&2; \
	  exit 1; }

$(CORE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $(CORE_STAMP)

$(FULL_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,dev,sweep,calibrate,export-check]'
	@touch $(CORE_STAMP) $(FULL_STAMP)

## demo: the main job, the decision on the seed scenario (core package only: no torch, Ray
## or Playwright)
demo: venv-core
	$(BIN)/chipswitch decide

## test: the test suite (installs the extras on first use)
test: venv
	$(BIN)/pytest

## test-fast: the suite without the tests marked slow (about a minute)
test-fast: venv
	$(BIN)/pytest -m "not slow"

## lint: ruff (lint + format check) and mypy
lint: venv
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
