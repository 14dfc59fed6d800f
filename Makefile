# fundsim: every target sets itself up on a fresh machine with Python 3.11 and make.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: demo test test-fast bench lint typecheck docs format clean system-packages notebook

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

test: $(STAMP) system-packages
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

# Jupyter (the notebooks extra) in .venv, then JupyterLab on notebooks/.
notebook: $(STAMP)
	$(PY) -m pip install --quiet -e '.[notebooks]'
	$(VENV)/bin/jupyter lab notebooks/

# Debian's headless Chromium (report --pdf; the explorer's browser tests use chromium-driver).
# Runs apt-get only when one is missing (CI runs on a clean machine as root).
system-packages:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	else echo "make: Chromium is missing (the browser and PDF tests need it): sudo make system-packages" >&2; fi

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache docs/_build docs/_generated
