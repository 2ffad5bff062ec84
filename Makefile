# One command per task, the same locally and in CI.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint typecheck imports unit browser bench screenshots clean

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

## lint, type-check, import-layer contracts and tests (browser tests use Debian's chromium)
test: lint typecheck imports browser unit

## Debian's Chromium for the console's browser tests (no browser download); without it those
## tests are skipped and say so
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 \
	  || echo "chromium could not be installed: the browser tests will be skipped"; }

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

imports: $(VENV)/.installed-dev
	$(BIN)/lint-imports

## tests with a coverage floor (94% measured on the whole suite; sys.monitoring on 3.12+)
COV_FLOOR ?= 90
unit: $(VENV)/.installed-dev
	COVERAGE_CORE=$$($(BIN)/python -c 'import sys; print("sysmon" if sys.version_info >= (3, 12) else "ctrace")') \
	  $(BIN)/pytest -q --cov=nextbest --cov-report=term-missing:skip-covered --cov-fail-under=$(COV_FLOOR)

## figures for docs/benchmarks.md and docs/api.md (1M customers x 78 weeks; about eight minutes)
bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/bench_foundation.py
	$(BIN)/python benchmarks/bench_weekly.py
	$(BIN)/python benchmarks/bench_decide.py

## PNG screenshots of the console's main pages, into ./screenshots
screenshots: $(VENV)/.installed-dev browser
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) nextbest-demo .pytest_cache .mypy_cache .ruff_cache
