# Thin targets: a newcomer needs only `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# `PORT=8006 make run` and `TASKTRACK_PORT=8006 make run` both work (as does HOST/TASKTRACK_HOST).
HOST ?= $(or $(TASKTRACK_HOST),127.0.0.1)
PORT ?= $(or $(TASKTRACK_PORT),8000)
# make run's API key, kept between runs (owner-only; data/ is where the SQLite file lives too).
RUN_KEY ?= data/make-run.key
# `make test INSTALL_SYSTEM=1` may install system packages (apt-get) outside CI too.
INSTALL_SYSTEM ?=
SYSTEM_PACKAGES := chromium fonts-liberation
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

## run: server + worker + dashboard on a SQLite file; prints the URL and an API key (the same
## key every run while it works: it is kept in $(RUN_KEY))
run: install
	@$(BIN)/tasktrack apikey create --label "make run" --keep-in $(RUN_KEY) >/dev/null
	@echo "API key:   $$(cat $(RUN_KEY))   (kept in $(RUN_KEY))"
	@echo "Try:       curl -H \"X-API-Key: $$(cat $(RUN_KEY))\" http://$(HOST):$(PORT)/v2.0/tasks"
	@echo "API docs:  http://$(HOST):$(PORT)/docs"
	$(BIN)/tasktrack serve --host $(HOST) --port $(PORT)

## test: lint, type-check, then the whole suite (PostgreSQL and browser tests included)
test: install-dev services lint typecheck
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

## services: what the suite talks to. PostgreSQL at 127.0.0.1:5432 (started if it is installed
## but down) and Debian's chromium for the dashboard tests. System packages are installed
## (apt-get, as root) only in CI (CI set) or when asked with INSTALL_SYSTEM=1, and the line
## before says which; otherwise a missing one is a note and its tests skip.
## The suite itself fails, rather than skips, when CI is set and either is missing.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || \
	  { command -v pg_ctlcluster >/dev/null && ls /etc/postgresql >/dev/null 2>&1 && \
	    echo "starting the local PostgreSQL cluster (pg_ctlcluster)" && \
	    pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n 1) main start; } || \
	  echo "note: PostgreSQL is not reachable at 127.0.0.1:5432; its tests will skip (fail in CI)"
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ -z "$$CI" ] && [ -z "$(INSTALL_SYSTEM)" ]; then \
	  echo "note: chromium is not installed; the dashboard tests will skip."; \
	  echo "      To install it: apt-get install $(SYSTEM_PACKAGES), or make test INSTALL_SYSTEM=1"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing system packages with apt-get: $(SYSTEM_PACKAGES)"; \
	  apt-get update -qq && \
	    apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null || \
	    echo "note: installing $(SYSTEM_PACKAGES) failed; the dashboard tests will fail in CI"; \
	else \
	  echo "note: chromium is missing and this is not root with apt-get: run as root"; \
	  echo "      apt-get install $(SYSTEM_PACKAGES) (the dashboard tests skip; fail in CI)"; \
	fi

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
