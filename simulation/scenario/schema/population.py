"""``[categories]`` and ``[population]``: the insured persons, their cells, income and roster
dynamics, and the age bands cells are written in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

import numpy as np
from pydantic import Field, field_validator, model_validator

from ...params import Dated
from .base import (
    MAX_PERSONS,
    DatedValue,
    FieldProblem,
    Fraction,
    Frozen,
    _dated_fraction,
    _dated_items,
    _dated_nonnegative,
    number_text,
    toml_text,
)


@dataclass(frozen=True)
class AgeBand:
    """An age band as a scenario writes it: ``"0-15"`` is ages 0..15, ``"60+"`` is 60 and over,
    ``"all"`` is every age (the same as ``"0+"``)."""

    label: str
    low: int
    high: int | None
    """Highest age in the band (inclusive); None for an open band like ``60+``."""

    def contains(self, ages: np.ndarray) -> np.ndarray:
        """Whether each age (whole years) is in the band: ``low <= age <= high``."""
        ages = np.asarray(ages)
        inside = ages >= self.low
        if self.high is not None:
            inside &= ages <= self.high
        return inside


_BAND_CLOSED = re.compile(r"^(\d{1,3})\s*-\s*(\d{1,3})$")
_BAND_OPEN = re.compile(r"^(\d{1,3})\s*\+$")

ALL_AGES = "all"
"""The age band of every age (``0+``), for a cell not split by age."""
AGE_BAND_EXAMPLE = 'a band like "0-15" or "60+"'
"""How an age band is written, for messages."""


def parse_age_band(label: str) -> AgeBand:
    """``"16-59"`` -> AgeBand(16, 59); ``"60+"`` -> AgeBand(60, None); ``"all"`` -> AgeBand(0, None);
    ValueError otherwise.

    The one parser of age bands: scenario cells (:class:`Cell`), exposure tables
    (:mod:`simulation.claims_data`) and synthetic claims (:mod:`simulation.synth`) all use it.
    """
    text = str(label).strip()
    if text == ALL_AGES:
        return AgeBand(text, 0, None)
    m = _BAND_CLOSED.match(text)
    if m:
        low, high = int(m.group(1)), int(m.group(2))
        if high < low:
            raise ValueError(f"age band {label!r} ends ({high}) before it starts ({low})")
        return AgeBand(text, low, high)
    m = _BAND_OPEN.match(text)
    if m:
        return AgeBand(text, int(m.group(1)), None)
    raise ValueError(f"age band {label!r} is not like '0-15' or '60+'")


# --------------------------------------------------------------------------- people


class Category(Frozen):
    """A category of insured person (extremely poor, minimum-allowance, ordinary resident, ...)."""

    label: str
    needy: bool = True
    """Whether the category is on the roster of people in need."""
    label_zh: str | None = None
    """The label in Chinese reports (``--lang zh``); the label when absent."""


class Income(Frozen):
    """Household disposable income per person, yuan per year: lognormal with this mean and CV."""

    mean_yuan: Annotated[float, Field(gt=0.0, le=1e7)]
    cv: Annotated[float, Field(gt=0.0, le=100.0)] = 0.6
    """Coefficient of variation of income within the cell. Default 0.6: ASSUMPTION. Neither
    RULES.md nor the seeds give the spread of income; 0.6 (lognormal sigma about 0.55, Gini about
    0.30) is a moderate spread within one category and region, narrower than across a whole
    province. The shipped scenarios state their own CV per cell."""


class Cell(Frozen):
    """A group of exchangeable insured persons: category x age band x region type."""

    category: str
    age_band: str
    """Age band of the cell's persons, written ``"0-15"`` (both ends included), ``"60+"``, or
    ``"all"`` for every age (see :func:`parse_age_band`)."""
    region: str = "all"
    """Region type (e.g. poverty county / other); decides how financing is shared."""
    count: DatedValue
    """Persons on the roster at the start of the year."""
    tier: str | None = None
    """Financing tier (a key of a fund's ``financing_per_head`` table)."""
    income: Income

    @field_validator("count")
    @classmethod
    def _count(cls, v: Dated) -> Dated:
        _dated_nonnegative(v, "a count of persons", unit="")
        for sub, n in _dated_items(v):
            if not float(n).is_integer():
                raise FieldProblem(
                    f"expected a whole number of persons, found {number_text(n)}", sub
                )
            if n > MAX_PERSONS:
                raise FieldProblem(
                    f"expected at most {MAX_PERSONS:,} persons in a cell, found {number_text(n)}",
                    sub,
                )
        return v

    @field_validator("age_band")
    @classmethod
    def _age_band(cls, v: str) -> str:
        try:
            band = parse_age_band(v)
        except ValueError:
            band = None
        if band is None or band.label != v:
            why = ""
            m = _BAND_CLOSED.match(str(v).strip())
            if m and int(m.group(2)) < int(m.group(1)):
                why = f" (it ends at {m.group(2)}, before it starts at {m.group(1)})"
            elif band is not None:
                why = f" (write it without spaces around it: {toml_text(band.label)})"
            raise FieldProblem(f"expected {AGE_BAND_EXAMPLE}, found {toml_text(v)}{why}")
        return v


class Roster(Frozen):
    """Quarterly roster dynamics of the people in need (RULES.md section 2, seed 000).

    Rates are per quarter, as fractions of the category's count at the start of the year.
    ``entrant_from`` must be given whenever an ``entry_rate`` or ``exit_rate`` is: entrants come from
    that category (covered before verification only by the layers covering it), and an exit that
    does not stay needy moves to it. ``stay_needy_category`` must name needy categories.
    """

    entry_rate: dict[str, DatedValue] = {}
    """New entrants per quarter, by category, as a fraction of the start-of-year count."""
    exit_rate: dict[str, DatedValue] = {}
    """Exits per quarter, by category, as a fraction of the start-of-year count."""
    stay_needy: dict[str, Fraction] = {}
    """Probability that an exit still belongs to another needy category (keeps cover), by category."""
    stay_needy_category: dict[str, str] = {}
    """The (needy) category such an exit moves to, by category."""
    entrant_from: str | None = None
    """Category an entrant belongs to before it is verified (covered only by the layers for it),
    and the category an exit that does not stay needy moves to."""
    verification_day: Annotated[int, Field(ge=1, le=90)] = 10
    """Day of the quarter on which entries and exits take effect (day 10 = before the 10th).
    Default 10: RULES.md §2, seed 000 I (the roster is adjusted "before the 10th day of the first
    month of each quarter"; the translation reads "1th", repaired in RULES.md)."""

    @field_validator("entry_rate", "exit_rate")
    @classmethod
    def _rates(cls, v: dict[str, Dated]) -> dict[str, Dated]:
        for cat, d in v.items():
            try:
                _dated_fraction(d, "a quarterly rate")
            except FieldProblem as e:
                raise FieldProblem(e.message, (cat, *e.sub)) from None
        return v

    @model_validator(mode="after")
    def _entrant_from_needed(self) -> Roster:
        if (self.entry_rate or self.exit_rate) and self.entrant_from is None:
            given = "entry_rate" if self.entry_rate else "exit_rate"
            raise FieldProblem(
                f"required because '{given}' is given: expected the category entrants come from "
                'and exits that do not stay needy move to (like "ordinary"), found nothing',
                ("entrant_from",),
            )
        for cat, p in self.stay_needy.items():
            if p > 0 and cat not in self.stay_needy_category:
                raise FieldProblem(
                    f"'stay_needy' for {cat!r} is {number_text(p)}: expected the needy category "
                    f"such exits move to in 'stay_needy_category', found none",
                    ("stay_needy_category",),
                )
        return self


class Population(Frozen):
    cells: dict[str, Cell]
    roster: Roster = Roster()

    @field_validator("cells")
    @classmethod
    def _some_cells(cls, v: dict[str, Cell]) -> dict[str, Cell]:
        if not v:
            raise ValueError("expected at least one cell of insured persons, found none")
        return v
