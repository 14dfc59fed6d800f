"""The settled-years table: what a fund actually did, one row per fund and policy year.

A history table (CSV, UTF-8, or an ``.xlsx`` workbook's first sheet) has one row per ``fund`` and
``year``, optionally split by ``category`` and ``hospital_level`` (a row with those empty, or
``all``, is the fund-year's total). Columns (units in brackets; every column but ``fund`` and
``year`` may be absent, and any cell may be empty: a gap the calibration skips and reports):

=====================  =====================================================================
``fund``               the fund (a key of the scenario's ``[funds]``)
``year``               the policy year, a whole calendar year
``category``           optional: a category of the scenario, or ``all`` / empty for the total
``hospital_level``     optional: ``primary``, ``county``, ``city``, or ``all`` / empty
``insured``            insured persons (person-years) in the year [persons, at least 0]
``admissions``         inpatient admissions (person-times) [count, at least 0]
``claimants``          persons with at least one claim [persons, at most ``insured``]
``total_cost``         total inpatient cost of those admissions [yuan]
``in_policy_cost``     its in-policy (catalogue) part [yuan, at most ``total_cost``]
``fund_payments``      what the fund paid on those claims [yuan, at most ``total_cost``]
``paid_<layer>``       payments by a layer of cover, e.g. ``paid_serious_illness`` [yuan]
``above_threshold``    persons above the serious illness threshold [persons, at most claimants]
``financing``          financing actually raised by the fund [yuan]
``clawback``           surplus actually clawed back from the insurer [yuan]
``subsidy``            policy-change subsidy actually paid to the insurer [yuan]
``source``, ``note``   free text, kept and not read
=====================  =====================================================================

Validation never repairs a value: every problem (missing ``fund``/``year`` columns, an unknown
column, text in a number column, a negative amount, a year that is not whole, a duplicate fund-year,
a gap in a fund's run of years, more admissions than ``MAX_ADMISSIONS_PER_PERSON`` per insured
person, more claimants than insured persons or than admissions, an in-policy cost or fund
payment above the total cost, an unknown fund, category or level, a year before the scenario's
start) is collected and raised as one :class:`~simulation.errors.HistoryDataError` on one line:
the file, the column, what was expected, the rows (their line in the CSV file or row in the
sheet, the header being 1) and what was found.
"""

from __future__ import annotations

import difflib
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..claims_data import Problem, raise_problems, rows_problem
from ..errors import ClaimsDataError
from ..scenario.schema import LEVELS, Scenario
from ..text_table import read_csv_text, strip_header, text_records

KIND = "history table"
REQUIRED: tuple[str, ...] = ("fund", "year")
NUMBER_COLUMNS: dict[str, str] = {
    "insured": "persons",
    "admissions": "admissions",
    "claimants": "persons",
    "total_cost": "yuan",
    "in_policy_cost": "yuan",
    "fund_payments": "yuan",
    "above_threshold": "persons",
    "financing": "yuan",
    "clawback": "yuan",
    "subsidy": "yuan",
}
"""The numeric columns and their units (``paid_<layer>`` columns are yuan too)."""
COUNT_COLUMNS = ("insured", "admissions", "claimants", "above_threshold")
"""Numeric columns that count persons or admissions (whole numbers)."""
TEXT_COLUMNS = ("category", "hospital_level", "source", "note")
HISTORY_COLUMNS: tuple[str, ...] = (*REQUIRED, *TEXT_COLUMNS[:2], *NUMBER_COLUMNS, "paid_<layer>")
"""Every column a history table may have, in the documented order."""
TOTAL = "all"
"""``category`` / ``hospital_level`` value of a fund-year's total (an empty cell means the same)."""
MAX_ADMISSIONS_PER_PERSON = 5.0
"""More admissions than this per insured person in a year cannot be right (national residents'
rate: 0.15-0.21 per participant, RULES.md section 5; ASSUMPTION: 5 is a generous upper bound that
still catches a thousands/units mix-up)."""
YEAR_RANGE = (1990, 2100)
TOLERANCE = 1e-6
_LINE = " line"


class HistoryDataError(ClaimsDataError):
    """A history table is malformed (one line: file, column, expected, rows, found)."""


