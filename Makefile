# Imagify Analytics — every target does its own set-up (idempotent, from pinned requirements).
PYTHON ?= python3
VENV := .venv
FLINK_VENV := .venv-flink
APP_STAMP := $(VENV)/.imagify-setup
FLINK_STAMP := $(FLINK_VENV)/.imagify-setup
PIP_FLAGS := --disable-pip-version-check --quiet

.PHONY: lock help setup demo test test-unit test-fast test-e2e lint dagster-dev clean serve bench-api browser-deps api-deps dashboards soak

help:  ## Show the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

JVM_ARTIFACTS_STAMP := build/jvm-artifacts/.verified

JVM_JAR := build/jvm/imagify-jvm.jar
KINESIS_JAR := build/jvm/flink-connector-aws-kinesis-streams-6.0.1.jar

setup: $(APP_STAMP) $(FLINK_STAMP) $(JVM_ARTIFACTS_STAMP) $(JVM_JAR) $(KINESIS_JAR)  ## Create .venv and .venv-flink, fetch the pinned JVM jars, build jvm/ (only what changed)

$(JVM_JAR) $(KINESIS_JAR) &: $(FLINK_STAMP) $(JVM_ARTIFACTS_STAMP) jvm/build.sh dbt/seeds/prompt_stopwords.csv $(shell find jvm/src jvm/vendor -type f 2>/dev/null)
	@echo "==> building $(JVM_JAR) (the contract in Java, jvm/src) and $(KINESIS_JAR) (jvm/vendor)"
	@jvm/build.sh $(FLINK_VENV)
	@touch $(JVM_JAR) $(KINESIS_JAR)

$(JVM_ARTIFACTS_STAMP): requirements/jvm.lock flink_jobs/jvm_artifacts.py
	@echo "==> fetching the pinned JVM artefacts (requirements/jvm.lock)"
	@$(PYTHON) -m flink_jobs.jvm_artifacts fetch
	@touch $@

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

# TEST_WORKERS pytest-xdist processes (default 2; 0 = one process). Most of a serial run's time is spent
# waiting on JVM start-ups, servers and single-threaded dbt/Dagster processes (45 % of 2 cores idle): on two
# workers `make test` takes ~21 min instead of ~35.
TEST_WORKERS ?= 2

test: setup lint audit browser-deps api-deps  ## Lint, dependency audit, then every test (on TEST_WORKERS=2 processes, slowest modules first)
	$(VENV)/bin/pytest -q --durations=25 -n $(TEST_WORKERS) --dist worksteal tests

test-unit: setup browser-deps api-deps  ## The tests that are not whole user journeys (e2e): tests/unit and tests/integration; they still start Flink, dbt, Chromium
	$(VENV)/bin/pytest -q -n $(TEST_WORKERS) --dist worksteal -m "not e2e" tests

test-fast: setup  ## Python only, < 2 min after set-up: no Flink, dbt, Dagster run, browser, AWS emulator or server (pyproject markers); some tests read the fetched jars and the Flink venv
	$(VENV)/bin/pytest -q -n 2 --dist worksteal -m "not (e2e or flink or dbt or dagster or browser or aws or services)" tests

lint: $(APP_STAMP)  ## ruff, and the import layers of the packages (import-linter, pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

dagster-dev: setup  ## Dagster UI over the same DAGSTER_HOME that `imagify build` uses
	$(VENV)/bin/imagify dagster-dev

clean:  ## Remove local state ($$IMAGIFY_HOME) — keeps the virtualenvs
	rm -rf $${IMAGIFY_HOME:-.imagify}

lock: setup  ## Re-pin requirements/*.lock from the current virtualenvs
	(echo "# Full transitive pins for .venv (regenerate: make lock)"; $(VENV)/bin/pip freeze --exclude-editable | grep -v imagify) > requirements/app.lock
	(echo "# Full transitive pins for .venv-flink (regenerate: make lock)"; $(FLINK_VENV)/bin/pip freeze) > requirements/flink.lock

serve: setup  ## Run the generation API on http://127.0.0.1:8000 (docs at /docs)
	$(VENV)/bin/imagify serve

bench-api: setup  ## Benchmark POST /v1/generations against GET /healthz (req/s, p50/p99)
	$(VENV)/bin/python benchmarks/api_bench.py

# -- AWS production path (issue 5) --------------------------------------------------------------
.PHONY: flink-jars flink-package deploy bench-producer e2e-aws smoke-aws

e2e-aws: setup  ## The production path on emulators: deploy onto moto, the packaged Flink apps (landing, real-time) on Kinesis + S3, kill and resume (in make test)
	$(VENV)/bin/pytest -q tests/e2e/test_e2e_aws.py tests/e2e/test_e2e_aws_realtime.py

