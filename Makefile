# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint unit install browser clean bench

# Some machines set PYTHONDONTWRITEBYTECODE=1 (this one does). uv installs without bytecode, so
# there every Python process compiled every module it imported from source: ~3.5 s of CPU per
# start, paid again by each pytest worker, each test server and each of its granian workers.
# Let Python keep what it compiles (in __pycache__/, ignored by git).
unexport PYTHONDONTWRITEBYTECODE

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# uv (from PyPI) installs the same pinned packages as pip in a fraction of its time: it fetches
# in parallel and does not compile every module up front (a clean clone: ~22 s instead of ~2 min).
# Where uv cannot be had or fails, pip installs them.
UV_VERSION := 0.13.9
$(STAMP): pyproject.toml | $(BIN)/python
	{ $(BIN)/pip install --quiet uv==$(UV_VERSION) && \
	  $(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'; } || \
	{ $(BIN)/pip install --quiet --upgrade pip && $(BIN)/pip install --quiet -e '.[dev]'; }
	touch $(STAMP)

install: $(STAMP)

## Install everything and start the demo on http://localhost:$(PORT) (make demo PORT=8100)
PORT        ?= 8000
BROKER_PORT ?= 9400
demo: install
	$(BIN)/biblogin demo --port $(PORT) --broker-port $(BROKER_PORT)

## Install everything and run every check and test
# The checks run beside the tests: mypy and Django's checks take one core for ~25 s, while the
# tests leave part of the second idle waiting on servers and browsers. Each line is printed whole.
test: install browser
	$(MAKE) --no-print-directory -j2 --output-sync=line lint unit

# The browser tests drive Debian's Chromium and the production-layout tests Debian's nginx;
# install them when we may (root) and they are missing.
browser:
	@command -v chromium >/dev/null 2>&1 && command -v nginx >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get install -y -q chromium nginx >/dev/null 2>&1 || \
	     (apt-get update -q >/dev/null && apt-get install -y -q chromium nginx >/dev/null)); \
	  else echo "Chromium or nginx is missing: run 'sudo apt-get install chromium nginx'"; exit 1; fi; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy src config
	BIBLOGIN_DEBUG=0 BIBLOGIN_SECURE_COOKIES=1 $(BIN)/biblogin check --deploy --fail-level WARNING
	$(BIN)/biblogin makemigrations --check --dry-run

# PYTEST_ARGS: more pytest options, e.g. "-n 2" for two pytest-xdist workers (.ci/run's choice).
PYTEST_ARGS ?=
unit: install
	$(BIN)/pytest -q $(PYTEST_ARGS)

## Run the benchmarks (5-7 min on 2 cores; see bench/README.md) and append them to bench/RESULTS.md
bench: install
	@test -d bench/peers/node_modules/oidc-provider || (cd bench/peers && npm ci --no-audit --no-fund)
	$(BIN)/python -m bench.run --record

clean:
	rm -rf $(VENV) var
