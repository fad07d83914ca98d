# Two commands do all the set-up: `make run` and `make test`. Both install into .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
ARGS ?=
# mypy's incremental cache, kept per machine outside the clone: CI checks a fresh clone each run,
# and a cold check costs ~2 CPU-minutes against seconds warm. mypy checks each cached file's
# hash, so a changed file is checked again (and an error in it still fails the run).
MYPY_CACHE ?= $(HOME)/.cache/learnloop/mypy

.PHONY: run up test lint typecheck bench clean install install-dev package templates

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Stamps re-run the install only when pyproject.toml changes.
$(VENV)/.installed-local: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[local]"
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $@ $(VENV)/.installed-local

install: $(VENV)/.installed-local
install-dev: $(VENV)/.installed-dev

## run: install, then run the demo on the embedded local stack (API on 127.0.0.1:$(PORT))
run: install
	$(BIN)/learnloop demo --port $(PORT) $(ARGS)

## up: install and serve the local stack until Ctrl-C
up: install
	$(BIN)/learnloop up --port $(PORT) $(ARGS)

## test: install the dev extra, lint, check the import contracts, and run every test tier
test: install-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy --cache-dir $(MYPY_CACHE)
	$(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadfile --no-loadscope-reorder $(ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install-dev
	$(BIN)/mypy --cache-dir $(MYPY_CACHE)

bench: install-dev
	$(BIN)/python bench/ingest.py

## package: build the Lambda layers and function zip for RUNTIME (default python3.11) and the
## template into dist/deploy, print each size, fail over Lambda's 250 MB
RUNTIME ?= python3.11
ARCH ?= x86_64
STAGE ?= dev
package: install-dev
	$(BIN)/learnloop package --stage $(STAGE) --runtime $(RUNTIME) --architecture $(ARCH) $(ARGS)

## templates: the stage's CloudFormation template only (no pip), into dist/deploy
templates: install-dev
	$(BIN)/learnloop deploy --stage $(STAGE) --dry-run --skip-layers $(ARGS)

clean:
	rm -rf $(VENV) .learnloop learnloop-report .pytest_cache .ruff_cache .mypy_cache

## client: regenerate learnloop.client's typed methods after declaring a route (functions/app.py)
.PHONY: client
client: install-dev
	$(BIN)/python -m learnloop_tools.client_codegen

## checkov: the infrastructure scanner in its own venv (it pins older boto3 than .venv has),
## made once per machine in ~/.cache/learnloop and reused by every clone (tests/support/checkov.py)
.PHONY: checkov
checkov: install-dev
	$(BIN)/python tests/support/checkov.py
