"""Reading and validating claims and exposure tables (CSV), for fitting illness-cost models.

A **claims table** has one row per claim (an inpatient admission, or a year's outpatient special
chronic disease claim) with the columns

=================  ==========================================================================
``person_id``      a pseudonymous person identifier (e.g. ``P000001``); never a real ID number
``category``       the person's category (a key of the scenario's ``[categories]``)
``age``            age in whole years at admission, 0-130
``admission_date`` ISO date ``YYYY-MM-DD``; its year is the claim's year
``hospital_level`` ``primary``, ``county`` or ``city``
``total_cost``     total cost of the claim, yuan, at least 0
``in_policy_cost`` its in-policy (catalogue) part, yuan, between 0 and ``total_cost``
``claim_type``     optional: ``inpatient`` (the default when the column is absent) or ``chronic``
=================  ==========================================================================

An **exposure table** has one row per ``category`` x ``age_band`` x ``year`` with the
``person_years`` insured in it (everyone, claimants or not). Age bands are written as in a
scenario: ``0-15`` (both ends included), ``60+``, or ``all`` for every age.

Validation never drops or repairs a record: every problem (missing columns, empty or unparsable
values, negative costs, in-policy cost above total cost, unknown categories, hospital levels or
claim types, unparsable dates, duplicate exposure rows, ...) is collected and raised as one
:class:`~simulation.errors.ClaimsDataError` naming the file, the problem, the first five offending
line numbers as in the file (the header is line 1) and how many rows are affected. Blank lines are
not records and are skipped (line numbers still count them). The returned frames carry a ``line``
column so that later steps (fitting) can name rows too; a claims table may therefore not have a
column of its own named ``line`` (an exposure table's extra columns, ``line`` included, are ignored).
A file that cannot be read (missing, a directory, no permission, not UTF-8) is one
:class:`~simulation.errors.ClaimsDataError` naming the file and the reason.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ClaimsDataError
from .scenario.schema import CLAIM_TYPES, LEVELS, AgeBand, ClaimType, parse_age_band
from .text_table import (
    MAX_LINES_SHOWN,
    RECORD_LINE,
    Problem,
    _os_reason,
    raise_problems,
    read_csv_text,
    rows_problem,
    strip_header,
    text_records,
)

CLAIMS_COLUMNS: tuple[str, ...] = (
    "person_id",
    "category",
    "age",
    "admission_date",
    "hospital_level",
    "total_cost",
    "in_policy_cost",
)
"""Required columns of a claims table."""

CLAIM_TYPE_DEFAULT = ClaimType.INPATIENT.value
"""``claim_type`` of every row when the claims table has no ``claim_type`` column."""

EXPOSURE_COLUMNS: tuple[str, ...] = ("category", "age_band", "year", "person_years")
"""Required columns of an exposure table."""

LINE_COLUMN = "line"
"""Column of the returned frames holding each record's line in the file (the header is line 1)."""
_LINE = RECORD_LINE
"""Private column of the raw text table holding each record's file line (:mod:`.text_table`)."""

MAX_AGE = 130
COST_TOLERANCE_YUAN = 1e-6
"""In-policy cost may exceed total cost by at most this much (floating-point noise), yuan."""


# --------------------------------------------------------------------------- age bands

# AgeBand and parse_age_band live in the scenario layer (scenario cells are validated with the same
# parser); they are imported from there and remain importable from here.


def check_bands_disjoint(bands: Sequence[AgeBand]) -> None:
    """Raise ValueError naming the first two bands that share an age."""
    ordered = sorted(bands, key=lambda b: b.low)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if a.high is None or a.high >= b.low:
            raise ValueError(f"age bands {a.label!r} and {b.label!r} overlap")


def age_bands_of(ages: np.ndarray, bands: Sequence[AgeBand]) -> np.ndarray:
    """The label of the band each age falls in (object array); ``None`` where none contains it."""
    ages = np.asarray(ages)
    out = np.full(ages.shape, None, dtype=object)
    for band in bands:
        out[band.contains(ages)] = band.label
    return out


