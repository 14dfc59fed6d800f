# fundsim: every target sets itself up on a fresh machine with Python 3.11 and make.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench lint format clean system-packages notebook

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

# Jupyter (the notebooks extra) in .venv, then JupyterLab on notebooks/.
notebook: $(STAMP)
	$(PY) -m pip install --quiet -e '.[notebooks]'
	$(VENV)/bin/jupyter lab notebooks/

# Debian's headless Chromium (report --pdf; the explorer's browser tests use chromium-driver).
# Runs apt-get only when one is missing (CI runs on a clean machine as root).
system-packages:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
