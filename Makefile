# Two commands on a fresh machine: `make run` and `make test`. Both create .venv from pyproject.toml.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
N      ?= 2000

# Quiet, per-checkout Prefect state unless the user points at a server (PREFECT_API_URL).
export PREFECT_HOME ?= $(CURDIR)/var/prefect
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false

.PHONY: setup run test test-fast test-random bench bench-scale bench-history lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/huunghi run

# Both cores: the end-to-end tests mostly wait on servers and subprocesses. One test file per worker
# (loadfile), so a module's fixtures (a served site, a Prefect server) start once.
PYTEST_PARALLEL := -n 2 --dist loadfile

test: $(STAMP)
	$(BIN)/ruff check .
	bash scripts/test-system-packages.sh
	$(BIN)/pytest -q $(PYTEST_PARALLEL)

# The library alone: no Prefect server, no `huunghi` process, nothing killed, no test of 3 s or more (`slow`);
# under a minute. Spread test by test over both cores: these tests share no server, so no file needs one worker
# of its own.
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -q -m "not e2e and not slow" -n 2 --dist load

# The whole suite once in a random order (pytest-randomly): no test may depend on another's leftovers.
test-random: $(STAMP)
	bash scripts/test-system-packages.sh
	$(BIN)/pytest -q -p randomly $(PYTEST_PARALLEL)

BENCH_STAMP := $(VENV)/.installed-bench
SCALE ?= 2000 20000 200000

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,bench]'
	touch $(BENCH_STAMP)

# A benchmark, not a test: huunghi against datatrove and bare trafilatura on the same pages (flows/bench.py).
bench: $(BENCH_STAMP)
	$(BIN)/python -m huunghi.flows.bench --pages $(N)

# `make bench-scale PEER=1`: datatrove on the same pages after each size, and both marginal costs a page.
bench-scale: $(BENCH_STAMP)
	$(BIN)/python -m huunghi.flows.bench --scale $(SCALE) $(if $(PEER),--with-peer)

# A 3-page run into a warehouse of N simulated articles (built directly, cached under var/bench) and into an empty
# one; REAL=20000 also into that many real-pipeline articles. `make bench-history N=1000000` for the long history.
HISTORY_N := $(if $(filter command line,$(origin N)),$(N),100000)
bench-history: $(BENCH_STAMP)
	$(BIN)/python -m huunghi.flows.bench --history $(HISTORY_N) $(if $(REAL),--real $(REAL))

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf var/ $(VENV)
