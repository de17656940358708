# migrator: `make run` sets up a fresh machine and runs everything; `make test` sets up and runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# Django 6.1 needs Python 3.12+; find one (PATH first, then pyenv's), or honour PYTHON=/path/to/python.
PYTHON ?= $(shell bash scripts/find-python)
HOST ?= 127.0.0.1
PORT ?= 8000
SANDBOX_PORT ?= 8765

# The build is pinned: every install path installs exactly uv.lock (runtime + dev, with hashes). uv itself is
# bootstrapped at a pinned version with the found interpreter's pip, into .tools/, and never downloads a Python.
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
# Fast lane: everything but the tests that start a browser, a worker process, a manage.py subprocess or Prism.
FAST := not browser and not worker and not slow
FAST_WORKERS ?= auto

.PHONY: help install lock run test test-fast upgrade-check lint check-deploy clean demo services browsers

help:
	@echo "make run           - install, migrate, seed the demo and serve http://$(HOST):$(PORT) (Ctrl-C stops all)"
	@echo "make test          - install exactly uv.lock and run the whole suite (lint, checks, pytest)"
	@echo "make test-fast     - the suite without browser, worker, subprocess and Prism tests (under 2 minutes)"
	@echo "make lock          - re-resolve uv.lock from pyproject.toml on purpose"
	@echo "make upgrade-check - try the newest versions pyproject.toml allows and say which upgrade breaks what"
	@echo "make lint          - ruff check"

$(UV):
	@test -n "$(PYTHON)" || { echo "Python 3.12+ is required (Django 6.1). Install python3.12 or set PYTHON=/path/to/python3.12." >&2; exit 1; }
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	@$(UV) lock --check --python "$(PYTHON)" --quiet 2>/dev/null || { \
	  echo "uv.lock is out of date with pyproject.toml: run 'make lock' and commit uv.lock." >&2; exit 1; }
	$(UV) sync --frozen --extra dev --python "$(PYTHON)" --quiet
	@touch $@

install: $(VENV)/.installed ## idempotent: .venv holds exactly what uv.lock pins (runtime and dev)

lock: $(UV) ## re-resolve on purpose after editing pyproject.toml; UPGRADE=1 moves every pin to the newest allowed
	$(UV) lock $(if $(UPGRADE),--upgrade) --python "$(PYTHON)"

upgrade-check: $(UV) ## in a throwaway environment: newest allowed versions, fast lane, which upgrade broke what
	@$(TOOLS)/bin/python scripts/upgrade-check.py --uv "$(UV)" --python "$(PYTHON)" -m "$(FAST)"

# The Node dev tools are pinned like the Python ones: `npm ci` installs exactly package-lock.json (Prism for the
# contract tests, promptfoo for the export test). promptfoo pulls in Playwright, whose install script would
# download a browser build: skipped (the suite drives Debian's chromium, and nothing may be downloaded).
node_modules/.bin/prism: package.json package-lock.json
	@if command -v npm >/dev/null; then \
	  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: contract tests through Prism and the promptfoo CLI test will be skipped"; fi

run: install
	@bash scripts/run.sh

test: install node_modules/.bin/prism
	@bash scripts/test.sh

test-fast: install
	@FAST_LANE=1 bash scripts/test.sh -m "$(FAST)" -n "$(FAST_WORKERS)"

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(TOOLS) staticfiles .pytest_cache .ruff_cache test-artifacts
