# stepdown — the two commands a newcomer needs are `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint run bench bench-scale profile histories browser clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP) browser compose-cli
	$(BIN)/pytest --cov --cov-report=term --cov-fail-under=88 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy domain workflows

# The whole stack on this machine (Temporal dev server, worker, API, payer simulator, demo
# data); Ctrl-C stops it. Ports and paths are settings: see `$(BIN)/stepdown dev --help`.
run: $(STAMP)
	$(BIN)/stepdown dev

# Benchmarks against the Temporal dev server's own limits, with the load curves (maximum
# sustained rate per operation, latency and CPU per process at 25/50/75 % of the decision
# maximum); writes bench/results/latest.json. BENCH_ARGS=--quick for a short run. Take the
# figures on an otherwise idle machine: another load on the cores makes them meaningless.
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# 10^4 open episodes on the dev server (SQLite file) with the PostgreSQL read model
# (BENCH_POSTGRES_URL, default 127.0.0.1:5432/test, in a private schema); its rows join
# latest.json. SCALE_ARGS="--episodes 50 --small 10" for a short run.
bench-scale: $(STAMP)
	$(BIN)/python -m bench.scale $(SCALE_ARGS)

# py-spy flame graphs (SVG) of the API and the worker under the decision load, into
# bench/results/; PROFILE_ARGS="--rate 10 --seconds 30". py-spy needs ptrace.
profile: $(STAMP)
	$(BIN)/python -m bench.profile decisions $(PROFILE_ARGS)

histories: $(STAMP)
	$(BIN)/python -m tests.workflows.record_histories

# The fault scenarios of tests/faults (worker killed, Temporal and PostgreSQL away, a webhook
# storm, fuzzed input) run once more outside pytest; writes the table in docs/reliability.md.
.PHONY: reliability-report
reliability-report: $(STAMP)
	$(BIN)/python -m tests.faults.report

# Mutation testing (mutmut; targets and tests in pyproject.toml [tool.mutmut]); slow: see
# docs/testing.md for how long. MUTANTS narrows it, e.g. MUTANTS='domain.holds*'; the
# scores and survivors of every module run so far are printed at the end. Results are kept
# in mutants/, so a second run only checks what changed.
MUTATION_JOBS ?= 1
MUTANTS ?=
.PHONY: mutation mutation-sample
mutation: $(STAMP)
	REQUIRE_POSTGRES=1 $(BIN)/mutmut run --max-children $(MUTATION_JOBS) $(MUTANTS)
	$(BIN)/python -m tests.mutation_scores --survivors --fail-under-core 90 --fail-under 80

# The claim gate alone (about 60 mutants, a few minutes): short enough for CI.
mutation-sample: $(STAMP)
	REQUIRE_POSTGRES=1 $(BIN)/mutmut run --max-children $(MUTATION_JOBS) 'domain.claims.x_gate*'
	$(BIN)/python -m tests.mutation_scores

# Debian's Chromium for the console's browser tests; Playwright drives it, nothing is downloaded.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser: $(STAMP)
	@test -x /usr/bin/chromium || ($(SUDO) apt-get update && $(SUDO) apt-get install -y chromium)
	@/usr/bin/chromium --version
	@# axe-core (npm, pinned in package-lock.json) for the accessibility checks of the console.
	@test -f node_modules/axe-core/axe.min.js || { command -v npm >/dev/null \
		|| $(SUDO) apt-get install -y npm; npm ci --no-audit --no-fund; }

# tests/deploy renders deploy/docker-compose.yml with `docker compose config` (or Debian's
# docker-compose when the plugin is absent); nothing else of Docker is needed.
.PHONY: compose-cli
compose-cli:
	@docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null \
		|| ($(SUDO) apt-get update && $(SUDO) apt-get install -y docker-compose)

clean:
	rm -rf $(VENV) .stepdown .pytest_cache .mypy_cache .ruff_cache mutants
