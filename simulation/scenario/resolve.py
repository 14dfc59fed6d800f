"""The scenario in force in a given year: ``[changes.YYYY]`` merged on, dated values looked up.

A scenario states its rules as of its start year and, in ``[changes.YYYY]`` tables, how they change
from a year on. Both ``extends`` (see :mod:`.load`) and changes use the same :func:`deep_merge`:
tables merge key by key, any other value (arrays included) replaces the one before. A dated value
written as a table is a table too, so ``{2021 = 80}`` merged onto ``{2019 = 60, growth = 0.05}``
gives ``{2019 = 60, 2021 = 80, growth = 0.05}``; a number replaces it.
"""

from __future__ import annotations

import copy
import dataclasses
from collections import OrderedDict
from typing import Any

from pydantic import ValidationError

from ..errors import ScenarioError
from ..params import Dated
from .messages import explain_validation_error
from .schema import Scenario, format_loc, iter_dated


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` merged onto a copy of ``base``: tables merge, other values replace."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def dated_at(value: Dated, year: int, name: str) -> float:
    """The value of the dated parameter ``name`` (its key path) in force in ``year``.

    Raises :class:`~simulation.errors.ParameterError` naming ``name`` and the year when ``year`` is
    before the parameter's first dated year.
    """
    return dataclasses.replace(value, name=name).at(year)


def scenario_table(scenario: Scenario, year: int | None = None) -> dict[str, Any]:
    """The scenario as a plain table in the scenario-file form (what ``fundsim validate`` prints).

    With ``year``, every dated value is replaced by the value in force that year (a
    :class:`~simulation.errors.ParameterError` names a parameter not defined for it) and the
    ``changes`` table is left out: pass ``scenario_for_year(scenario, year)`` to see the rules in
    force that year.
    """
    table = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    if year is None:
        return table
    table.pop("changes", None)
    for loc, value in iter_dated(scenario):
        target: Any = table
        for part in loc[:-1]:
            target = target[part]
        target[loc[-1]] = value.at(year)
    return table


def _base_table(scenario: Scenario) -> dict[str, Any]:
    return scenario.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"changes"})


def _has_key(table: Any, loc: tuple[str | int, ...]) -> bool:
    for part in loc:
        if isinstance(part, int):
            if not (isinstance(table, list) and 0 <= part < len(table)):
                return False
        elif not (isinstance(table, dict) and part in table):
            return False
        table = table[part]
    return True


def _blame(
    loc: tuple[str | int, ...], problem: str, year: str, change: dict[str, Any]
) -> tuple[str, str]:
    """Key path and message of a problem found after merging ``[changes.<year>]``.

    The key is named inside the change (``changes.2021.layers.si.bands[2].ratio``) when the change
    wrote it, or wrote the table it is missing from; otherwise the change is named as a whole.
    """
    if _has_key(change, loc) or (len(loc) >= 2 and isinstance(_get(change, loc[:-1]), dict)):
        return format_loc(("changes", year, *loc)), problem
    where = format_loc(loc) or "the scenario"
    return format_loc(("changes", year)), f"with this change applied, {where}: {problem}"


def _get(table: Any, loc: tuple[str | int, ...]) -> Any:
    return _get_inner(table, loc) if _has_key(table, loc) else None


def _get_inner(table: Any, loc: tuple[str | int, ...]) -> Any:
    for part in loc:
        table = table[part]
    return table


def _validate_change(raw: dict[str, Any], year: str, change: dict[str, Any], file: str) -> Scenario:
    try:
        return Scenario.model_validate(raw)
    except ValidationError as e:
        loc, problem = explain_validation_error(e)
        key, message = _blame(loc, problem, year, change)
        raise ScenarioError(file, key, message) from None


_VIEWS: OrderedDict[int, tuple[Scenario, dict[tuple[str, ...], Scenario]]] = OrderedDict()
"""The rules in force resolved so far, by scenario object (``id``; the entry keeps the object, so
its ``id`` is not reused) and the changes due: each distinct set of changes of a scenario is merged
and validated once, however many years, plans, cash flows or exact computations ask for it."""
_VIEWS_KEPT = 32
"""Scenarios whose resolved rules are kept (the least recently used are dropped)."""


def apply_changes(scenario: Scenario, year: int, file: str) -> Scenario:
    """:func:`scenario_for_year`, naming ``file`` in its errors. A scenario is frozen, so its
    rules in force with a given set of changes due are resolved once and then reused (:data:`_VIEWS`)."""
    due = sorted((y for y in scenario.changes if int(y) <= year), key=int)
    if not due:
        return scenario
    entry = _VIEWS.get(id(scenario))
    if entry is None or entry[0] is not scenario:
        entry = (scenario, {})
        _VIEWS[id(scenario)] = entry
        while len(_VIEWS) > _VIEWS_KEPT:
            _VIEWS.popitem(last=False)
    else:
        _VIEWS.move_to_end(id(scenario))
    views = entry[1]
    key = tuple(due)
    if key not in views:
        views[key] = _resolve(scenario, due, year, file)
    return views[key]


def _resolve(scenario: Scenario, due: list[str], year: int, file: str) -> Scenario:
    """The changes ``due`` merged onto the scenario in year order, validated after each."""
    pending = {y: c for y, c in scenario.changes.items() if int(y) > year}
    raw = _base_table(scenario)
    result = scenario
    for y in due:
        change = scenario.changes[y]
        raw = deep_merge(raw, change)
        last = y == due[-1]
        result = _validate_change({**raw, "changes": pending} if last else raw, y, change, file)
    return result


def scenario_for_year(scenario: Scenario, year: int, *, with_changes: bool = True) -> Scenario:
    """The scenario with the rules in force in ``year``.

    Every ``[changes.YYYY]`` table with ``YYYY <= year`` is deep-merged onto the scenario in year
    order and the result validated again (an error names the key as ``changes.2021.layers...``).
    The changes still ahead (``YYYY > year``) stay in the result's ``changes``, so
    ``scenario_for_year(scenario_for_year(s, 2021), 2022) == scenario_for_year(s, 2022)``.
    With ``with_changes=False``: the base rules, as if no change were declared (``changes``
    empty), e.g. to run the old rules for a policy-change subsidy. Dated values stay dated: look
    them up with ``.at(year)`` or :func:`dated_at`.
    """
    if not with_changes:
        return scenario.model_copy(update={"changes": {}}) if scenario.changes else scenario
    return apply_changes(scenario, year, f"scenario {scenario.name!r}")


def check_changes(scenario: Scenario, file: str) -> None:
    """Raise the first :class:`ScenarioError` any year's changes would cause (names ``file``)."""
    for y in sorted(scenario.changes, key=int):
        apply_changes(scenario, int(y), file)
