# Set-up is part of every target: a fresh clone needs nothing but python3 (3.11+).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
BENCH_ARGS ?=

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,ray]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m api.serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

# The suite includes a bounded schemathesis run over the service's OpenAPI document
# (tests/api/test_schemathesis.py, every operation for every role, about half a minute).
test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy dispatch solver api benchmarks

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,ray,bench]'
	$(PY) -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
