"""The docs' scenario-reference extension (``docs/_ext/scenario_reference.py``) loaded as a module,
for the tests of the docs and of the scenario keys' docstrings."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).parent.parent


def scenario_reference():
    spec = importlib.util.spec_from_file_location(
        "scenario_reference", ROOT / "docs" / "_ext" / "scenario_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