@dataclass(frozen=True)
class History:
    """A validated history table."""

    path: str
    frame: pd.DataFrame
    """One row per record: ``line``, ``fund``, ``year`` (int64), ``category``, ``hospital_level``
    (``all`` for totals), every numeric column present (float64; NaN where the cell was empty)."""

    @property
    def funds(self) -> list[str]:
        return list(dict.fromkeys(self.frame["fund"]))

    def totals(self, fund: str) -> pd.DataFrame:
        """The fund's total rows (category and level ``all``), one per year, sorted by year."""
        f = self.frame
        rows = f[(f["fund"] == fund) & (f["category"] == TOTAL) & (f["hospital_level"] == TOTAL)]
        return rows.sort_values("year").reset_index(drop=True)

    def columns(self) -> list[str]:
        return [c for c in self.frame.columns if c in NUMBER_COLUMNS or c.startswith("paid_")]


def _read_raw(path: Path) -> pd.DataFrame:
    """The table as stripped text with a private line column; raises one line on failure."""
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            raw = pd.read_excel(path, sheet_name=0, dtype=str, engine="openpyxl", header=0)
            raw = raw.fillna("")
        else:
            raw = read_csv_text(path)
    except FileNotFoundError:
        raise HistoryDataError(f"{path}: {KIND}: file not found") from None
    except IsADirectoryError:
        raise HistoryDataError(
            f"{path}: {KIND}: expected a CSV or xlsx file, found a directory"
        ) from None
    except UnicodeDecodeError:
        raise HistoryDataError(f"{path}: {KIND}: not UTF-8 text (save it as UTF-8 CSV)") from None
    except pd.errors.EmptyDataError:
        raise HistoryDataError(
            f"{path}: {KIND}: the file is empty (expected a header line)"
        ) from None
    except pd.errors.ParserError as e:
        msg = " ".join(str(e).split())
        raise HistoryDataError(f"{path}: {KIND}: not a valid CSV table: {msg}") from None
    except (
        ValueError,
        KeyError,
        OSError,
        zipfile.BadZipFile,
    ) as e:  # openpyxl: not a zip / not a workbook
        msg = " ".join(str(e).split()) or type(e).__name__
        raise HistoryDataError(f"{path}: {KIND}: cannot read the file: {msg}") from None
    twice = strip_header(raw)
    if twice:
        raise HistoryDataError(
            f"{path}: {KIND}: header: expected each column name once, found {twice[0]!r} twice"
        )
    return text_records(raw)


