# The lakehouse, on a laptop (embedded default) and on Kubernetes (infrastructure/platform.mk).
# Targets follow SETUP_GUIDE.md and TEARDOWN.md: setup, demo, dev, test, lint, docs, up, down.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
# uv is the measured fast path; bootstrap it into .tools/ when the machine has none.
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
RUN := $(UV) run --frozen

# The embedded default; `.env` (git-ignored, made from .env.example) may override any of these.
-include .env
export LAKEHOUSE_PROFILE ?= local
export LAKEHOUSE_DATA_DIR ?= $(CURDIR)/.data
# The dbt target follows the profile (lakehouse.settings.Profile.dbt_target): one source.
DBT_TARGET := $(if $(filter k8s,$(LAKEHOUSE_PROFILE)),trino,local)
export DAGSTER_HOME ?= $(LAKEHOUSE_DATA_DIR)/dagster
export DBT_PROFILES_DIR := $(CURDIR)/transformations
export DLT_TELEMETRY_DISABLED := 1
ifdef LAKEHOUSE_DUCKDB_MEMORY_LIMIT  # DuckDB's cap in dbt runs (default 1GB: profiles.yml)
export LAKEHOUSE_DUCKDB_MEMORY_LIMIT
endif
ifdef LAKEHOUSE_PUBLISH_MEMORY_LIMIT  # DuckDB's cap in the publish step (default 256MB)
export LAKEHOUSE_PUBLISH_MEMORY_LIMIT
endif
ifdef LANDING_CONTRACTS_DIR  # landing contract files (default ingestion/landing/contracts)
export LANDING_CONTRACTS_DIR
endif
export DO_NOT_TRACK := 1
# dbt-core asks for sqlglot[rs], which warns on every import; harmless (pyproject.toml pins sqlglot).
export PYTHONWARNINGS := ignore:sqlglot[rs] is deprecated:UserWarning

DBT := cd transformations && $(RUN) dbt
DAYS ?= 3

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_][a-zA-Z_ -]*:.*## ' $(MAKEFILE_LIST) \
		| awk -F':.*## ' '{gsub(/ /, " / ", $$1); if (length($$1) > 16) printf "  %s\n  %-16s %s\n", $$1, "", $$2; else printf "  %-16s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	@echo "==> uv not found: installing it into .tools/ (once)"
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==0.13.9

.env:
	@cp .env.example .env
	@echo "==> wrote .env from .env.example (git-ignored; edit it to change profile or folders)"

.PHONY: setup
setup: $(UV) .env ## Install the locked environment (.venv) and the local settings file
	@echo "==> installing the locked environment with uv"
	@# Bytecode at install time: every run starts a fresh interpreter (and dbt one more), and
	@# without .pyc files (or with PYTHONDONTWRITEBYTECODE set) each one recompiles its imports.
	@$(UV) sync --frozen --compile-bytecode --quiet
	@mkdir -p "$(DAGSTER_HOME)" && cp -n orchestration/dagster.yaml "$(DAGSTER_HOME)/dagster.yaml" 2>/dev/null || true

.PHONY: manifest
manifest: setup ## Parse the dbt project (manifest the code location loads)
	@echo "==> dbt parse --target $(DBT_TARGET)"
	@$(DBT) parse --quiet --target $(DBT_TARGET) --target-path target/$(DBT_TARGET)

.PHONY: demo
demo: manifest ## Materialize the whole graph for DAYS business dates from 2024-01-01 (default 3; VERBOSE=1 logs all)
	@$(RUN) python -m orchestration.demo --days $(DAYS) $(if $(VERBOSE),--verbose)

DAGSTER_PORT ?= 3000
.PHONY: dev
dev: manifest ## The Dagster UI and daemon on http://localhost:3000 (DAGSTER_PORT=3001 for another port)
	@# dagster dev would silently take a random port when this one is busy (often: a make dev
	@# already running, whose daemon a second one would fight over the same instance).
	@if (exec 3<>/dev/tcp/127.0.0.1/$(DAGSTER_PORT)) 2>/dev/null; then \
		echo "port $(DAGSTER_PORT) is taken (another make dev?): stop it, or make dev DAGSTER_PORT=3001" >&2; \
		exit 1; fi
	@echo "==> Dagster UI on http://localhost:$(DAGSTER_PORT) (Ctrl-C stops it)"
	@# Ctrl-C stops the whole tree within 20 s, however dagster dev takes it (orchestration/foreground.py).
	$(RUN) python -m orchestration.foreground -- dagster dev -p $(DAGSTER_PORT)

