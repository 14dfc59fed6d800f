"""Reading scenario files: TOML, ``extends`` (deep merge), validation, and clear errors.

A scenario file may say ``extends = "base.toml"`` (a path relative to the file) and then state only
what it changes: tables are merged key by key, any other value (arrays included) replaces the base's.
A base may itself extend another file; a chain that comes back to a file is an error.
Every error is a :class:`~simulation.errors.ScenarioError` naming the file, the key path, what was
expected and what was found, e.g.::

    scenarios/x.toml: layers.serious_illness.bands[2].ratio: expected a ratio between 0 and 1, found 1.2

When the bad key was written in a file the scenario extends, the message adds ``(set in base.toml)``.
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ScenarioError
from .cashflow import CashflowConfig
from .messages import explain_validation_error
from .resolve import check_changes, deep_merge
from .schema import Scenario, format_loc, toml_text

__all__ = [
    "deep_merge",
    "dumps_toml",
    "format_loc",
    "load_scenario",
    "read_toml",
    "resolve_raw",
    "validate_raw",
]


MAX_EXTENDS = 32
"""Most files an ``extends`` chain may hold (the shipped variants use 2)."""
MAX_NESTING = 32
"""Most levels of tables and arrays a scenario file may nest (the schema uses 6)."""


def _nesting(value: Any) -> int:
    """Levels of tables and arrays in ``value`` (0 for a scalar), without recursion."""
    deepest, todo = 0, [(value, 0)]
    while todo:
        v, depth = todo.pop()
        if isinstance(v, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            if depth <= MAX_NESTING:
                todo.extend((x, depth) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


def _display(path: Path) -> str:
    return os.path.normpath(path)


def read_toml(path: Path) -> dict[str, Any]:
    """The raw table of one TOML file (no ``extends``).

    A file that is missing, a directory, unreadable (permissions, I/O) or not valid UTF-8 TOML
    raises a :class:`ScenarioError` naming the file and the reason.
    """
    shown = _display(path)
    try:
        with path.open("rb") as f:
            table = tomllib.load(f)
    except RecursionError:
        raise ScenarioError(
            shown, "", f"expected tables and arrays nested at most {MAX_NESTING} deep, found deeper"
        ) from None
    except FileNotFoundError:
        raise ScenarioError(shown, "", "file not found") from None
    except IsADirectoryError:
        raise ScenarioError(shown, "", "expected a TOML file, found a directory") from None
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(shown, "", f"not a valid TOML file: {e}") from None
    except UnicodeDecodeError:
        raise ScenarioError(shown, "", "not a valid TOML file: it is not UTF-8 text") from None
    except OSError as e:  # permission denied, an I/O error, ...
        raise ScenarioError(shown, "", f"cannot read the file: {os_reason(e)}") from None
    if _nesting(table) > MAX_NESTING:
        raise ScenarioError(
            shown, "", f"expected tables and arrays nested at most {MAX_NESTING} deep, found deeper"
        )
    return table


def os_reason(error: OSError) -> str:
    """The operating system's reason for a failed read, e.g. ``Permission denied``."""
    return error.strerror or str(error) or type(error).__name__


def _chain(
    path: Path, seen: tuple[tuple[Path, str], ...] = ()
) -> list[tuple[Path, dict[str, Any]]]:
    """The files of an ``extends`` chain, base first, each with its raw table (``extends`` removed)."""
    real = path.resolve()
    shown = _display(path)
    if len(seen) >= MAX_EXTENDS:
        raise ScenarioError(
            _display(Path(seen[0][1])),
            "extends",
            f"expected a chain of at most {MAX_EXTENDS} files, found a longer one",
        )
    if any(real == r for r, _ in seen):
        cycle = " -> ".join([*(s for _, s in seen), shown])
        raise ScenarioError(
            shown, "extends", f"expected a chain of files without a cycle, found {cycle}"
        )
    raw = read_toml(path)
    parent = raw.pop("extends", None)
    if parent is None:
        return [(path, raw)]
    if not isinstance(parent, str):
        raise ScenarioError(
            shown, "extends", f"expected a file name in quotes, found {toml_text(parent)}"
        )
    target = path.parent / parent
    if not target.is_file():
        raise ScenarioError(
            shown,
            "extends",
            f"expected an existing scenario file, found {toml_text(parent)} "
            f"(there is no file {_display(target)})",
        )
    return [*_chain(target, (*seen, (real, shown))), (path, raw)]


