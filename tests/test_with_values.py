"""Issue 19: ``Scenario.with_values``, one call to vary a scenario by key paths, validated like a
file."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation import load_scenario
from simulation.errors import FundsimError, ScenarioError
from simulation.scenario.values import parse_key_path, set_key_path

ROOT = Path(__file__).parent.parent
HENAN = ROOT / "scenarios" / "henan_supplementary_2019.toml"


@pytest.fixture(scope="module")
def henan():
    return load_scenario(HENAN)


def test_with_values_sets_key_paths_and_keeps_the_rest(henan):
    v = henan.with_values(
        {"layers.supplementary.bands[0].ratio": 0.6, "funds.serious_illness.contract.term_years": 2}
    )
    assert v.layers["supplementary"].bands[0].ratio == 0.6
    assert henan.layers["supplementary"].bands[0].ratio == 0.5  # the original is unchanged
    assert v.funds["serious_illness"].contract.term_years == 2
    assert v.layers["basic"] == henan.layers["basic"] and v.population == henan.population
    assert henan.with_values({}) == henan


def test_with_values_validates_like_a_file(henan):
    with pytest.raises(ScenarioError) as e:
        henan.with_values({"layers.supplementary.bands[0].ratio": 1.2})
    text = str(e.value)
    assert "layers.supplementary.bands[0].ratio" in text and "expected a ratio" in text
    assert "found 1.2" in text and "\n" not in text
    with pytest.raises(FundsimError, match="has no 'layers.nope'"):
        henan.with_values({"layers.nope.ratio": 0.5})
    with pytest.raises(FundsimError, match=r"has no 'layers.supplementary.bands\[99\]'"):
        henan.with_values({"layers.supplementary.bands[99].ratio": 0.5})
    with pytest.raises(FundsimError, match="past the end"):
        henan.with_values({"cascade[9]": "x"})
    with pytest.raises(FundsimError, match="expected a list"):
        henan.with_values({"layers.supplementary[0]": 0.5})


def test_key_paths():
    assert parse_key_path("a.b[2].c") == ["a", "b", 2, "c"]
    assert set_key_path({"a": [{"b": 1}]}, "a[0].b", 2) == {"a": [{"b": 2}]}
