# Thin targets: a newcomer needs only `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export TASKTRACK_DATABASE_URL ?= sqlite:///data/tasktrack.db

.PHONY: run test lint fmt typecheck install install-dev clean

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

## test: lint, type-check, then the whole suite (PostgreSQL tests included)
test: install-dev lint typecheck
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

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
