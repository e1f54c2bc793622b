# Thin targets: a newcomer needs only `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export TASKTRACK_DATABASE_URL ?= sqlite:///data/tasktrack.db

.PHONY: run test lint fmt typecheck install install-dev services clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: server + worker + dashboard on a SQLite file; prints the URL and an API key
run: install
	@$(BIN)/tasktrack apikey create --label "make run" | tail -n 1 > $(VENV)/.run-key
	@echo "API key:   $$(cat $(VENV)/.run-key)"
	@echo "Try:       curl -H \"X-API-Key: $$(cat $(VENV)/.run-key)\" http://$(HOST):$(PORT)/v2.0/tasks"
	@rm -f $(VENV)/.run-key
	$(BIN)/tasktrack serve --host $(HOST) --port $(PORT)

## test: lint, type-check, then the whole suite (PostgreSQL and browser tests included)
test: install-dev services lint typecheck
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

## services: what the suite talks to. PostgreSQL at 127.0.0.1:5432 (started if it is installed
## but down) and Debian's chromium for the dashboard tests (installed if missing and we may).
## The suite itself fails, rather than skips, when CI is set and either is missing.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || \
	  { command -v pg_ctlcluster >/dev/null && ls /etc/postgresql >/dev/null 2>&1 && \
	    pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n 1) main start; } || \
	  echo "note: PostgreSQL is not reachable at 127.0.0.1:5432; its tests will skip (fail in CI)"
	@command -v chromium >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null; } || \
	  echo "note: chromium is not installed; the dashboard tests will skip (fail in CI)"

lint:
	$(BIN)/ruff check tasktrack tests bench
	$(BIN)/ruff format --check tasktrack tests bench

fmt: install-dev
	$(BIN)/ruff format tasktrack tests bench
	$(BIN)/ruff check --fix tasktrack tests bench

typecheck:
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