# --------------------------------------------------------------------------- reading


def _read_csv(path: str | Path, kind: str) -> pd.DataFrame:
    """The table as text, one row per record, with a private :data:`_LINE` column (the file line of
    the record) that no column of the file can collide with."""
    p = Path(path)
    try:
        raw = read_csv_text(p)
    except FileNotFoundError:
        raise ClaimsDataError(f"{path}: {kind}: file not found") from None
    except IsADirectoryError:
        raise ClaimsDataError(f"{path}: {kind}: expected a CSV file, found a directory") from None
    except UnicodeDecodeError:
        raise ClaimsDataError(
            f"{path}: {kind}: not UTF-8 text (save the table as UTF-8 CSV)"
        ) from None
    except pd.errors.EmptyDataError:
        raise ClaimsDataError(
            f"{path}: {kind}: the file is empty (expected a header line)"
        ) from None
    except pd.errors.ParserError as e:
        raise ClaimsDataError(f"{path}: {kind}: not a valid CSV table: {e}".strip()) from None
    except OSError as e:  # permission denied, an I/O error, ...
        raise ClaimsDataError(f"{path}: {kind}: cannot read the file: {_os_reason(e)}") from None
    twice = strip_header(raw)
    if twice:
        raise ClaimsDataError(
            f"{path}: {kind}: expected each column name once, found "
            f"{', '.join(repr(c) for c in twice)} more than once"
        )
    return text_records(raw)


def _require_columns(
    raw: pd.DataFrame, required: Sequence[str], path: str | Path, kind: str
) -> None:
    missing = [c for c in required if c not in raw.columns]
    if missing:
        present = [c for c in raw.columns if c != _LINE]
        hints = []
        for m in missing:
            close = difflib.get_close_matches(m, present, n=1)
            if close:
                hints.append(f"{close[0]!r} for {m!r}?")
        hint = f" (did you mean {', '.join(hints)})" if hints else ""
        raise ClaimsDataError(
            f"{path}: {kind}: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}{hint}; found columns: {', '.join(present) or 'none'}; "
            f"required: {', '.join(required)}"
        )
    if raw.empty:
        raise ClaimsDataError(f"{path}: {kind}: the table has a header but no rows")


def _empty(raw: pd.DataFrame, column: str) -> Problem | None:
    s = raw[column]
    return rows_problem(f"empty {column}", (s == "").to_numpy(), raw[_LINE].to_numpy())


def _numbers(raw: pd.DataFrame, column: str, unit: str) -> tuple[np.ndarray, list[Problem | None]]:
    """Parse a numeric column; problems for values that are not finite numbers (empty ones aside)."""
    text = raw[column]
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    lines = raw[_LINE].to_numpy()
    bad = ~np.isfinite(values) & (text != "").to_numpy()
    return values, [
        _empty(raw, column),
        rows_problem(f"{column} is not a finite number ({unit})", bad, lines, text),
    ]


def _in_set(raw: pd.DataFrame, column: str, allowed: Sequence[str], what: str) -> Problem | None:
    s = raw[column]
    bad = ~s.isin(list(allowed)).to_numpy() & (s != "").to_numpy()
    if not bad.any():
        return None
    first = s[bad].iloc[0]
    close = difflib.get_close_matches(first, list(allowed), n=1)
    hint = f"; did you mean {close[0]!r} for {first!r}?" if close else ""
    return rows_problem(
        f"unknown {what} (allowed: {', '.join(allowed)}{hint})", bad, raw[_LINE].to_numpy(), s
    )


MAX_COST_YUAN = 1e8
"""Most a claim may cost, yuan (the scenario schema's bound on a mean claim cost)."""