def _check_header(raw: pd.DataFrame, path: Path) -> None:
    cols = [c for c in raw.columns if c != _LINE]
    known = [*REQUIRED, *TEXT_COLUMNS, *NUMBER_COLUMNS]
    for c in cols:
        if c not in known and not (c.startswith("paid_") and len(c) > 5):
            close = difflib.get_close_matches(c, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise HistoryDataError(
                f"{path}: {KIND}: header: expected columns among {', '.join(HISTORY_COLUMNS)}, "
                f"found {c!r}{hint}"
            )
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise HistoryDataError(
            f"{path}: {KIND}: header: expected a column {missing[0]!r}, found columns "
            f"{', '.join(cols) or 'none'}"
        )
    if raw.empty:
        raise HistoryDataError(f"{path}: {KIND}: expected at least one row, found a header only")


def _problem(
    column: str, expected: str, mask: np.ndarray, lines: np.ndarray, found
) -> Problem | None:
    return rows_problem(f"{column}: expected {expected}", mask, lines, found)


def read_history(path: str | Path, scenario: Scenario | None = None) -> History:
    """Read and validate a history table (see the module docstring).

    With ``scenario``, the funds, categories and years are checked against it too (a year before
    its ``start_year`` has no rules to compare with). Raises :class:`HistoryDataError`.
    """
    p = Path(path)
    raw = _read_raw(p)
    _check_header(raw, p)
    lines = raw[_LINE].to_numpy()
    problems: list[Problem | None] = []

    fund = raw["fund"]
    problems.append(_problem("fund", "a fund name", (fund == "").to_numpy(), lines, fund))
    if scenario is not None:
        allowed = list(scenario.funds)
        bad = ~fund.isin(allowed).to_numpy() & (fund != "").to_numpy()
        problems.append(
            _problem("fund", f"a fund of the scenario ({', '.join(allowed)})", bad, lines, fund)
        )

    year_text = raw["year"]
    year = pd.to_numeric(year_text, errors="coerce").to_numpy(dtype=np.float64)
    lo, hi = YEAR_RANGE
    bad_year = ~np.isfinite(year) | (np.floor(year) != year) | (year < lo) | (year > hi)
    problems.append(
        _problem("year", f"a whole calendar year {lo}-{hi}", bad_year, lines, year_text)
    )
    if scenario is not None:
        early = np.isfinite(year) & ~bad_year & (year < scenario.start_year)
        problems.append(
            _problem(
                "year",
                f"a year from the scenario's start year {scenario.start_year} on",
                early,
                lines,
                year_text,
            )
        )

    breakdown: dict[str, pd.Series] = {}
    levels = [lv.value for lv in LEVELS]
    cats = list(scenario.categories) if scenario is not None else None
    for col, allowed_values in (("category", cats), ("hospital_level", levels)):
        if col not in raw.columns:
            breakdown[col] = pd.Series(TOTAL, index=raw.index)
            continue
        s = raw[col].replace("", TOTAL)
        breakdown[col] = s
        if allowed_values is not None:
            bad = ~s.isin([*allowed_values, TOTAL]).to_numpy()
            problems.append(
                _problem(col, f"one of {', '.join([*allowed_values, TOTAL])}", bad, lines, s)
            )

    values: dict[str, np.ndarray] = {}
    number_cols = [c for c in raw.columns if c in NUMBER_COLUMNS or c.startswith("paid_")]
    for col in number_cols:
        text = raw[col]
        v = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce").to_numpy(
            dtype=np.float64, copy=True
        )
        given = (text != "").to_numpy()
        unit = NUMBER_COLUMNS.get(col, "yuan")
        not_number = given & ~np.isfinite(v)
        problems.append(_problem(col, f"a number ({unit})", not_number, lines, text))
        problems.append(
            _problem(col, f"a number at least 0 ({unit})", given & (v < 0), lines, text)
        )
        if col in COUNT_COLUMNS:
            frac = given & np.isfinite(v) & (v >= 0) & (np.floor(v) != v)
            problems.append(_problem(col, f"a whole number ({unit})", frac, lines, text))
        v[~given] = np.nan
        values[col] = v

    def above(a: str, b: str, factor: float, expected: str) -> None:
        if a in values and b in values:
            x, y = values[a], values[b]
            mask = np.isfinite(x) & np.isfinite(y) & (x > factor * y * (1 + TOLERANCE) + TOLERANCE)
            found = [f"{xa:g} > {factor:g} x {yb:g}" for xa, yb in zip(x, y, strict=True)]
            problems.append(_problem(a, expected, mask, lines, found))

    above(
        "admissions",
        "insured",
        MAX_ADMISSIONS_PER_PERSON,
        f"at most {MAX_ADMISSIONS_PER_PERSON:g} admissions per insured person",
    )
    above("claimants", "insured", 1.0, "at most the insured persons")
    above("claimants", "admissions", 1.0, "at most the admissions")
    above("above_threshold", "claimants", 1.0, "at most the claimants")
    above("in_policy_cost", "total_cost", 1.0, "at most total_cost")
    above("fund_payments", "total_cost", 1.0, "at most total_cost")

    key = fund + "|" + year_text + "|" + breakdown["category"] + "|" + breakdown["hospital_level"]
    problems.append(
        rows_problem(
            "fund, year (category, hospital_level): expected each once, found a duplicate",
            key.duplicated(keep=False).to_numpy(),
            lines,
        )
    )
    ok_year = ~bad_year
    for name in dict.fromkeys(fund[ok_year & (fund != "").to_numpy()]):
        years = sorted({int(y) for y in year[ok_year & (fund == name).to_numpy()]})
        gaps = sorted(set(range(years[0], years[-1] + 1)) - set(years))
        if gaps:
            problems.append(
                Problem(
                    f"year: expected every year from {years[0]} to {years[-1]} for fund "
                    f"{name!r}, found no row for {', '.join(map(str, gaps))}"
                )
            )
    try:
        raise_problems(p, problems, KIND)
    except ClaimsDataError as e:
        raise HistoryDataError(str(e)) from None

    out = pd.DataFrame(
        {
            "line": lines.astype(np.int64),
            "fund": fund.astype(str),
            "year": year.astype(np.int64),
            "category": breakdown["category"].astype(str),
            "hospital_level": breakdown["hospital_level"].astype(str),
        }
    )
    for col in number_cols:
        out[col] = values[col]
    for col in ("source", "note"):
        if col in raw.columns:
            out[col] = raw[col]
    return History(path=str(p), frame=out)


def write_history(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a history frame as CSV (atomically), e.g. a synthetic history drawn from a scenario."""
    from ..outputs import write_atomic

    cols = [c for c in frame.columns if c != "line"]
    write_atomic(path, frame[cols].to_csv(index=False))


__all__: Sequence[str] = [
    "HISTORY_COLUMNS",
    "History",
    "HistoryDataError",
    "MAX_ADMISSIONS_PER_PERSON",
    "read_history",
    "write_history",
]
