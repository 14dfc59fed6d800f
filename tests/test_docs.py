"""The docs site's generated scenario reference lists every key the shipped scenarios write."""

from __future__ import annotations

import re

import pytest
from docs_reference import ROOT, scenario_reference

from simulation.scenario import read_toml

SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))


def _leaves(raw, prefix=""):
    if isinstance(raw, dict):
        for k, v in raw.items():
            yield from _leaves(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(raw, list) and raw and all(isinstance(x, dict) for x in raw):
        for i, v in enumerate(raw):
            yield from _leaves(v, f"{prefix}[{i}]")
    else:
        yield prefix


def _pattern(path: str) -> re.Pattern:
    return re.compile(re.escape(path).replace("NAME", "[^.\\[]+").replace(r"\[i\]", r"\[\d+\]"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_key_of_a_shipped_scenario_is_in_the_reference(path):
    ref = scenario_reference()
    rows = ref.rows(ref.Scenario, "", {ref.Scenario})
    # a row is a leaf unless its type is a section (a model's table)
    leaves = [_pattern(p) for p, tp, _, _ in rows if not tp.endswith(" table")]
    raw = read_toml(path)
    raw.pop("extends", None)
    raw.pop("changes", None)  # merged onto the same keys (checked through the scenario's own)
    missing = []
    for leaf in _leaves(raw):
        parts = re.split(r"(?=[.\[])", leaf)
        prefixes = ["".join(parts[:k]) for k in range(len(parts), 0, -1)]
        if not any(p.fullmatch(x) for x in prefixes for p in leaves):
            missing.append(leaf)
    assert not missing, f"keys of {path.name} not in the reference: {missing[:10]}"


def test_the_reference_states_types_defaults_and_ranges():
    text = scenario_reference().reference()
    assert "| `start_year` | integer (>= 1990, <= 2100) | required |" in text
    assert "| `layers.NAME.bands[i].ratio` | number (>= 0.0, <= 1.0) | required |" in text
    assert "`funds.NAME.contract.profit_cap_rate`" in text and "seed 000 III" in text