def read_claims(
    path: str | Path, categories: Sequence[str] | None = None, strict: bool = False
) -> pd.DataFrame:
    """Read and validate a claims table (see the module docstring for its columns).

    Costs must be finite and at most :data:`MAX_COST_YUAN` a claim. Rows identical in every
    column are counted in ``attrs["duplicate_rows"]`` (the rows beyond the first of each kind;
    the caller warns), and are an error with ``strict``.

    ``categories``: the scenario's category names; when given, any other category is an error.

    Returns one row per claim with columns ``line`` (file line), ``person_id``, ``category``,
    ``age`` (int64), ``admission_date`` (datetime64), ``year`` (int64), ``hospital_level``,
    ``claim_type``, ``total_cost`` and ``in_policy_cost`` (float64 yuan), plus any extra columns
    of the file as text. Raises :class:`ClaimsDataError` listing every problem found.
    """
    kind = "claims table"
    raw = _read_csv(path, kind)
    if LINE_COLUMN in raw.columns:
        raise ClaimsDataError(
            f"{path}: {kind}: column {LINE_COLUMN!r} is reserved (the rows read carry their line "
            f"in the file under that name): expected no column {LINE_COLUMN!r}, found one; "
            "rename it (e.g. to 'source_line')"
        )
    _require_columns(raw, CLAIMS_COLUMNS, path, kind)
    lines = raw[_LINE].to_numpy()
    problems: list[Problem | None] = []

    problems.append(_empty(raw, "person_id"))
    problems.append(_empty(raw, "category"))
    if categories is not None:
        problems.append(_in_set(raw, "category", list(categories), "category"))

    age, age_problems = _numbers(raw, "age", "whole years")
    problems += age_problems
    ok = np.isfinite(age)
    problems.append(
        rows_problem(
            f"age is not a whole number of years between 0 and {MAX_AGE}",
            ok & ((age < 0) | (age > MAX_AGE) | (np.floor(age) != age)),
            lines,
            raw["age"],
        )
    )

    date_text = raw["admission_date"]
    dates = pd.to_datetime(date_text, format="%Y-%m-%d", errors="coerce")
    problems.append(_empty(raw, "admission_date"))
    problems.append(
        rows_problem(
            "admission_date is not a date like 2019-03-31 (YYYY-MM-DD)",
            dates.isna().to_numpy() & (date_text != "").to_numpy(),
            lines,
            date_text,
        )
    )

    problems.append(_empty(raw, "hospital_level"))
    problems.append(_in_set(raw, "hospital_level", [lv.value for lv in LEVELS], "hospital_level"))

    if "claim_type" in raw.columns:
        problems.append(_empty(raw, "claim_type"))
        problems.append(_in_set(raw, "claim_type", [ct.value for ct in CLAIM_TYPES], "claim_type"))
        claim_type = raw["claim_type"]
    else:
        claim_type = pd.Series(CLAIM_TYPE_DEFAULT, index=raw.index, dtype=str)

    total, p_total = _numbers(raw, "total_cost", "yuan")
    inpol, p_inpol = _numbers(raw, "in_policy_cost", "yuan")
    problems += p_total + p_inpol
    problems.append(
        rows_problem(
            "negative total_cost (costs are at least 0 yuan)", total < 0, lines, raw["total_cost"]
        )
    )
    problems.append(
        rows_problem(
            "negative in_policy_cost (costs are at least 0 yuan)",
            inpol < 0,
            lines,
            raw["in_policy_cost"],
        )
    )
    for column, values in (("total_cost", total), ("in_policy_cost", inpol)):
        problems.append(
            rows_problem(
                f"{column} above {MAX_COST_YUAN:,.0f} yuan (a claim's cost)",
                values > MAX_COST_YUAN,
                lines,
                raw[column],
            )
        )
    data_columns = [c for c in raw.columns if c != _LINE]
    duplicate = raw.duplicated(subset=data_columns, keep="first").to_numpy()
    if strict:
        problems.append(
            rows_problem("duplicate row (identical to an earlier one)", duplicate, lines)
        )
    above = (total >= 0) & (inpol >= 0) & (inpol > total + COST_TOLERANCE_YUAN)
    pairs = [f"{a:g} > {b:g}" for a, b in zip(inpol, total, strict=True)]
    problems.append(
        rows_problem("in_policy_cost above total_cost", above, lines, pairs, quote=False)
    )
    raise_problems(path, problems, kind)

    out = pd.DataFrame(
        {
            LINE_COLUMN: lines.astype(np.int64),
            "person_id": raw["person_id"].astype(str),
            "category": raw["category"].astype(str),
            "age": age.astype(np.int64),
            "admission_date": dates,
            "year": dates.dt.year.astype(np.int64),
            "hospital_level": raw["hospital_level"].astype(str),
            "claim_type": claim_type.astype(str),
            "total_cost": total,
            "in_policy_cost": inpol,
        }
    )
    for extra in raw.columns:
        if extra != _LINE and extra not in out.columns:
            out[extra] = raw[extra]
    out.attrs["path"] = str(path)
    out.attrs["duplicate_rows"] = int(duplicate.sum())
    return out


