# qbo-crm-sync: `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Test files run in parallel processes, each with its own database and emulators.
TEST_WORKERS ?= 2
# The port of the local Airflow (make up); the URL, the OAuth redirect URI and the execution API follow it.
AIRFLOW_PORT ?= 8080

export PYTHONPATH := $(CURDIR)/plugins:$(CURDIR)
export AIRFLOW_PORT
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export GX_ANALYTICS_ENABLED := false
export NO_PROXY := localhost,127.0.0.1

# Airflow's home for the local stack only: tests use a temporary one (tests/conftest.py).
STACK_TARGETS := demo up emulators down bench clean
$(STACK_TARGETS): export AIRFLOW_HOME ?= $(CURDIR)/.airflow

.PHONY: help venv demo up down emulators test lint bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP)  ## create the virtualenv and install the pinned requirements

demo: $(STAMP)  ## run one full sync cycle on embedded defaults and print what happened
	$(PY) -m qbo_crm_sync.local demo

up: $(STAMP)  ## start the stack and Airflow in the foreground: UI on http://localhost:8080 (AIRFLOW_PORT)
	$(PY) -m qbo_crm_sync.local up

down:  ## stop everything this checkout started (Airflow and its workers, emulators, database)
	@if [ -x $(PY) ]; then $(PY) -m qbo_crm_sync.local stop; fi

emulators: $(STAMP)  ## start both emulators, detached (ports QBO_EMULATOR_PORT 8801, HL_EMULATOR_PORT 8802)
	$(PY) -m qbo_crm_sync.local emulators

test: $(STAMP)  ## run ruff and the whole test suite (TEST_WORKERS processes, default 2)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: $(STAMP)  ## ruff only
	$(VENV)/bin/ruff check .

bench: $(STAMP)  ## run the benchmark scenarios; writes bench/results.json and bench/REPORT.md
	$(PY) -m bench

clean: down  ## stop everything (make down), then remove local state (.data, .airflow)
	rm -rf .data .airflow
