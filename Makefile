# qbo-crm-sync: `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

export PYTHONPATH := $(CURDIR)/plugins:$(CURDIR)
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export GX_ANALYTICS_ENABLED := false
export NO_PROXY := localhost,127.0.0.1

.PHONY: help venv demo up emulators test lint bench clean

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

up: $(STAMP)  ## start Airflow (standalone) and both emulators: UI on http://localhost:8080
	$(PY) -m qbo_crm_sync.local up

emulators: $(STAMP)  ## start both emulators in the foreground (QuickBooks :8801, HighLevel :8802)
	$(PY) -m qbo_crm_sync.local emulators

test: $(STAMP)  ## run ruff and the whole test suite
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

lint: $(STAMP)  ## ruff only
	$(VENV)/bin/ruff check .

bench: $(STAMP)  ## run the benchmark scenarios; writes bench/results.json and bench/REPORT.md
	$(PY) -m bench

clean:  ## stop the embedded database and remove local state (.data, .airflow)
	-$(PY) -m qbo_crm_sync.local stop
	rm -rf .data .airflow
