# Two set-up commands for a fresh machine: `make demo` (main job) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_HOME ?= $(CURDIR)/.prefect
export MPLBACKEND := Agg

.PHONY: demo test test-all venv dev bench lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

venv: $(VENV)/.installed
dev: $(VENV)/.dev-installed

demo: $(VENV)/.installed
	$(VENV)/bin/nasicon demo

# pytest-xdist: one worker per core, each test file on one worker (its module fixtures built once)
test: $(VENV)/.dev-installed
	$(PY) -m pytest -m "not slow" -n auto --dist loadfile

# every test, the slow reliability suites too (faults at many points, load, upgrades)
test-all: $(VENV)/.dev-installed
	$(PY) -m pytest -n auto --dist loadfile

bench: $(VENV)/.dev-installed
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) benchmarks/chemistry_engine.py
	$(PY) benchmarks/registry.py --results 1000
	$(PY) benchmarks/retrain.py
	$(PY) benchmarks/discovery.py --jobs 2
	$(PY) benchmarks/screening.py
	$(PY) benchmarks/backtest.py
	$(PY) benchmarks/conductivity.py
	$(PY) benchmarks/startup.py
	$(PY) benchmarks/load.py --outcomes 5000 --writers 16   # needs the PostgreSQL server
	$(PY) benchmarks/main_job.py   # a fresh clone of HEAD: make venv + make demo (minutes)

lint: $(VENV)/.dev-installed
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache reports
