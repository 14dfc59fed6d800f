"""The package root imports its public API on first use, so the ``fundsim`` command can set its
signal handlers before numpy, numba and pandas load (see tests/test_interrupts.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest


def child(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_command_line_module_loads_no_heavy_library():
    heavy = child(
        "import sys, simulation, simulation.cli\n"
        "print(sorted(m for m in ('numpy', 'numba', 'pandas', 'scipy') if m in sys.modules))"
    )
    assert heavy == "[]"


def test_the_public_names_work_and_explore_stays_the_function():
    out = child(
        "import simulation, simulation.explore.variant\n"
        "from simulation import *\n"
        "import simulation.explore as ex\n"
        "print(callable(simulation.explore), ex is simulation.explore, run is simulation.run,\n"
        "      sorted(simulation.__all__) == sorted(n for n in simulation.__all__ if n in globals()))"
    )
    assert out == "True True True True"


def test_an_unknown_name_is_an_attribute_error():
    import simulation

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        simulation.nope  # noqa: B018
    assert simulation.explore.__module__ == "simulation.explore"
