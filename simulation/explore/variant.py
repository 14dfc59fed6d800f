"""A variant file from the explorer's changed levers: ``extends`` the base, only the changed keys.

``extends`` merges tables key by key but replaces arrays whole (:mod:`simulation.scenario.load`),
so a changed key inside an array (``layers.x.bands[0].ratio``) writes that whole array as edited;
every other changed key is written alone. A comment says who, when and what.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..outputs import write_atomic
from ..scenario.load import dumps_toml

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _parts(path: str) -> list[str | int]:
    return [m.group(1) if m.group(1) is not None else int(m.group(2)) for m in _PART.finditer(path)]


def variant_table(edited: Mapping[str, Any], changed: list[str]) -> dict[str, Any]:
    """The keys of ``edited`` (a raw scenario table) that ``changed`` key paths name, nested as a
    TOML table; a path into an array takes the whole array."""
    out: dict[str, Any] = {}
    for path in changed:
        parts = _parts(path)
        cut = next((i for i, p in enumerate(parts) if isinstance(p, int)), len(parts))
        keys = [str(p) for p in parts[:cut]]
        value: Any = edited
        for k in keys:
            value = value[k]
        node = out
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return out


def variant_text(
    base_path: Path,
    variant_path: Path,
    edited: Mapping[str, Any],
    changes: Mapping[str, tuple[Any, Any]],
    who: str | None = None,
    when: dt.datetime | None = None,
) -> str:
    """The variant file's text: a who/when/what comment, ``extends`` (relative to the variant's
    folder) and the changed keys. ``changes`` maps key path to (base value, new value)."""
    who = who or _user()
    when = when or dt.datetime.now(dt.UTC)
    rel = os.path.relpath(base_path.resolve(), variant_path.resolve().parent)
    lines = [
        f"# Variant of {base_path.name} saved by the fundsim explorer",
        f"# who: {who}",
        f"# when: {when.strftime('%Y-%m-%d %H:%M UTC')}",
        "# what:",
    ]
    lines += [f"#   {p}: {_show(a)} -> {_show(b)}" for p, (a, b) in changes.items()]
    body = dumps_toml({"extends": rel.replace(os.sep, "/"), **variant_table(edited, list(changes))})
    return "\n".join(lines) + "\n" + body


def save_variant(
    base_path: Path,
    variant_path: Path,
    edited: Mapping[str, Any],
    changes: Mapping[str, tuple[Any, Any]],
    who: str | None = None,
) -> Path:
    """Write :func:`variant_text` to ``variant_path`` atomically; returns the path."""
    write_atomic(variant_path, variant_text(base_path, variant_path, edited, changes, who))
    return variant_path


def _show(v: Any) -> str:
    return " ".join(str(v).split())


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name (a container without passwd entry)
        return "unknown"