MLFLOW_PORT ?= 5000
.PHONY: mlflow
mlflow: setup ## The MLflow UI of the churn model's runs and versions on http://localhost:5000 (MLFLOW_PORT=...)
	@if (exec 3<>/dev/tcp/127.0.0.1/$(MLFLOW_PORT)) 2>/dev/null; then \
		echo "port $(MLFLOW_PORT) is taken: stop what uses it, or make mlflow MLFLOW_PORT=5001" >&2; \
		exit 1; fi
	@echo "==> MLflow UI on http://localhost:$(MLFLOW_PORT) (Ctrl-C stops it)"
	$(RUN) python -m ml.ui --port $(MLFLOW_PORT)

.PHONY: validate
validate: manifest ## dg check defs: the code location loads from its defs folders and validates
	$(RUN) dg check defs

# Runs from the command line (run_*, backfill, maintain, demo) are launched like the UI's
# (orchestration/launch.py): same code location, shown on the job pages and the timeline,
# recorded by the failure sensor.
.PHONY: run_raw run_bronze run_silver run_gold
run_raw run_bronze run_silver run_gold: run_%: manifest ## Materialize one layer for PARTITION (default: the first day)
	@$(RUN) python -m orchestration.launch --job $*_job --start "$(or $(PARTITION),2024-01-01)"

.PHONY: backfill
backfill: manifest ## One run of JOB (default lakehouse_job) over START..END (make backfill START=2024-01-01 END=2024-01-07)
	@$(if $(START),,$(error give the first date: make backfill START=2024-01-01 END=2024-01-07))
	@$(RUN) python -m orchestration.launch --job "$(or $(JOB),lakehouse_job)" \
		--start "$(START)" --end "$(or $(END),$(START))"

.PHONY: land
land: manifest ## Land SOURCE's files of ingest DATE into raw (make land SOURCE=partners DATE=2024-01-01)
	$(RUN) python -m orchestration.land --source "$(SOURCE)" --date "$(DATE)"

.PHONY: maintain
maintain: manifest ## Maintain every Iceberg table once: compact, expire snapshots, remove orphans
	@$(RUN) python -m orchestration.launch --job table_maintenance_job

.PHONY: sql
sql: $(UV) ## SQL shell on raw/silver/gold, never blocking a run (SQL="select ..." runs one; AS_OF=<tag>)
	@$(RUN) python -m lakehouse.sql $(if $(SQL),--sql "$(SQL)") $(if $(AS_OF),--as-of "$(AS_OF)")

SUPERSET_PORT ?= 8088
.PHONY: dashboards
dashboards: setup ## Superset with the dashboards on http://localhost:8088 over the published gold (SUPERSET_PORT=...)
	@echo "==> installing Superset's own locked environment (analytics/superset)"
	@$(UV) sync --frozen --quiet --project analytics/superset
	@$(RUN) python -m analytics.server --port $(SUPERSET_PORT)

.PHONY: rollback
rollback: $(UV) ## Roll TABLE back to tag TO, saying what changes first (no TO: list the tags; YES=1)
	@$(RUN) python -m lakehouse.rollback "$(TABLE)" $(if $(TO),--to "$(TO)") $(if $(YES),--yes)

# Two pytest-xdist workers: much of the suite waits on subprocesses (dbt, servers, make). Groups
# (tests/conftest.py) keep a module's fixtures, and the tests sharing transformations/target, in
# one worker. TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= 2
.PHONY: test
test: manifest ## Run the test suite (TEST_WORKERS=2 parallel workers; PYTEST_ARGS=... to pick tests)
	$(RUN) pytest -q -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder $(PYTEST_ARGS)

.PHONY: lint
lint: setup ## ruff check and format check
	$(RUN) ruff check .
	$(RUN) ruff format --check .

.PHONY: format
format: setup ## ruff format and autofix
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

DOCS_PORT ?= 8090
.PHONY: docs docs-build
# --no-compile --empty-catalog: the site is built from the project alone, never opening the
# pipeline's DuckDB file, so it can be built while a run writes (column types come from the yml).
docs-build: manifest ## Build the dbt docs site of the local profile without touching the DuckDB file
	$(DBT) docs generate --target local --target-path target/local --no-compile --empty-catalog

docs: docs-build ## dbt docs generate + serve for the local profile (http://localhost:8090; DOCS_PORT=...)
	$(DBT) docs serve --target local --target-path target/local --port $(DOCS_PORT)

.PHONY: bench
bench: manifest ## Benchmark the pipeline against a bare-DuckDB floor (BENCH_ARGS="--scale-factors 4.8,48")
	$(RUN) python -m bench.run $(BENCH_ARGS)

.PHONY: bench_landing
bench_landing: setup ## Land a generated 2M-row CSV (rows, time, peak RSS; BENCH_LANDING_ARGS="--rows 500000")
	$(RUN) python -m bench.landing $(BENCH_LANDING_ARGS)

.PHONY: clean
clean: ## Remove the local data folder (warehouse, catalog, DuckDB file, Dagster runs)
	rm -rf "$(LAKEHOUSE_DATA_DIR)" transformations/target

-include infrastructure/platform.mk
