# MediaParser — the two commands a newcomer needs:
#   make run    set everything up, then start the web app and a worker (http://127.0.0.1:5000)
#   make test   set everything up, then run the linters and the whole test suite
#   make test-scale   the database and queue tests again, on PostgreSQL and Redis
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The project is installed editable (its data folders default to instance/ and storage/
# beside the code), at the exact versions in constraints.txt that the suite last passed with.
PIP    := $(PY) -m pip install -q --disable-pip-version-check -c constraints.txt

.PHONY: run test test-scale setup setup-dev worker lint bench constraints clean-venv

$(VENV)/.runtime: pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime
	$(PIP) -e '.[test]'
	@touch $@

$(VENV)/.scale: $(VENV)/.dev
	$(PIP) -e '.[test,scale]'
	@touch $@

setup: $(VENV)/.runtime
	@scripts/system-deps.sh run

setup-dev: $(VENV)/.dev
	@scripts/system-deps.sh test

run: setup
	$(PY) run.py

worker: setup
	$(PY) worker.py

test: lint
	$(PY) -m pytest

# The database and queue tests (tests/pipeline, but the end-to-end ones that start their own
# SQLite set-ups, and the quality measures, which no database changes) on PostgreSQL and Redis: a throwaway cluster and server on 127.0.0.1 from
# Debian's packages (installed when missing), stopped again however the tests end.
SCALE_TESTS ?= tests/pipeline
test-scale: $(VENV)/.scale
	@scripts/scale-services.sh start
	@trap 'scripts/scale-services.sh stop' EXIT; eval "$$(scripts/scale-services.sh env)"; \
	  $(PY) -m pytest -p no:cacheprovider -m "not e2e and not quality" $(SCALE_TESTS)

lint: setup-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: setup-dev
	$(PY) bench/import_bench.py
	$(PY) bench/duplicates_bench.py
	$(PY) bench/web_bench.py
	$(PY) bench/export_bench.py

# After changing a dependency in pyproject.toml: install, run `make test`, then record the
# versions it passed with.
constraints: setup-dev
	{ echo "# Exact versions make test last passed with (written by: make constraints; the ranges are in pyproject.toml)"; \
	  $(PY) -m pip freeze --exclude-editable; } > constraints.txt

clean-venv:
	rm -rf $(VENV)
