"""Tables read from CSV files as text, and the problems found in them, named by file line.

Shared by the claims and exposure tables (:mod:`simulation.claims_data`) and the fund's history
table (:mod:`simulation.history.table`): :func:`read_csv_text` reads a file with every cell as
text, :func:`strip_header` and :func:`text_records` make its records (cells stripped, blank lines
dropped, each record's file line in the column :data:`RECORD_LINE`); :class:`Problem`,
:func:`rows_problem` and :func:`raise_problems` collect what is wrong with them into one line.
Each reader words its own errors (a missing file, a file that is not UTF-8, ...).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ClaimsDataError

MAX_LINES_SHOWN = 5
"""Most offending file lines (and values) a problem names."""
RECORD_LINE = " line"
"""Column of a text table holding each record's file line (the header is line 1): the file's own
column names are stripped of surrounding spaces, so none of them can be this name."""


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    """One kind of problem found in a table: a description and the file lines it occurs on."""

    what: str
    lines: tuple[int, ...] = ()
    found: tuple[str, ...] = ()
    """The offending values on the first lines shown (may be empty)."""

    def describe(self) -> str:
        if not self.lines:
            return self.what
        n = len(self.lines)
        shown = ", ".join(str(x) for x in self.lines[:MAX_LINES_SHOWN])
        more = ", ..." if n > MAX_LINES_SHOWN else ""
        found = f" (found {', '.join(self.found[:MAX_LINES_SHOWN])}{more})" if self.found else ""
        return f"{self.what}: {n} row{'s' if n != 1 else ''}, line{'s' if n != 1 else ''} {shown}{more}{found}"


def rows_problem(
    what: str,
    mask: np.ndarray,
    lines: np.ndarray,
    values: Iterable | None = None,
    quote: bool = True,
) -> Problem | None:
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return None
    bad_lines = tuple(int(x) for x in lines[mask])
    found: tuple[str, ...] = ()
    if values is not None:
        vals = np.asarray(list(values), dtype=object)[mask][:MAX_LINES_SHOWN]
        found = tuple((repr(v) if quote else v) if isinstance(v, str) else f"{v:g}" for v in vals)
    return Problem(what, bad_lines, found)


def raise_problems(
    path: str | Path, problems: Sequence[Problem | None], kind: str = "claims table"
) -> None:
    """Raise one ClaimsDataError listing every problem (``None`` entries are ignored)."""
    real = [p for p in problems if p is not None]
    if not real:
        return
    text = "; ".join(p.describe() for p in real)
    err = ClaimsDataError(f"{path}: {kind}: {text}")
    err.file = str(path)  # type: ignore[attr-defined]
    err.problems = tuple(real)  # type: ignore[attr-defined]
    raise err


# --------------------------------------------------------------------------- reading


def _os_reason(error: OSError) -> str:
    """The operating system's reason for a failed read, e.g. ``Permission denied``."""
    return error.strerror or str(error) or type(error).__name__


def read_csv_text(path: str | Path) -> pd.DataFrame:
    """A CSV file as text: every cell a string, nothing read as missing, blank lines kept (so
    that records can be given their file lines), a UTF-8 byte-order mark dropped. pandas' and the
    operating system's exceptions propagate: each reader words them for its table."""
    return pd.read_csv(
        path,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=False,
        encoding="utf-8-sig",
    )


def strip_header(raw: pd.DataFrame) -> list[str]:
    """Strip the column names of surrounding spaces (in place); the names written more than once,
    sorted (each reader words that error)."""
    raw.columns = [str(c).strip() for c in raw.columns]
    return sorted({c for c in raw.columns if list(raw.columns).count(c) > 1})


def text_records(raw: pd.DataFrame) -> pd.DataFrame:
    """The records of a text table: cells stripped of surrounding spaces, each record's file line
    in :data:`RECORD_LINE` (the header is line 1; a quoted cell holding newlines makes its record
    span several lines), and blank lines dropped (their lines still count)."""
    for c in raw.columns:
        raw[c] = raw[c].astype(str).str.strip()
    embedded = np.zeros(len(raw), dtype=np.int64)
    for c in raw.columns:
        col = raw[c]
        if col.str.contains("\n", regex=False).any():
            embedded += col.str.count("\n").to_numpy(dtype=np.int64)
    before = np.concatenate([[0], np.cumsum(embedded)[:-1]]) if len(raw) else embedded
    raw.insert(0, RECORD_LINE, 2 + np.arange(len(raw), dtype=np.int64) + before)
    blank = (raw.drop(columns=RECORD_LINE) == "").all(axis=1).to_numpy()
    return raw.loc[~blank].reset_index(drop=True)
