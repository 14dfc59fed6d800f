"""In-memory variants of the tests' base scenario (``tests/data/good/base.toml``): the raw dict to
break one thing in, and the error that validating it gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation.errors import ScenarioError
from simulation.scenario import resolve_raw, validate_raw

BASE = Path(__file__).parent / "data" / "good" / "base.toml"


def base_raw() -> dict:
    """The base scenario as a raw dict, its includes resolved (a fresh copy each call)."""
    raw, _ = resolve_raw(BASE)
    return raw


def validation_error(raw: dict) -> ScenarioError:
    """The :class:`ScenarioError` that validating ``raw`` as file ``x.toml`` raises (the test fails
    when it raises none)."""
    with pytest.raises(ScenarioError) as info:
        validate_raw(raw, "x.toml")
    return info.value
