"""What outputs record and how: paths as shown, the command line, spreadsheet-safe cells, and
the manifest (version, commit, scenario hash) of every output folder."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from .._version import __version__


def display_path(path: str | Path) -> str:
    """``path`` as outputs show it: relative to the working directory when it lies below it, else
    its file name alone, so no output (manifest, log, report) holds the machine's absolute
    paths (a home folder, a user name)."""
    full = os.path.abspath(path)
    rel = os.path.relpath(full, os.getcwd())
    if rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
        return os.path.basename(full)
    return Path(rel).as_posix()


def command_line(argv: list[str] | None = None) -> str:
    """The command as outputs record it: ``fundsim`` and its arguments, never the absolute path
    of the executable; path-like arguments as :func:`display_path` shows them."""
    args = list(sys.argv if argv is None else argv)[1:]
    shown = [display_path(a) if os.path.isabs(a) else a for a in args]
    return " ".join(["fundsim", *shown])


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[-+]?[\d,]*\.?\d+(?:[eE][-+]?\d+)?%?")


def escape_formula(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula (it starts with ``= + - @``, a tab or
    a carriage return) gets a leading ``'``, the spreadsheets' own mark for text (OWASP CSV
    injection); numbers, and text that is a number (``-1,234``, ``-5%``), are unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        if not _NUMBER.fullmatch(value.strip()):
            return "'" + value
    return value


def escape_formulas(table: Any) -> Any:
    """A copy of the DataFrame ``table`` with :func:`escape_formula` applied to its text cells
    (and its column names): what a CSV for spreadsheets should hold."""
    out = table.copy()
    for c in out.columns:
        if out[c].dtype.kind not in "biufcmM":  # text (object or string dtype), not numbers
            out[c] = out[c].map(escape_formula)
    out.columns = [escape_formula(c) for c in out.columns]
    return out


def git_commit() -> str | None:
    """The git commit of the installed source tree, if it is a checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def scenario_hash(resolved: dict[str, Any]) -> str:
    """SHA-256 of the resolved scenario in canonical JSON."""
    text = json.dumps(resolved, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def manifest(resolved: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """What produced an output: the resolved scenario, its hash, version, commit and ``fields``."""
    return {
        "fundsim_version": __version__,
        "git_commit": git_commit(),
        "scenario_sha256": scenario_hash(resolved),
        **fields,
        "scenario": resolved,
    }