def read_exposure(path: str | Path, categories: Sequence[str] | None = None) -> pd.DataFrame:
    """Read and validate an exposure table: ``category, age_band, year, person_years``.

    ``person_years`` is the insured person-years of the category x age band in the year (at least
    0); each combination appears once. Age bands must not overlap. Returns columns ``line``,
    ``category``, ``age_band``, ``year`` (int64), ``person_years`` (float64).
    """
    kind = "exposure table"
    raw = _read_csv(path, kind)
    _require_columns(raw, EXPOSURE_COLUMNS, path, kind)
    lines = raw[_LINE].to_numpy()
    problems: list[Problem | None] = [_empty(raw, "category"), _empty(raw, "age_band")]
    if categories is not None:
        problems.append(_in_set(raw, "category", list(categories), "category"))

    band_ok = np.ones(len(raw), dtype=bool)
    bands: dict[str, AgeBand] = {}
    for i, label in enumerate(raw["age_band"]):
        if label == "":
            band_ok[i] = False
            continue
        try:
            bands.setdefault(label, parse_age_band(label))
        except ValueError:
            band_ok[i] = False
    problems.append(
        rows_problem(
            "age_band is not like '0-15' or '60+'",
            ~band_ok & (raw["age_band"] != "").to_numpy(),
            lines,
            raw["age_band"],
        )
    )
    try:
        check_bands_disjoint(list(bands.values()))
    except ValueError as e:
        problems.append(Problem(str(e)))

    year, p_year = _numbers(raw, "year", "a calendar year")
    problems += p_year
    problems.append(
        rows_problem(
            "year is not a whole calendar year between 1900 and 2200",
            np.isfinite(year) & ((year < 1900) | (year > 2200) | (np.floor(year) != year)),
            lines,
            raw["year"],
        )
    )
    py, p_py = _numbers(raw, "person_years", "person-years")
    problems += p_py
    problems.append(rows_problem("negative person_years", py < 0, lines, raw["person_years"]))

    key = raw["category"] + "|" + raw["age_band"] + "|" + raw["year"]
    dup = key.duplicated(keep=False).to_numpy()
    problems.append(rows_problem("duplicate category, age_band and year", dup, lines))
    raise_problems(path, problems, kind)

    out = pd.DataFrame(
        {
            LINE_COLUMN: lines.astype(np.int64),
            "category": raw["category"].astype(str),
            "age_band": raw["age_band"].astype(str),
            "year": year.astype(np.int64),
            "person_years": py,
        }
    )
    out.attrs["path"] = str(path)
    return out


# --------------------------------------------------------------------------- claims x exposure


def exposure_bands(exposure: pd.DataFrame) -> list[AgeBand]:
    """The age bands of an exposure table, youngest first."""
    return sorted((parse_age_band(b) for b in exposure["age_band"].unique()), key=lambda b: b.low)


