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

.PHONY: help install run test lint check-deploy clean demo services browsers

help:
	@echo "make run    - install, migrate, seed the demo and serve http://$(HOST):$(PORT) (Ctrl-C stops all)"
	@echo "make test   - install what is missing and run the whole suite (lint, checks, pytest)"
	@echo "make lint   - ruff check"

$(PY):
	@test -n "$(PYTHON)" || { echo "Python 3.12+ is required (Django 6.1). Install python3.12 or set PYTHON=/path/to/python3.12." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

install: $(VENV)/.installed ## idempotent: creates .venv and installs the project with dev extras

node_modules/.bin/prism: package.json
	@if command -v npm >/dev/null; then npm install --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: contract tests through Prism will be skipped"; fi

run: install
	@bash scripts/run.sh

test: install node_modules/.bin/prism
	@bash scripts/test.sh

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache test-artifacts
