# Two commands: `make run` (demo site and API on http://127.0.0.1:8000) and `make test` (whole suite, PostgreSQL).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve-prod run test test-suite test-browser test-production chromium fuzz venv venv-dev migrate demo bench-ingest bench-influence bench-api bench-pages bench-outcomes bench-load worker beat
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

# Test-only packages (pytest, factory-boy, hypothesis, schemathesis, import-linter), on top of the runtime:
# `make test` and `make fuzz` install them, `make run` never does.
$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

venv-dev: $(VENV)/.installed-dev

migrate: venv
	$(BIN)/python manage.py migrate --noinput

# load_demo replays six months day by day (actions, snapshots, influence runs up to last midnight; adds nothing when
# run again); recompute_interest then values every score at the present moment.
demo: migrate
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py recompute_interest
	$(BIN)/python manage.py demo_access

run: demo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# The whole suite, in two steps: everything but the browser tests, then the browser tests (Debian's Chromium,
# installed here when missing: Playwright cannot download its own browsers on this network).
test: test-suite test-browser

test-suite: venv-dev
	$(BIN)/python -m pytest

chromium:
	@command -v chromium >/dev/null 2>&1 || { echo "installing Debian's chromium"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

test-browser: venv-dev chromium
	$(BIN)/python -m pytest -m browser tests/browser

# Production stacks as processes (settings.prod: gunicorn, a Celery worker per queue, beat; deploy/stack.py) with
# faults injected: workers SIGKILLed mid-pass and mid-recompute, a private PostgreSQL cluster restarted and a private
# Redis stopped during ingest, two stacks on one database. A separate CI step (tests/production/, a few minutes);
# runs as root (initdb and pg_ctl run as the postgres user through runuser). Logs in var/production-tests/.
test-production: venv-dev
	$(BIN)/python -m pytest -m production tests/production

# Schemathesis's coverage and fuzzing phases over the whole API, then hypothesis's structured hostile bodies for ingest
# and the Discourse webhook, in process on the test database (a few minutes; FUZZ_EXAMPLES scales both). A separate
# CI step: see tests/fuzz_api.py and tests/fuzz_bodies.py.
fuzz: venv-dev
	$(BIN)/python -m pytest tests/fuzz_api.py tests/fuzz_bodies.py

# The production stack on this machine: settings.prod, gunicorn on 127.0.0.1:8000, a Celery worker per queue and
# beat, against the local PostgreSQL (database community_scoring) and Redis (deploy/serve_prod.py says what it sets).
serve-prod: venv
	$(BIN)/python deploy/serve_prod.py

worker: venv
	$(BIN)/celery -A settings worker --loglevel=info

beat: venv
	$(BIN)/celery -A settings beat --loglevel=info

bench-ingest: venv
	$(BIN)/python bench/ingest.py

bench-influence: venv
	$(BIN)/python bench/influence.py

bench-api: venv
	$(BIN)/python bench/api.py

# Server time of the pages at 100k members and 10M actions (builds cs_bench_pages on first use; see bench/pages.py).
bench-pages: venv
	$(BIN)/python bench/pages.py

# The production stack (deploy/Procfile's processes) under 5 minutes of batched ingest at 2,000 events/s and 50 reads/s
# of leaderboards and audience views, driven by locust (requirements-dev.txt); recreates cs_bench_load (see bench/load.py;
# BENCH_ARGS="--seconds 30" for a short run).
bench-load: venv-dev
	$(BIN)/python bench/load.py $(BENCH_ARGS)

# Time of each piece of issue 14 (outcomes intake, quality report, calibration, replay, experiment report, gaming scan)
# at 100k members (builds cs_bench_outcomes on first use; see bench/outcomes.py; BENCH_ARGS="--members 10000").
bench-outcomes: venv
	$(BIN)/python bench/outcomes.py $(BENCH_ARGS)
