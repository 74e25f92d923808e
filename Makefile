# Samen: `make up` runs the platform with demo data, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export SAMEN_DATA_DIR ?= $(CURDIR)/var

.PHONY: up test test-faults test-browser bench venv infra keys migrate demo clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

infra:
	bash scripts/ensure-infra.sh

keys: venv
	$(PY) -m samen_devtools.keys "$(SAMEN_DATA_DIR)/keys"

migrate: venv infra
	$(PY) -m samen_devtools.migrate

demo: migrate
	SAMEN_ENV=development $(PY) -m samen_devtools.demo

up: venv infra keys migrate demo
	bash scripts/up.sh

test: venv infra
	bash scripts/ensure-browser.sh
	$(PY) -m pytest -q -p no:warnings

test-faults: venv infra
	$(PY) -m pytest -q -p no:warnings tests/faults

bench: venv infra keys
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk) \
		|| echo "wrk could not be installed: the gateway benchmark loads with Python threads instead"
	$(PY) -m samen_devtools.bench

clean:
	rm -rf var test-artifacts
