# One command per task, the same locally and in CI.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint typecheck imports unit bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

## the main job on the embedded default: synthetic bank -> ingest -> features (and more)
demo: $(VENV)/.installed
	$(BIN)/nextbest demo

## lint, type-check, import-layer contracts and tests
test: lint typecheck imports unit

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

imports: $(VENV)/.installed-dev
	$(BIN)/lint-imports

unit: $(VENV)/.installed-dev
	$(BIN)/pytest -q

## figures for docs/benchmarks.md (1M customers x 78 weeks; about six minutes)
bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/bench_foundation.py
	$(BIN)/python benchmarks/bench_weekly.py

clean:
	rm -rf $(VENV) nextbest-demo .pytest_cache .mypy_cache .ruff_cache
