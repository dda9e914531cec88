# Two commands: `make run` (demo site and API on http://127.0.0.1:8000) and `make test` (whole suite, PostgreSQL).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test fuzz venv migrate demo bench-ingest bench-influence bench-api worker beat

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

migrate: venv
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py recompute_interest
	$(BIN)/python manage.py recompute_influence
	$(BIN)/python manage.py demo_access

run: demo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: venv
	$(BIN)/python -m pytest

# Schemathesis's coverage and fuzzing phases over the whole API, in process on the test database (a few minutes;
# FUZZ_EXAMPLES sets the random cases per operation). A separate CI step: see tests/fuzz_api.py.
fuzz: venv
	$(BIN)/python -m pytest tests/fuzz_api.py

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
