# The two front-door commands: `make run` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check lint bench chaos clean browser-deps postgres-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test,postgres]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python run.py

# The PostgreSQL tests must run (not skip) once PostgreSQL is installed or could be (root).
REQUIRE_POSTGRES = $(shell if [ "$$(id -u)" = "0" ] || ls /usr/lib/postgresql/*/bin/initdb \
	>/dev/null 2>&1; then echo 1; else echo 0; fi)

test: $(STAMP) browser-deps postgres-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	BACKORDERS_REQUIRE_POSTGRES=$(REQUIRE_POSTGRES) $(BIN)/python -m pytest

# The fast tier for daily work (under 2 minutes): lint, types and the unit tests, each hypothesis
# property at a twentieth of its examples (tests/examples.py). `make test` keeps full strength.
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	BACKORDERS_EXAMPLES=0.05 $(BIN)/python -m pytest tests/unit -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

# Issue 7: 1,000 orders under duplicated/dropped deliveries, 429/5xx, killed workers and a Redis
# restart, then every invariant checked against the sandbox (tests/e2e/chaos.py). Not part of
# `make bench` (it lives under tests/); `make test` runs a reduced one per platform
# (tests/e2e/test_chaos.py). WooCommerce by default; `make chaos PLATFORM=shopify` runs it
# against the Shopify sandbox (issue 16).
PLATFORM ?= woocommerce
chaos: $(STAMP)
	$(BIN)/python -m tests.e2e.chaos --platform $(PLATFORM) --orders 1000

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache .hypothesis

# The browser tests (tests/e2e/browser) drive Debian's Chromium. Installed only when missing
# and only as root; otherwise say what to run (the browser tests then skip with that reason).
browser-deps:
	@if [ -x /usr/bin/chromium ]; then \
		true; \
	elif [ "$$(id -u)" = "0" ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	else \
		echo "browser-deps: /usr/bin/chromium is missing; run as root: apt-get update && apt-get install -y chromium"; \
	fi

# The storage, integration and e2e tests also run on PostgreSQL: a throw-away cluster that the
# tests start in a temporary folder with Debian's binaries (tests/postgres.py), no service.
# Installed like Chromium: only when missing and only as root.
postgres-deps:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		true; \
	elif [ "$$(id -u)" = "0" ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql; \
	else \
		echo "postgres-deps: PostgreSQL is missing; run as root: apt-get update && apt-get install -y postgresql (the PostgreSQL tests skip until then)"; \
	fi