def with_age_bands(claims: pd.DataFrame, exposure: pd.DataFrame) -> pd.DataFrame:
    """``claims`` with an ``age_band`` column from the exposure table's bands.

    Raises ClaimsDataError naming the claims rows whose age is in no band, and the rows whose
    category, age band and year have no exposure (or zero person-years).
    """
    path = claims.attrs.get("path", "claims table")
    bands = exposure_bands(exposure)
    labels = age_bands_of(claims["age"].to_numpy(), bands)
    lines = claims[LINE_COLUMN].to_numpy()
    no_band = np.array([lab is None for lab in labels], dtype=bool)
    band_list = ", ".join(b.label for b in bands)
    raise_problems(
        path,
        [
            rows_problem(
                f"age is in no age band of the exposure table ({band_list})",
                no_band,
                lines,
                claims["age"],
            )
        ],
    )
    out = claims.copy()
    out["age_band"] = labels.astype(str)
    covered = exposure.loc[exposure["person_years"] > 0, ["category", "age_band", "year"]]
    merged = out[["category", "age_band", "year"]].merge(
        covered.assign(_has=True), how="left", on=["category", "age_band", "year"]
    )
    missing = merged["_has"].isna().to_numpy()
    what = [
        f"{c}/{a}/{y}"
        for c, a, y in zip(out["category"], out["age_band"], out["year"], strict=True)
    ]
    raise_problems(
        path,
        [
            rows_problem(
                f"no exposure (person-years) for the claim's category/age band/year in "
                f"{exposure.attrs.get('path', 'the exposure table')}",
                missing,
                lines,
                what,
            )
        ],
    )
    return out


def person_year_counts(claims: pd.DataFrame, exposure: pd.DataFrame) -> pd.DataFrame:
    """Distribution of claims per person-year by category, age band and year (zeros included).

    ``claims`` must have an ``age_band`` column (see :func:`with_age_bands`) and hold one claim type.
    A person's claims in a year in one category and age band form one person-year with ``k`` claims;
    the person-years with no claim are ``person_years - (person-years with a claim)`` of the
    exposure table (an approximation when people are insured for part of a year: each claimant
    counts as one person-year). Returns columns ``category, age_band, year, claims, weight``: the
    number (``weight``, float: exposure may be fractional) of person-years with ``claims`` claims.
    Raises ClaimsDataError if a group has more claimants than person-years.
    """
    keys = ["category", "age_band", "year"]
    per_person = (
        claims.groupby([*keys, "person_id"], sort=False).size().rename("claims").reset_index()
    )
    hist = per_person.groupby([*keys, "claims"], sort=True).size().rename("weight").reset_index()
    hist["weight"] = hist["weight"].astype(np.float64)
    claimants = hist.groupby(keys)["weight"].sum().rename("claimants").reset_index()
    zeros = exposure[[*keys, "person_years"]].merge(claimants, how="left", on=keys)
    zeros["claimants"] = zeros["claimants"].fillna(0.0)
    zeros["weight"] = zeros["person_years"] - zeros["claimants"]
    over = zeros[zeros["weight"] < -1e-9]
    if not over.empty:
        rows = [
            f"{r.category}/{r.age_band}/{r.year}: {r.claimants:g} claimants, {r.person_years:g} person-years"
            for r in over.head(MAX_LINES_SHOWN).itertuples()
        ]
        more = ", ..." if len(over) > MAX_LINES_SHOWN else ""
        raise ClaimsDataError(
            f"{exposure.attrs.get('path', 'exposure table')}: fewer person-years than persons with "
            f"claims in {len(over)} group{'s' if len(over) != 1 else ''} ({'; '.join(rows)}{more})"
        )
    zeros = zeros.assign(claims=0)[[*keys, "claims", "weight"]]
    out = pd.concat([zeros, hist], ignore_index=True)
    out = out[out["weight"] > 0].sort_values([*keys, "claims"]).reset_index(drop=True)
    out["claims"] = out["claims"].astype(np.int64)
    return out