def resolve_raw(path: str | Path) -> tuple[dict[str, Any], list[Path]]:
    """The merged raw table of ``path`` after following ``extends``, and the files, base first."""
    chain = _chain(Path(path))
    merged: dict[str, Any] = {}
    for _, raw in chain:
        merged = deep_merge(merged, raw)
    return merged, [p for p, _ in chain]


def _origin(chain: list[tuple[Path, dict[str, Any]]], loc: tuple[str | int, ...]) -> Path | None:
    """The file of the chain whose value is in force at key ``loc``.

    None when no file writes it, or when the value is a table (tables merge across files).
    """
    for path, raw in reversed(chain):
        table: Any = raw
        for part in loc:
            if isinstance(table, list):
                return path  # an array replaces the base's whole array: it all comes from here
            if not isinstance(table, dict) or part not in table:
                break
            table = table[part]
        else:
            return None if isinstance(table, dict) else path
    return None


def validate_raw(
    raw: dict[str, Any], file: str, _chain_files: list[tuple[Path, dict[str, Any]]] | None = None
) -> Scenario:
    """Validate a merged raw table into a :class:`Scenario`, or raise one clear ScenarioError.

    Every ``[changes.YYYY]`` table is checked too: the scenario in force in each change year must
    be valid (errors name ``changes.YYYY....``).
    """
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as e:
        loc, problem = explain_validation_error(e)
        if _chain_files and len(_chain_files) > 1 and loc:
            origin = _origin(_chain_files, loc)
            if origin is not None and origin != _chain_files[-1][0]:
                problem += f" (set in {_display(origin)})"
        raise ScenarioError(file, format_loc(loc), problem) from None
    check_changes(scenario, file)
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Read, merge (``extends``) and validate a scenario file."""
    chain = _chain(Path(path))
    merged: dict[str, Any] = {}
    for _, raw in chain:
        merged = deep_merge(merged, raw)
    return validate_raw(merged, str(path), chain)


# --------------------------------------------------------------------------- writing TOML

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _toml_key(key: Any) -> str:
    text = str(key)
    return text if _BARE.fullmatch(text) else json.dumps(text, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(
            f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items() if v is not None
        )
        return "{" + items + "}" if items else "{}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def dumps_toml(table: dict[str, Any], width: int = 100) -> str:
    """A table as TOML text: sub-tables that fit on a line are written inline, others as
    ``[section]`` headers; ``None`` values are left out. ``tomllib.loads`` reads it back equal."""
    lines: list[str] = []

    def emit(t: dict[str, Any], prefix: tuple[str, ...]) -> None:
        body, sections = [], []
        for k, v in t.items():
            if v is None:
                continue
            if isinstance(v, dict) and v:
                line = f"{_toml_key(k)} = {_toml_value(v)}"
                if len(line) <= width and not any(
                    isinstance(x, dict) and len(x) > 3 for x in v.values()
                ):
                    body.append(line)
                else:
                    sections.append((k, v))
            else:
                body.append(f"{_toml_key(k)} = {_toml_value(v)}")
        if body and prefix:
            lines.append("")
            lines.append("[" + ".".join(_toml_key(p) for p in prefix) + "]")
        lines.extend(body)
        for k, v in sections:
            emit(v, (*prefix, k))

    emit(table, ())
    return "\n".join(lines).lstrip("\n") + "\n"


def load_cashflow_config(source: str | Path | Mapping[str, Any] | None) -> CashflowConfig:
    """A :class:`CashflowConfig` from a TOML file, a dict, or the defaults (``None``).

    A file may hold the fields at its top level or in a ``[cashflow]`` table. A wrong value raises
    a :class:`~simulation.errors.ScenarioError` naming the file, the key and the rule broken.
    """
    if source is None:
        return CashflowConfig()
    if isinstance(source, Mapping):
        name, raw = "cashflow configuration", dict(source)
        prefix: tuple[str, ...] = ()
    else:
        path = Path(source)
        name = str(path)
        raw = read_toml(path)  # a clear ScenarioError for a missing, unreadable or invalid file
        prefix = ()
        if "cashflow" in raw:
            raw, prefix = raw["cashflow"], ("cashflow",)
    if isinstance(raw, Mapping) and "cashflow" in raw and not prefix:
        raw, prefix = raw["cashflow"], ("cashflow",)
    try:
        return CashflowConfig.model_validate(raw)
    except ValidationError as e:
        loc, problem = explain_validation_error(e)
        raise ScenarioError(name, format_loc((*prefix, *loc)), problem) from None
