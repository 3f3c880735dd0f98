# Two commands on a fresh machine with Python 3.11:  make demo   ·   make test
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed
PYTEST_ARGS ?=
# two workers, one test file per worker at a time (a file's tests share fixtures and sandboxes);
# PYTEST_WORKERS=0 runs the suite in one process
PYTEST_WORKERS ?= 2

.PHONY: demo test install bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,postgres]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/concord demo

test: $(STAMP)
	PREFECT_HOME=$${PREFECT_HOME:-$$(mktemp -d)} DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false \
	PREFECT_LOGGING_LEVEL=WARNING $(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m bench.bench_cycle

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info test-artifacts
