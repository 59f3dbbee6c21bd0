# BreachDesk developer commands. `make run` and `make test` work from a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PG_ADMIN_URL ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: run run-prod test test-fast test-pg test-browser lint bench soak-short venv clean coverage-rules

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

## Start the web app (gunicorn, 2 workers, http://127.0.0.1:5000) and the scheduler.
run: $(STAMP)
	@bash deploy/run-dev.sh

## Production-shaped start: DATABASE_URL and SECRET_KEY from the environment.
run-prod: $(STAMP)
	@APP_ENV=production bash deploy/run-dev.sh

## The whole suite on SQLite (and PostgreSQL too when TEST_DATABASE_URL is set), on every core
## (pytest-xdist -n auto; PYTEST_ARGS="-n 0" runs it in one process).
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

## The suite without the tests marked slow (subprocesses, SIGKILL, real workers).
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

## The suite against a throwaway PostgreSQL database on 127.0.0.1:5432.
test-pg: $(STAMP)
	@db=bd_test_$$$$_$$RANDOM; \
	psql "$(PG_ADMIN_URL)" -q -c "CREATE DATABASE $$db" || exit 1; \
	trap 'psql "$(PG_ADMIN_URL)" -q -c "DROP DATABASE IF EXISTS $$db WITH (FORCE)"' EXIT; \
	TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/$$db $(PY) -m pytest

## The rules engine must keep 100 % branch coverage (in one process: -n 0).
coverage-rules: $(STAMP)
	$(PY) -m pytest -q -n 0 tests/rules --cov=incident_app.rules --cov-branch \
	  --cov-report=term-missing:skip-covered --cov-fail-under=100

test-browser: $(STAMP)
	$(PY) -m pytest tests/browser

## Ruff (lint and format) and mypy (strict on rules/ and services/; see pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

## Every benchmark in bench/ (files starting with _ are helpers); BENCH_ARGS_<name> adds options,
## e.g. make bench BENCH_ARGS_web_load="--incidents 1000 --roster 100000 --seconds 10".
bench: $(STAMP)
	@for script in bench/[!_]*.py; do \
	  name=$$(basename "$$script" .py); var="BENCH_ARGS_$$name"; \
	  echo "== $$script $${!var}"; $(PY) "$$script" $${!var} | tail -n 1; \
	done

## A short soak (issue 18): gunicorn + scheduler under load on SQLite, ~45 s. Fails unless
## errors_5xx=0 locked=0 readyz_fail=0, every reminder sent, the roster import committed,
## every letter rendered and no duplicates. CI gates on it (.ci/run).
## Full length: $(PY) bench/soak.py [--database-url postgresql+psycopg://…/bd_soak]
soak-short: $(STAMP)
	$(PY) bench/soak.py --seconds 20 --letters 60 --roster-rows 10000 --export-every 3 \
	  --reminder-every 4 --drain 30 --check

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
