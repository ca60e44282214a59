# Two commands for a newcomer (each sets itself up, idempotently, then runs):
#   make synth   synthesize the example app into cdk.out/ (offline, no AWS credentials)
#   make test    run the whole test suite
# Also: make lint, make bench, make clean.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp

# Offline, quiet, deterministic: no CLI telemetry or notices, no jsii Node-20 banner, no SageMaker v2
# banner, no instance-metadata probing.
export CDK_DISABLE_CLI_TELEMETRY := true
export CDK_DISABLE_VERSION_CHECK := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export SAGEMAKER_SUPPRESS_V2_WARNING := 1
export AWS_EC2_METADATA_DISABLED := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: synth test lint bench clean install

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP)

synth: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" node_modules/.bin/cdk synth --quiet --no-notices --output cdk.out
	@echo "Synthesized into cdk.out/:" && ls cdk.out/*.template.json

test: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check constructs_lib tests app.py bench
	$(VENV)/bin/ruff format --check constructs_lib tests app.py bench
	$(VENV)/bin/mypy constructs_lib

bench: install
	$(PY) -m bench

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
