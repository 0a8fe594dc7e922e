# Two commands on a fresh machine: `make demo` (set up, synthesize, run the lifecycle locally)
# and `make test` (set up, run the whole suite). Everything else is here for day-to-day work.
VENV := .venv
PY := $(VENV)/bin/python
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONPATH := $(CURDIR)
# The CDK CLI runs `python3 app.py` (cdk.json): the venv's python3 comes first.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: dev browser layers synth local demo test unit integration infra e2e lint types format bench mutants deploy destroy clean

$(VENV)/.installed: requirements.txt requirements-dev.txt cli/pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check pip==25.3
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	# The `mlops` command, editable: .venv/bin/mlops runs the code in cli/
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e cli
	touch $@

# checkov lives apart: its own pins (boto3 1.35, packaging 23) conflict with the platform's.
SCAN_VENV := .venv-scan

$(SCAN_VENV)/.installed: requirements-scan.txt
	python3 -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check pip==25.3
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-scan.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

dev: $(VENV)/.installed node_modules/.installed $(SCAN_VENV)/.installed

layers: $(VENV)/.installed
	$(PY) layers/build.py

synth: dev layers
	npx cdk synth --no-notices --quiet > /dev/null

local: synth
	$(PY) -m local serve

demo: synth
	$(PY) -m local demo

# The console's tests drive a real headless Chromium through its chromedriver: Debian's chromium and
# chromium-driver when neither is there (GitHub's Ubuntu runners already have Chrome and chromedriver).
browser:
	@{ command -v chromium || command -v google-chrome; } > /dev/null && command -v chromedriver > /dev/null || { \
	  echo "installing chromium and chromium-driver (apt-get)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver > /dev/null; }

# The tiers without servers run on both cores; the end-to-end tier drives one local stack on fixed
# ports (4566, 3000), so it runs alone after them.
test: dev layers browser
	$(PY) -m pytest -n 2 tests/unit tests/integration tests/infra
	$(PY) -m pytest tests/e2e

unit: dev
	$(PY) -m pytest tests/unit

integration: dev
	$(PY) -m pytest tests/integration

infra: dev layers
	$(PY) -m pytest tests/infra

e2e: dev layers browser
	$(PY) -m pytest tests/e2e

lint: dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

types: dev
	$(VENV)/bin/mypy

format: dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

BENCH_VENV := .venv-bench

$(BENCH_VENV)/.installed: bench/requirements.txt
	python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check pip==25.3
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	touch $@

# Benchmarks are never part of `make test` (timing on shared machines belongs here, not in asserts).
bench: dev layers $(BENCH_VENV)/.installed
	$(PY) bench/run_all.py

# Mutation testing of the modules that carry the platform's promises (tests/mutation/run.py): not in
# `make test` (thousands of test runs); a manual CI workflow runs it. MODULES="local/iam.py ..." narrows it.
MODULES ?=
mutants: dev
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-mutants.txt
	$(PY) tests/mutation/run.py $(MODULES) --fail-under 90

# Real AWS: needs credentials and a bootstrapped account/region (npx cdk bootstrap).
# STAGE picks a stage from cdk.json (dev, staging, prod).
STAGE ?= dev

# --all: the stage's stack and, first, the account's API Gateway logging role (MlopsApiGatewayLogging,
# shared by every stage; unchanged after its first deploy). destroy removes the stage's stack only.
STACK = $(shell $(PY) -c "import json; print(json.load(open('cdk.json'))['context']['stages']['$(STAGE)']['stackName'])")

# BuildKit's default attestations turn a pushed image into an OCI index, which Lambda refuses.
deploy: dev layers
	BUILDX_NO_DEFAULT_ATTESTATIONS=1 npx cdk deploy --all --require-approval never -c stage=$(STAGE)

destroy: dev
	npx cdk destroy --force -c stage=$(STAGE) $(STACK)

clean:
	rm -rf cdk.out layers/*/build layers/*/build.stamp .pytest_cache
