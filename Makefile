# fundsim: every target sets itself up on a fresh machine with Python 3.11 and make.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench lint format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/fundsim demo

test: $(STAMP)
	$(PY) -m pytest -n 2 --hypothesis-profile=ci -q

bench: $(STAMP)
	$(PY) -m benchmarks.run

lint: $(STAMP)
	$(VENV)/bin/ruff check simulation tests benchmarks
	$(VENV)/bin/ruff format --check simulation tests benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff format simulation tests benchmarks
	$(VENV)/bin/ruff check --fix simulation tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
