# MediaParser — the two commands a newcomer needs:
#   make run    set everything up, then start the web app and a worker (http://127.0.0.1:5000)
#   make test   set everything up, then run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: run test setup setup-dev worker lint bench clean-venv

$(VENV)/.runtime: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

setup: $(VENV)/.runtime
	@scripts/system-deps.sh run

setup-dev: $(VENV)/.dev
	@scripts/system-deps.sh test

run: setup
	$(PY) run.py

worker: setup
	$(PY) worker.py

test: setup-dev
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: setup-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: setup-dev
	$(PY) bench/import_bench.py
	$(PY) bench/duplicates_bench.py
	$(PY) bench/web_bench.py
	$(PY) bench/export_bench.py

clean-venv:
	rm -rf $(VENV)
