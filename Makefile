# Stages, each runnable on its own: make setup | demo | run | test | lint | bench | demo-recording
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo run build test lint bench demo-recording

$(VENV)/bin/scholarflow:
	python3 -m venv $(VENV) && $(PY) -m pip install -q -e '.[dev]'

setup: $(VENV)/bin/scholarflow

demo: setup          ## whole pipeline offline, on the bundled recording
	$(VENV)/bin/scholarflow run --demo

run: setup           ## whole pipeline against the live APIs
	$(VENV)/bin/scholarflow run

build: setup         ## rebuild tables, views and reports after editing sql/ or transforms/
	$(VENV)/bin/scholarflow build

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

bench: setup
	$(PY) benchmarks/bench_pipeline.py

demo-recording: setup  ## regenerate flows/demo/recording from flows/demo/facts.json
	$(PY) -m flows.demo.generate
