# Imagify Analytics — every target does its own set-up (idempotent, from pinned requirements).
PYTHON ?= python3
VENV := .venv
FLINK_VENV := .venv-flink
APP_STAMP := $(VENV)/.imagify-setup
FLINK_STAMP := $(FLINK_VENV)/.imagify-setup
PIP_FLAGS := --disable-pip-version-check --quiet

.PHONY: lock help setup demo test test-unit test-e2e lint dagster-dev clean

help:  ## Show the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: $(APP_STAMP) $(FLINK_STAMP)  ## Create .venv and .venv-flink (only what changed)

$(APP_STAMP): $(wildcard requirements/*.txt) requirements/app.lock pyproject.toml
	@echo "==> setting up $(VENV) (dbt, Dagster, CLI, tests)"
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install $(PIP_FLAGS) -r requirements/app.txt -c requirements/app.lock
	@$(VENV)/bin/pip install $(PIP_FLAGS) --no-deps -e .
	@touch $@

$(FLINK_STAMP): requirements/flink.txt requirements/flink.lock
	@echo "==> setting up $(FLINK_VENV) (PyFlink landing job)"
	@test -x $(FLINK_VENV)/bin/python || $(PYTHON) -m venv $(FLINK_VENV)
	@$(FLINK_VENV)/bin/pip install $(PIP_FLAGS) -r requirements/flink.txt -c requirements/flink.lock
	@touch $@

demo: setup  ## Simulate 2,000 users x 30 days, land with Flink, build with dbt+Dagster, print a summary
	$(VENV)/bin/imagify demo

test: setup lint  ## Lint, unit tests, then the end-to-end test (real Flink, dbt, Dagster)
	$(VENV)/bin/pytest -q tests

test-unit: setup  ## Fast unit tests only
	$(VENV)/bin/pytest -q -m "not e2e" tests

lint: $(APP_STAMP)  ## ruff
	$(VENV)/bin/ruff check .

dagster-dev: setup  ## Dagster UI over the same DAGSTER_HOME that `imagify build` uses
	$(VENV)/bin/imagify dagster-dev

clean:  ## Remove local state ($$IMAGIFY_HOME) — keeps the virtualenvs
	rm -rf $${IMAGIFY_HOME:-.imagify}

lock: setup  ## Re-pin requirements/*.lock from the current virtualenvs
	(echo "# Full transitive pins for .venv (regenerate: make lock)"; $(VENV)/bin/pip freeze --exclude-editable | grep -v imagify) > requirements/app.lock
	(echo "# Full transitive pins for .venv-flink (regenerate: make lock)"; $(FLINK_VENV)/bin/pip freeze) > requirements/flink.lock

# -- benchmarks (issue 8) -----------------------------------------------------------------------
.PHONY: bench bench-quick

bench: setup  ## The benchmark suite (< 30 min): publish, landing, freshness, build, scale, API; table + JSON
	$(VENV)/bin/python benchmarks/run.py

bench-quick: setup  ## A small version of the suite (< 2 min; also run by `make test`)
	$(VENV)/bin/python benchmarks/run.py --quick
