# The one entry point. Every target sets up what it needs, so each works on a fresh machine.
SHELL := /bin/bash
# pipefail: a failing `pip install ... | grep` must fail its target, not just the filter.
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# SAM CLI would otherwise print a telemetry notice and phone home on every run (CI has no internet).
export SAM_CLI_TELEMETRY := 0

# .python-version pins 3.13; pyenv's shim (or any python3.13 on PATH) provides it.
PYTHON ?= python3.13
VENV := .venv
SAM_VENV := .venv-sam
PY := $(VENV)/bin/python
SAM := $(SAM_VENV)/bin/sam
ARCH ?= arm64
# The Lambda architecture this machine can run (uname says aarch64 on Linux, arm64 on macOS).
HOST_ARCH := $(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x86_64)
# Tests run in parallel on every core; override with PYTEST_ARGS="-n 0" to debug one test.
PYTEST_ARGS ?= -n auto

.PHONY: help dev test browser screenshots lint format typecheck build validate test-built check-template bench bench-peers openapi aws-data clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements-dev.lock layers/parley/requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.13 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(VENV)/bin/pip install --quiet -r requirements-dev.lock 2>&1 | { grep -v "^WARNING: Location" || true; }
	@touch $@

$(SAM_VENV)/.installed: tools/sam.lock
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.13 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(SAM_VENV)/bin/pip install --quiet -r tools/sam.lock 2>&1 | { grep -v "^WARNING: Location" || true; }
	@touch $@

dev: $(VENV)/.installed ## run the whole system locally (API on http://127.0.0.1:$${PARLEY_PORT:-3000})
	$(PY) -m devstack

test: $(VENV)/.installed browser ## run the whole test suite
	$(PY) -m pytest $(PYTEST_ARGS)

# The console's browser tests drive Debian's chromium through Playwright (never `playwright install`,
# which downloads a browser). Without it, and without root to install it, they skip (and fail on CI).
CHROMIUM := /usr/bin/chromium
browser: ## install Debian's chromium for the console's browser tests, where it is missing and we are root
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium for the console's browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	else echo "no $(CHROMIUM), and not root with apt-get to install it: the console's browser tests will skip"; fi

screenshots: $(VENV)/.installed browser ## rewrite the console's screenshots in docs/console/ (the README shows them)
	PARLEY_CONSOLE_SCREENSHOTS=1 $(PY) -m pytest -n 0 -q tests/e2e/test_console.py

# bench/ is type-checked once it holds code: mypy refuses a missing or empty folder.
lint: $(VENV)/.installed ## ruff (lint + format check) and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/parley/parley functions devstack tests $(if $(wildcard bench/*.py),bench)

format: $(VENV)/.installed ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

validate: $(SAM_VENV)/.installed ## sam validate --lint
	$(SAM) validate --lint --region us-east-1

# The layer is built with the `python3.13` on PATH (pyenv's shim resolves it via .python-version): its
# real path is handed to layers/parley/Makefile, which SAM runs outside the repository.
build: $(SAM_VENV)/.installed ## sam build (ARCH=arm64 by default; ARCH=x86_64 to match this machine)
	@command -v python3.13 >/dev/null || { echo "sam build needs python3.13 on PATH"; exit 1; }
	ARCH=$(ARCH) LAYER_PYTHON=$$(python3.13 -c 'import sys; print(sys.executable)') \
	  $(SAM) build --parameter-overrides Architecture=$(ARCH)

test-built: $(VENV)/.installed ## build for this machine's architecture, then load every built function as Lambda would
	$(MAKE) build ARCH=$(HOST_ARCH)
	$(PY) -m tests.built.run_built_functions

check-template: validate test-built ## the template checks CI runs

# The cold-start part measures sam build's output, as Lambda would load it: build it first.
bench: $(VENV)/.installed ## run the benchmarks, write bench/results.json
	$(MAKE) build ARCH=$(HOST_ARCH)
	$(PY) -m bench

# The full `make bench` runs this part too. The peer's venv (Python 3.12.1 from pyenv, the vendored lock,
# from PyPI) is made once, in $${XDG_CACHE_HOME:-~/.cache}/parley-bench/peer-langgraph.
bench-peers: $(VENV)/.installed ## the peer (LangGraph's dev server), then ours, 8 clients, into bench/results-partial.json
	$(PY) -m bench peers

aws-data: $(VENV)/.installed ## write the layer's trimmed botocore endpoints and models (after a boto3 upgrade; a test says when)
	$(PY) tools/trim_aws_data.py

openapi: $(VENV)/.installed ## write openapi.json (and the copy GET /v1/openapi.json serves) from the routes and models
	$(PY) -m devstack.openapi --write

clean: ## remove virtual environments, builds and caches
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .devstack
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