flink-jars: $(JVM_ARTIFACTS_STAMP)  ## Fetch and verify the pinned JVM jars (requirements/jvm.lock) into build/jvm-artifacts

flink-package: setup  ## Build the Managed Flink application zips (landing, real-time) into build/flink (each one jarfile of pinned jars)
	$(VENV)/bin/python -m imagify.flink_package build

deploy: setup  ## imagify deploy: package, upload and create/update the AWS stacks (IMAGIFY_ENV=aws)
	IMAGIFY_ENV=aws $(VENV)/bin/imagify deploy

smoke-aws: setup  ## REAL AWS account (costs money): deploy, simulate, land, build, publish, check, tear down (IMAGIFY_SMOKE_ACCOUNT, IMAGIFY_AWS_REGION)
	$(VENV)/bin/imagify smoke-aws $(if $(YES),--yes,)

bench-producer: $(APP_STAMP)  ## Kinesis producer: CPU µs/event and events/s (stubbed client, stubbed HTTP, moto server)
	$(VENV)/bin/python benchmarks/producer_bench.py
# -- Dagster area (issue 6) ---------------------------------------------------------------------
.PHONY: dagster status browser-deps test-browser

dagster: setup  ## Dagster UI (dagster dev) with the demo's data (runs `imagify demo` first if nothing is built)
	$(VENV)/bin/imagify ui --demo-data

status: setup  ## One screen: landing lag, lake, last runs, failing checks, stale marts, alerts
	$(VENV)/bin/imagify status

browser-deps:  ## Chromium for the UI browser test (Debian package; skipped with a message without apt)
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
		echo "chromium: $$(command -v chromium || command -v chromium-browser)"; \
	elif command -v apt-get >/dev/null 2>&1; then \
		echo "==> installing chromium (apt)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "browser-deps: no apt-get here; install Chromium yourself (the browser test is skipped without it)"; \
	fi

api-deps:  ## redis-server for the API's Redis tests (Debian package; the tests start their own on a free port)
	@if command -v redis-server >/dev/null 2>&1; then \
		echo "redis-server: $$(command -v redis-server)"; \
	elif command -v apt-get >/dev/null 2>&1; then \
		echo "==> installing redis-server (apt)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server >/dev/null; \
	else \
		echo "api-deps: no apt-get here; install redis-server yourself (the Redis tests are skipped without it)"; \
	fi

test-browser: setup browser-deps  ## Headless Chromium against `dagster dev`: asset graph and checks pages, screenshots
	$(VENV)/bin/pytest -q tests/e2e/test_ui_browser.py
dashboards: setup  ## Serve the business dashboards locally from the DuckDB marts (http://127.0.0.1:8765)
	$(VENV)/bin/imagify dashboards serve
.PHONY: realtime bench-realtime
realtime: setup  ## Real-time metrics: Flink windows → live store + alerts, live view on :8050 (Ctrl-C stops)
	$(VENV)/bin/imagify realtime --serve-port 8050

RT_RATE ?= 20000
RT_SECONDS ?= 600
RT_RUNS ?= 5
bench-realtime: setup  ## Benchmark: publish → live-store latency, 5 runs of 10 min at 20,000 events/s (RT_RATE, RT_SECONDS, RT_RUNS)
	$(VENV)/bin/python benchmarks/realtime_bench.py --rate $(RT_RATE) --seconds $(RT_SECONDS) --runs $(RT_RUNS) \
		--out benchmarks/results/realtime.json
soak: setup  ## Long fault-injection runs (issue 9): more kills, more events, many more hostile examples
	IMAGIFY_SOAK=1 $(VENV)/bin/pytest -q -s tests/e2e/test_fault_flink_crash.py tests/e2e/test_fault_build_interrupted.py \
		tests/unit/ingestion/test_fault_disk_full.py tests/unit/ingestion/test_fault_hostile_records.py \
		tests/unit/generation_service/test_api_hostile.py tests/unit/generation_service/test_api_schemathesis.py
# -- benchmarks (issue 8) -----------------------------------------------------------------------
.PHONY: bench bench-quick

bench: setup  ## The benchmark suite (< 30 min): publish, landing, freshness, build, scale, API; table + JSON
	$(VENV)/bin/python benchmarks/run.py

bench-quick: setup  ## A small version of the suite (< 2 min; also run by `make test`)
	$(VENV)/bin/python benchmarks/run.py --quick

audit: $(APP_STAMP)  ## pip-audit of requirements/*.lock; fails on findings not in requirements/audit-allowlist.toml
	$(VENV)/bin/python -m imagify.dep_audit

.PHONY: audit
