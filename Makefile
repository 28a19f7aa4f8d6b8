# The two commands a new machine needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# The compiled translation catalogues (built from the committed .po files, never committed).
PO_FILES := $(wildcard locale/*/LC_MESSAGES/*.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: demo test install lint clean-demo bench bench-load bench-render bench-upload bench-export bench-fleet bench-api bench-webhooks bench-hostile reliability

demo: install ## Set up and run the product, the worker and the Amazon sandbox (Ctrl-C stops all)
	@$(PY) scripts/demo.py

# The scale-out run: the integration suite again on PostgreSQL, with Redis as cache and broker,
# and the raw documents in a local S3 stand-in (moto) that the test's processes share.
SCALEOUT_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/aoi
SCALEOUT_REDIS_URL ?= redis://127.0.0.1:6379/14
SCALEOUT_TESTS ?= tests/amazon_settings tests/reports tests/orders tests/deployment tests/bench tests/api/test_sync_postgres.py tests/api/test_webhooks_postgres.py --ignore=tests/reports/test_concurrency.py

# Both runs spread their tests over this many processes (pytest-xdist); each has its own test
# database, sandbox and moto server, and in the scale-out run its own Redis databases and its own
# prefix in the shared S3 bucket (tests/scaleout.py, tests/settings.py). The main run hands out
# whole files (`--dist loadfile`): a browser module tells one story test by test, in order.
# Three on two CPUs: most slow tests wait on their servers and subprocesses (main run 423 s
# with 3, 584 s with 2, on a fresh clone of this machine kind).
TEST_PROCESSES ?= 3

test: install ## Lint and run the whole test suite (and the scale-out run when PostgreSQL and Redis answer)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest -m "not postgres" -n $(TEST_PROCESSES) --dist loadfile --durations=15 $(PYTEST_ARGS)
	@if $(PY) scripts/scaleout_available.py $(SCALEOUT_DATABASE_URL) $(SCALEOUT_REDIS_URL); then \
		echo "Scale-out run: PostgreSQL + Redis"; \
		TEST_DATABASE_URL=$(SCALEOUT_DATABASE_URL) TEST_REDIS_URL=$(SCALEOUT_REDIS_URL) TEST_DOCUMENTS_S3=1 \
			$(VENV)/bin/pytest -n $(TEST_PROCESSES) --durations=15 $(SCALEOUT_TESTS) $(PYTEST_ARGS) || exit 1; \
	elif [ -n "$$CI" ]; then \
		echo "CI must have PostgreSQL and Redis on 127.0.0.1 for the scale-out run." >&2; exit 1; \
	fi

install: $(PY_STAMP) $(NODE_STAMP) $(MO_FILES)

# With polib (pyproject.toml), not GNU gettext's msgfmt: nothing to install by hand.
locale/%.mo: locale/%.po | $(PY_STAMP)
	@$(PY) scripts/compile_messages.py

$(PY_STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 or newer is required: install python3 and python3-venv." >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is required; $(PYTHON) is $$($(PYTHON) --version)." >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "Could not create $(VENV): install python3-venv." >&2; exit 1; }
	@echo "Installing Python packages into $(VENV)…"
	@$(PY) -m pip install --quiet --disable-pip-version-check -e ".[test]" \
		|| { echo "Could not install the Python packages (see above). Is PyPI reachable from this machine?" >&2; exit 1; }
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "Node.js and npm are needed to install Bootstrap from the npm registry: install them (Debian: apt-get install nodejs npm) and run make again." >&2; exit 1; }
	@echo "Installing front-end packages into node_modules…"
	@npm ci --no-audit --no-fund --loglevel=error \
		|| { echo "Could not install the npm packages (see above). Is the npm registry reachable from this machine?" >&2; exit 1; }
	@touch $@

bench: install ## Import speed and memory vs a csv+executemany floor, page times (BENCHMARKS.md)
	$(PY) -m bench.run

bench-load: install ## 50 users on the main pages, 1,000,000 orders, the worker importing (BENCHMARKS.md)
	$(PY) -m bench.load

bench-render: install ## CPU per page render (median, p95) and queries, the load mix's pages on 20,000 orders (BENCHMARKS.md)
	$(PY) -m bench.render

bench-upload: install ## A 199 MiB upload through gunicorn while the worker imports it: web memory, page times, no "database is locked"
	$(PY) -m bench.upload

bench-export: install ## 1,000,000 orders exported as CSV and XLSX through the view: time and peak memory, 100k vs 1M (BENCHMARKS.md)
	$(PY) -m bench.export

bench-api: install ## 1,000,000 orders synced through the REST API over HTTP by cursor pages: pages/s, web memory, 100k vs 1M (BENCHMARKS.md)
	$(PY) -m bench.api

bench-webhooks: install ## Webhook delivery throughput: 10,000 events POSTed signed to a local receiver, 1 and 4 subscriptions (BENCHMARKS.md)
	$(PY) -m bench.webhooks

bench-hostile: install ## The attack run of issue 18 replayed over HTTP on 480,000 orders: does each defence hold (BENCHMARKS.md)
	$(PY) -m bench.hostile

reliability: install ## Inject every fault through the sandbox; print lines and invoices lost, doubled or wrong per fault
	$(PY) scripts/reliability.py $(RELIABILITY_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean-demo: ## Delete the demo's database, secrets and sandbox state
	rm -rf var

# The fleet runs as the issue's deployment does: PostgreSQL, Redis as broker and cache.
BENCH_FLEET_REDIS_URL ?= redis://127.0.0.1:6379/4
bench-fleet: install ## A thousand sellers: DONE to visible with push and polling, calls per order, 429s, idle pass cost (BENCHMARKS.md)
	BENCH_REDIS_URL=$${BENCH_REDIS_URL:-$(BENCH_FLEET_REDIS_URL)} $(PY) -m bench.fleet
