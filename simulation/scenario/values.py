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


def key_text(parts: list[str | int]) -> str:
    """``["a", "b", 0]`` -> ``"a.b[0]"`` (the inverse of :func:`parse_key_path`)."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")


def describe(node: Any) -> str:
    """What a raw scenario value is, for messages: ``a table``, ``a list of 3 items``, ``0.5``..."""
    if isinstance(node, dict):
        return "a table"
    if isinstance(node, list):
        return f"a list of {len(node)} item{'s' if len(node) != 1 else ''}"
    if isinstance(node, bool):
        return f"a boolean ({str(node).lower()})"
    if isinstance(node, int | float):
        return f"a number ({node!r})"
    if isinstance(node, str):
        return f"a string ({node!r})"
    return f"a {type(node).__name__} ({node!r})"


def set_key_path(
    table: dict[str, Any], path: str, value: Any, *, label: str = "key path"
) -> dict[str, Any]:
    """A copy of the raw scenario ``table`` with ``path`` (``layers.x.bands[0].ratio``) set.

    Every step must lead into a table (for a key) or a list (for an index); a missing key or
    index, or a step into a number, a string or a list by key, is a :class:`FundsimError` naming
    the ``label`` (``key path``; ``parameter`` for ``fundsim sweep --param``), the path and what
    the scenario has there. The last key of a table may be new (validation then says whether it
    is allowed)."""
    parts = parse_key_path(path)
    out = copy.deepcopy(table)
    node: Any = out
    for i, part in enumerate(parts):
        if isinstance(part, int) != isinstance(node, list) or not isinstance(node, dict | list):
            where = key_text(parts[:i]) or "the top level"
            wanted = f"a list (for [{part}])" if isinstance(part, int) else f"a table (for .{part})"
            raise FundsimError(
                f"{label} {path!r}: expected {wanted} at {where!r}, found {describe(node)}"
            )
        if i == len(parts) - 1:
            if isinstance(node, list) and int(part) >= len(node):
                raise FundsimError(
                    f"{label} {path!r}: index {part} is past the end ({len(node)} items)"
                )
            node[part] = value  # type: ignore[index]
        else:
            try:
                node = node[part]  # type: ignore[index]
            except (KeyError, IndexError):
                done = key_text(parts[: i + 1])
                raise FundsimError(f"{label} {path!r}: the scenario has no {done!r}") from None
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
