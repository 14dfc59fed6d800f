"""Varying a scenario by key paths: ``scenario.with_values({"layers.x.bands[0].ratio": 0.6})``.

The scenario is taken back to its file form (:func:`~.resolve.scenario_table`), each key path set,
and the result validated like a file (:func:`~.load.validate_raw`): a wrong value gets the same
one-line :class:`~simulation.errors.ScenarioError` a file would (naming the key path, expected and
found), and a path that leads nowhere a :class:`~simulation.errors.FundsimError` naming it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import FundsimError

if TYPE_CHECKING:
    from .schema import Scenario

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_key_path(path: str) -> list[str | int]:
    """``"layers.x.bands[0].ratio"`` -> ``["layers", "x", "bands", 0, "ratio"]``."""
    parts: list[str | int] = [m[1] if m[1] is not None else int(m[2]) for m in _PART.finditer(path)]
    if not parts or "".join(m[0] for m in _PART.finditer(path)) != path.replace(".", ""):
        raise FundsimError(f"key path {path!r}: expected keys and [index]es like a.b[0].c")
    return parts


def set_key_path(table: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``table`` with ``path`` set to ``value``; every step but the last must exist (the
    last key of a table may be new: validation says whether it is allowed)."""
    parts = parse_key_path(path)
    out = copy.deepcopy(table)
    node: Any = out
    for i, part in enumerate(parts):
        where = ".".join(str(p) for p in parts[:i]) or "the top level"
        if isinstance(part, int) != isinstance(node, list) or not isinstance(node, dict | list):
            wanted = "a list" if isinstance(part, int) else "a table"
            raise FundsimError(f"key path {path!r}: expected {wanted} at {where!r}")
        last = i == len(parts) - 1
        key: Any = part  # an int for a list (checked above), a str for a table
        if isinstance(node, list) and not 0 <= int(part) < len(node):
            raise FundsimError(
                f"key path {path!r}: index {part} is past the end ({len(node)} items)"
            )
        if last:
            node[key] = value
        else:
            if isinstance(node, dict) and part not in node:
                raise FundsimError(f"key path {path!r}: the scenario has no {part!r} at {where!r}")
            node = node[key]
    return out


def with_values(scenario: Scenario, values: Mapping[str, Any]) -> Scenario:
    """``scenario`` with every key path of ``values`` set, validated like a file."""
    from .load import validate_raw
    from .resolve import scenario_table

    raw = scenario_table(scenario)
    for path, value in values.items():
        raw = set_key_path(raw, path, value)
    changed = ", ".join(f"{k}={v!r}" for k, v in values.items())
    return validate_raw(raw, f"{scenario.name} with {changed}")
