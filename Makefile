# fundsim: every target sets itself up on a fresh machine with Python 3.11 and make.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: demo test test-fast bench lint typecheck docs format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e '.[test,docs]'
	touch $(DOCS_STAMP)

demo: $(STAMP)
	$(VENV)/bin/fundsim demo

test: $(STAMP)
	$(PY) -m pytest -n 2 --hypothesis-profile=ci -q

# The non-slow subset (closed forms, rules, messages): about a minute; `make test` runs everything.
test-fast: $(STAMP)
	$(PY) -m pytest -n 2 --hypothesis-profile=ci -q -m "not slow"

bench: $(STAMP)
	$(PY) -m benchmarks.run

lint: $(STAMP)
	$(VENV)/bin/ruff check simulation tests benchmarks docs
	$(VENV)/bin/ruff format --check simulation tests benchmarks docs

# mypy on the packages below the engine (configuration in pyproject.toml, [tool.mypy]).
typecheck: $(STAMP)
	$(VENV)/bin/mypy

# The docs site (Sphinx, warnings as errors) into docs/_build/html.
docs: $(DOCS_STAMP)
	$(VENV)/bin/sphinx-build -W --keep-going -q -b html docs docs/_build/html

format: $(STAMP)
	$(VENV)/bin/ruff format simulation tests benchmarks docs
	$(VENV)/bin/ruff check --fix simulation tests benchmarks docs

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache docs/_build docs/_generated
