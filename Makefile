# chipswitch developer tasks. Everything runs from the project's own virtual environment.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint clean

## venv: create .venv and install chipswitch (editable) with test and dev tools
venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
	  echo "error: '$(PYTHON) -m venv' failed; on Debian/Ubuntu: apt-get install python3-venv" >&2; \
	  exit 1; }
	$(BIN)/python -m pip install --quiet -e '.[test,dev,sweep,calibrate]'
	@touch $(STAMP)

## demo: the main job, the decision on the seed scenario (creates the venv first if needed)
demo: venv
	$(BIN)/chipswitch decide

## test: the test suite
test: venv
	$(BIN)/pytest

## lint: ruff (lint + format check) and mypy
lint: venv
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
