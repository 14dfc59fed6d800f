"""Sphinx configuration of the fundsim docs site (``make docs``: warnings are errors)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))

from simulation import __version__  # noqa: E402

project = "fundsim"
author = "the fundsim developers"
copyright = "2026, the fundsim developers"  # noqa: A001
release = version = __version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "scenario_reference",
]
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3
html_theme = "furo"
html_title = f"fundsim {release}"
exclude_patterns = ["_build", "domain/seeds/*.txt", "**.ipynb_checkpoints"]
suppress_warnings = [
    "myst.header",  # the included README starts at level 1 and skips levels
    "mystnb.unknown_mime_type",  # the explorer cell's Panel/HoloViews outputs (live widgets)
]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}
napoleon_google_docstring = False

# The notebooks are executed on every build (as in CI's notebook test), with few paths.
nb_execution_mode = "force"
nb_execution_timeout = 900
nb_execution_raise_on_error = True
nb_execution_show_tb = True
for key, value in {
    "FUNDSIM_NB_PATHS": "2",
    "FUNDSIM_NB_YEARS": "2",
    "FUNDSIM_NB_EXACT": "0",
    "FUNDSIM_NB_CASHFLOW_PATHS": "0",
    "MPLBACKEND": "Agg",
}.items():
    os.environ.setdefault(key, value)
os.environ.setdefault("FUNDSIM_NB_OUT", str(DOCS / "_build" / "notebook-report"))

# docs/notebooks is a symbolic link to notebooks/ (where analysts open them): each notebook runs in
# its real folder, as in CI's notebook test, so its relative paths hold.
