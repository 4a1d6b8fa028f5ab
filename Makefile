# Two entry points: `make serve` runs the app on the default data, `make test` runs every check.
# Each creates .venv and installs the project (editable) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PORT ?= 5006
ARGS ?=

.PHONY: serve test lint bench bench-latency clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(INSTALLED)

serve: $(INSTALLED)
	$(BIN)/bokeh serve app --port $(PORT) --websocket-compression-level 1 $(if $(ARGS),--args $(ARGS),)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

bench: $(INSTALLED)
	$(BIN)/python -m benchmarks.aggregation $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
