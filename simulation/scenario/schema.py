"""The scenario file's typed, frozen model (pydantic v2).

Units are in the field names or docstrings: money in yuan, rates per person-year, ratios and shares
as fractions in [0, 1]. Policy values that may change by year are :class:`~simulation.params.Dated`;
after validation each one carries its key path as its ``name`` (``funds.basic.financing_per_head``),
so a lookup for a year it does not cover names the parameter.

Numbers, text and booleans are checked strictly (``ratio = "0.5"`` or ``ratio = true`` is an error,
not 0.5 or 1); enum values are written as text (``settlement = "per_admission"``).
Cross-references (a layer naming a category, a cell naming a tier) are checked in
:func:`_check_references` so that every error names the key path it comes from.
:func:`~simulation.scenario.messages.explain_validation_error` turns pydantic's errors into one
message in the scenario file's vocabulary: the key path, what was expected and what was found.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    field_validator,
    model_validator,
)

from ..params import Dated
from .cashflow import CashflowConfig
from .indexed import IndexProblem, resolve_indexed_values

MAX_PERSONS = 2_000_000_000
"""Most persons a cell's roster may hold (China's population is 1.4e9)."""
MAX_PER_HEAD_YUAN = 1e7
"""Most financing per head a fund may have, yuan a year (the shipped scenarios: 25 to 960; sweeps
and tests go to a million)."""
MAX_CLAIM_YUAN = 1e8
"""Most the mean cost of a claim may be, yuan (a year of intensive care is about 1e6)."""
MAX_YUAN = 1e12
"""Most any other amount of money may be, yuan (deductibles, caps, band boundaries)."""
MAX_GROWTH = 1.0
"""Growth and trends per year lie above -1 (a fall to nothing) and at most +100%."""
MAX_HORIZON = 50
"""Most policy years a scenario (or ``--years``) may run."""
YEARS = (1990, 2100)
"""Years a scenario may name (start year, dated values' keys, ``[changes.YYYY]``)."""


def _parse_dated(raw: Any) -> Dated:
    d = Dated.parse(raw)
    if d.growth is not None and not (-1.0 < d.growth <= MAX_GROWTH):
        raise FieldProblem(
            f"expected growth above -1 and at most {number_text(MAX_GROWTH)} (a rate per year), "
            f"found {number_text(d.growth)}",
            ("growth",),
        )
    for year, _ in d.values:
        if not YEARS[0] <= year <= YEARS[1]:
            raise FieldProblem(
                f"expected a year from {YEARS[0]} to {YEARS[1]} as key, found {year:04d}",
                (f"{year:04d}",),
            )
    return d


DatedValue = Annotated[
    Dated,
    BeforeValidator(_parse_dated),
    PlainSerializer(lambda d: d.to_toml_value(), return_type=Any),
]
"""A scalar or ``{year = value, ..., growth = g}``; see :mod:`simulation.params`."""

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
"""A ratio, share, rate or probability in [0, 1]."""
Yuan = Annotated[float, Field(ge=0.0)]
"""An amount of money, yuan, not negative."""
Rate = Annotated[float, Field(ge=0.0, le=1e3)]
"""A non-negative rate (claims per person-year, a multiplier)."""

_LAX = Strict(False)
"""Enum values arrive as text from TOML: enums are validated leniently, everything else strictly."""


class Frozen(BaseModel):
    """Base for every scenario type: immutable, no unknown keys, strict types."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_default=True, strict=True, allow_inf_nan=False
    )


class FieldProblem(ValueError):
    """A validator's finding at ``sub``, a key path below the key being validated."""

    def __init__(self, message: str, sub: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.sub = sub


class ReferenceError_(ValueError):
    """A cross-reference error carrying its own (absolute) key path."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


def number_text(v: float) -> str:
    """A number as a user writes it: ``1.2``, ``-500`` (not ``-500.0``), ``inf``."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if math.isfinite(v) and float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return repr(float(v))


def _dated_items(value: Dated) -> list[tuple[tuple[str | int, ...], float]]:
    """(sub-key, value) of every number written: ``()`` for a scalar, ``("2021",)`` in a table."""
    if value.scalar is not None:
        return [((), value.scalar)]
    return [((str(y),), v) for y, v in value.values]


def _dated_nonnegative(value: Dated, what: str, unit: str = " yuan") -> Dated:
    for sub, v in _dated_items(value):
        if not v >= 0:
            raise FieldProblem(f"expected {what} of at least 0{unit}, found {number_text(v)}", sub)
    return value


def _dated_fraction(value: Dated, what: str) -> Dated:
    for sub, v in _dated_items(value):
        if not 0.0 <= v <= 1.0:
            raise FieldProblem(f"expected {what} between 0 and 1, found {number_text(v)}", sub)
    return value


# --------------------------------------------------------------------------- enums


class HospitalLevel(StrEnum):
    """Hospital level of an admission; decides the basic layer's deductible and ratio."""

    PRIMARY = "primary"
    COUNTY = "county"
    CITY = "city"  # city and provincial (tertiary) hospitals


LEVELS: tuple[HospitalLevel, ...] = tuple(HospitalLevel)


class ClaimType(StrEnum):
    """Kind of claim: an inpatient admission or an outpatient special chronic disease claim."""

    INPATIENT = "inpatient"
    CHRONIC = "chronic"


CLAIM_TYPES: tuple[ClaimType, ...] = tuple(ClaimType)


class Base(StrEnum):
    """What a layer pays on: the part of the cost still unpaid by the layers before it."""

    IN_POLICY = "in_policy"  # in-policy (catalogue) cost still unpaid
    TOTAL = "total"  # in-policy and out-of-policy cost still unpaid
    OUT_OF_POLICY = "out_of_policy"  # out-of-policy cost still unpaid ("second aid")


class Settlement(StrEnum):
    """How a layer settles within a year."""

    PER_ADMISSION = "per_admission"  # deductible and bands apply to each admission alone
    ANNUAL_CUMULATIVE = "annual_cumulative"  # to the year-to-date base; deductible counted once


class ContractKind(StrEnum):
    """The contract between government and the insurer that runs a fund (RULES.md section 3)."""

    CAPPED_PROFIT = "capped_profit"  # premium-based; result capped at a rate of premium (000)
    COST_PLUS = "cost_plus"  # management cost and profit a rate of claims paid (001)
    CORRIDOR = "corridor"  # capped profit plus a loss corridor shared with the fund
    NONE = "none"  # a public fund with no insurer (basic insurance, medical assistance)


class FrequencyKind(StrEnum):
    POISSON = "poisson"
    NEGATIVE_BINOMIAL = "negative_binomial"


class BodyKind(StrEnum):
    LOGNORMAL = "lognormal"
    GAMMA = "gamma"


LevelName = Annotated[HospitalLevel, _LAX]
ClaimTypeName = Annotated[ClaimType, _LAX]


# --------------------------------------------------------------------------- age bands


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


# --------------------------------------------------------------------------- illness costs


class Frequency(Frozen):
    """Claims per covered person-year.

    The rate of a cell is ``rate[category] * age_factor[age_band] * (1 + trend) ** (year - start)``.
    Negative binomial: variance = mean * (1 + dispersion * mean) (``dispersion`` = 1 / shape).
    """

    distribution: Annotated[FrequencyKind, _LAX] = FrequencyKind.POISSON
    rate: dict[str, Annotated[float, Field(ge=0.0, le=365.0)]]
    """Claims per person-year by category; ``default`` applies to categories not listed."""
    age_factor: dict[str, Annotated[float, Field(ge=0.0, le=1e3)]] = {}
    """Multiplier by age band; bands not listed use 1. Every key must be the ``age_band`` of some
    cell, written as the cell writes it (checked in :func:`_check_references`)."""
    dispersion: Annotated[float, Field(ge=0.0, le=1e6)] = 0.0
    trend: Annotated[float, Field(gt=-1.0, le=MAX_GROWTH)] = 0.0
    """Growth of the rate per year (fraction)."""

    @model_validator(mode="after")
    def _nb(self) -> Frequency:
        if self.distribution is FrequencyKind.NEGATIVE_BINOMIAL and self.dispersion <= 0:
            raise FieldProblem(
                "a negative binomial frequency needs a dispersion: expected a number above 0, "
                f"found {number_text(self.dispersion)}",
                ("dispersion",),
            )
        return self


class Tail(Frozen):
    """Generalized Pareto tail spliced on the body above its ``quantile`` (density continuous)."""

    quantile: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.95
    """Quantile of the body above which the tail takes over. Default 0.95: ASSUMPTION. RULES.md §5
    says only "a heavier upper tail" above a lognormal body (Fan et al. 2022); the splice point is
    not given anywhere; the top 5% is a common choice for a peaks-over-threshold fit, and
    ``fundsim fit`` chooses it from claims data."""
    shape: Annotated[float, Field(ge=0.0, lt=0.5)] = 0.25
    """GPD shape xi (< 0.5 so the variance is finite). Default 0.25: ASSUMPTION. No source gives a
    figure (RULES.md §5: "a heavier upper tail"); 0.25 is a moderately heavy tail, halfway to the
    bound 0.5 that keeps the variance finite, in the range the shipped scenarios use (0.2-0.3)."""


class LevelSeverity(Frozen):
    """Cost per claim at one hospital level, yuan (before the yearly trend)."""

    body: Annotated[BodyKind, _LAX] = BodyKind.LOGNORMAL
    mean_yuan: Annotated[float, Field(gt=0.0, le=MAX_CLAIM_YUAN)]
    """Mean cost per claim of the whole (spliced) distribution, yuan, in the start year."""
    cv: Annotated[float, Field(gt=0.0, le=100.0)]
    """Coefficient of variation of the body distribution."""
    tail: Tail | None = None
    in_policy_mean: Fraction = 0.85
    """Mean in-policy share of a claim's total cost (beta distributed). Default 0.85: ASSUMPTION.
    No source gives the in-policy (catalogue) share of total cost. RULES.md §5 gives 68.1% overall
    and about 63% / 72% / 81% at tertiary / secondary / primary level (2023 bulletin), but those
    are the shares of in-policy cost *paid by the basic fund* (the basic layer's ratio, cf. "~70%",
    seed 002), a different quantity from this one; the shipped scenarios set 0.75-0.95 by level."""
    in_policy_sd: Annotated[float, Field(ge=0.0, lt=0.5)] = 0.08
    """Standard deviation of a claim's in-policy share. Default 0.08: ASSUMPTION (no source gives
    a spread; with the default mean 0.85, 95% of shares fall between about 0.66 and 0.97)."""


class Severity(Frozen):
    levels: dict[LevelName, LevelSeverity]
    level_mix: dict[str, dict[LevelName, Fraction]]
    """Share of claims by hospital level, by category; ``default`` for unlisted categories."""
    trend: DatedValue = Dated(scalar=0.0)
    """Medical cost growth per year (fraction), applied from the year after the start year."""

    @field_validator("trend")
    @classmethod
    def _trend(cls, v: Dated) -> Dated:
        for sub, g in _dated_items(v):
            if not -1.0 < g <= MAX_GROWTH:
                raise FieldProblem(
                    f"expected a trend above -1 and at most {number_text(MAX_GROWTH)} (a rate per "
                    f"year), found {number_text(g)}",
                    sub,
                )
        return v

    @field_validator("level_mix")
    @classmethod
    def _mix_sums(cls, v: dict[str, dict[HospitalLevel, float]]) -> dict:
        for cat, mix in v.items():
            total = sum(mix.values())
            if abs(total - 1.0) > 1e-6:
                terms = " + ".join(f"{lvl.value} {number_text(s)}" for lvl, s in mix.items())
                raise FieldProblem(
                    f"expected shares by hospital level that sum to 1, found {total:.6g}"
                    + (f" ({terms})" if terms else ""),
                    (cat,),
                )
        return v


class ClaimModel(Frozen):
    frequency: Frequency
    severity: Severity


# --------------------------------------------------------------------------- layers


class Band(Frozen):
    """A band of a banded layer: ``ratio`` of the base between ``from_yuan`` and the next band.

    Written ``{ from = 10000, ratio = 0.5 }`` in a scenario file (``from`` is a Python keyword).
    """

    from_yuan: Yuan = Field(alias="from")
    ratio: Fraction

    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, strict=True, allow_inf_nan=False
    )


class LevelRule(Frozen):
    """A per-hospital-level deductible and ratio (basic layer)."""

    deductible: Yuan = 0.0
    ratio: Fraction


class Preferential(Frozen):
    """A category's preferential terms in a layer (seed 003: lower threshold, higher ratio, no cap)."""

    threshold_multiplier: Annotated[float, Field(ge=0.0, le=1e3)] = 1.0
    """Multiplies the deductible; band boundaries shift down by the same amount (widths kept)."""
    ratio_addon: Annotated[float, Field(ge=-1.0, le=1.0)] = 0.0
    """Added to every band's ratio (capped at 1)."""
    cap_removed: bool = False
    deductible: DatedValue | None = None
    """An absolute deductible for the category, yuan (replaces the multiplied one): a number, a
    dated table, or a share of an economic series (``{ share = 0.1, of = "disposable_income.rural",
    lag = 0 }``, see :mod:`simulation.scenario.indexed`)."""

    @field_validator("deductible")
    @classmethod
    def _pref_ded(cls, v: Dated | None) -> Dated | None:
        return None if v is None else _dated_nonnegative(v, "a deductible")


class Layer(Frozen):
    """A layer of cover (RULES.md section 1).

    Pays ``B(x) = min(sum_k ratio_k * clip(x - from_k, 0, from_{k+1} - from_k), cap)`` of its base
    ``x``, where the first band starts at the deductible. With per-admission settlement ``x`` is the
    admission's base; with annual cumulative settlement an admission is paid
    ``B(year-to-date base) - B(year-to-date base before it)``.
    """

    label: str
    fund: str
    """The fund that pays this layer's claims."""
    label_zh: str | None = None
    """The label in Chinese reports (``--lang zh``); the label when absent."""
    covers: list[str] = ["all"]
    """Categories covered; ``all`` for every category."""
    claim_types: list[ClaimTypeName] = [ClaimType.INPATIENT]
    base: Annotated[Base, _LAX] = Base.IN_POLICY
    settlement: Annotated[Settlement, _LAX] = Settlement.ANNUAL_CUMULATIVE
    deductible: DatedValue | None = None
    """The threshold, yuan (per admission or per year according to ``settlement``); defaults to the
    first band's start. The band schedule is anchored at it: when the deductible in force differs
    from ``bands[0].from`` (a dated deductible, a preferential multiplier), every band boundary
    moves by the same amount, so band widths are kept."""
    bands: list[Band] = []
    """Banded ratios; band boundaries are amounts of the base in yuan."""
    by_level: dict[LevelName, LevelRule] = {}
    """Per-level deductible and single ratio (per-admission layers such as basic insurance)."""
    annual_cap: DatedValue | None = None
    """Most the layer pays a person in a year, yuan; none for no cap."""
    preferential: dict[str, Preferential] = {}

    @field_validator("deductible")
    @classmethod
    def _ded(cls, v: Dated | None) -> Dated | None:
        return None if v is None else _dated_nonnegative(v, "a deductible")

    @field_validator("annual_cap")
    @classmethod
    def _cap(cls, v: Dated | None) -> Dated | None:
        return None if v is None else _dated_nonnegative(v, "an annual cap")

    @field_validator("bands")
    @classmethod
    def _bands_increasing(cls, v: list[Band]) -> list[Band]:
        for i in range(1, len(v)):
            if v[i].from_yuan <= v[i - 1].from_yuan:
                raise FieldProblem(
                    "band thresholds must increase: expected a threshold above band "
                    f"{i - 1}'s {number_text(v[i - 1].from_yuan)} yuan, "
                    f"found {number_text(v[i].from_yuan)}",
                    (i, "from"),
                )
        return v

    @model_validator(mode="after")
    def _some_rule(self) -> Layer:
        if not self.bands and not self.by_level:
            raise ValueError(
                "expected 'bands' (banded ratios) or 'by_level' (a deductible and ratio per "
                "hospital level), found neither"
            )
        if self.bands and self.by_level:
            raise ValueError("expected either 'bands' or 'by_level', found both")
        if self.by_level and self.deductible is not None:
            raise FieldProblem(
                "a 'by_level' layer states its deductible per hospital level: expected no "
                f"'deductible' here, found {toml_text(self.deductible)}",
                ("deductible",),
            )
        if self.by_level and set(self.by_level) != set(LEVELS):
            missing = [lvl.value for lvl in LEVELS if lvl not in self.by_level]
            raise FieldProblem(
                "expected a rule for every hospital level "
                f"({', '.join(lvl.value for lvl in LEVELS)}), missing: {', '.join(missing)}",
                ("by_level",),
            )
        return self


# --------------------------------------------------------------------------- funds and contracts


class Contract(Frozen):
    """The contract under which an insurer runs a fund (RULES.md section 3)."""

    kind: Annotated[ContractKind, _LAX] = ContractKind.CAPPED_PROFIT
    profit_cap_rate: Fraction = 0.03
    """Capped profit: the insurer's result incl. operating cost is at most this share of premium.
    Default 0.03: RULES.md §3 and §5, seed 000 III ("controlled within 3% of the total amount of
    funds raised in that year")."""
    management_rate: Fraction = 0.03
    """Cost-plus: management cost and profit as a share of claims paid, paid by finance.
    Default 0.03: RULES.md §3 and §5, seed 001 IV(3) ("generally controlled within 3% of the total
    actual compensation funds ... in that year ... borne by the municipal finance")."""
    loss_band_rate: Fraction = 0.05
    """Corridor: the insurer bears losses up to this share of premium ...
    Default 0.05: ASSUMPTION, the placeholder of RULES.md §5 ("not found in any source": insurer
    bears losses up to 5% of premium); no seed has a loss-corridor clause (RULES.md §3)."""
    excess_insurer_share: Fraction = 0.5
    """... and this share of the loss beyond it; the fund bears the rest.
    Default 0.5: ASSUMPTION, the placeholder of RULES.md §5 (the excess split 50/50 with the
    fund); not in any seed."""
    operating_cost_fixed_yuan: Yuan = 0.0
    """Insurer's operating cost per year, yuan (inside its margin)."""
    operating_cost_rate: Fraction = 0.0
    """Insurer's operating cost as a share of claims paid."""
    term_years: Annotated[int, Field(ge=1)] = 3
    """Contract term, years. Default 3: seed 001 IV(3) ("not less than 3 years in principle"),
    RULES.md §3 and §5 (contract practice: 3 years)."""
    settlement: Literal["annual", "term"] = "annual"


class Fund(Frozen):
    """A fund: its financing per head and the contract that runs it."""

    label: str
    financing_per_head: DatedValue | dict[str, DatedValue]
    """Yuan per insured person-year; a table by tier for differentiated financing."""
    contract: Contract = Contract(kind=ContractKind.NONE)
    opening_balance_yuan: Annotated[float, Field(ge=-MAX_YUAN, le=MAX_YUAN)] = 0.0
    label_zh: str | None = None
    """The label in Chinese reports (``--lang zh``); the label when absent."""
    balance_note: str | None = None
    """What this fund's balance (financing minus claims) means, shown with its figures in the
    report (e.g. a basic fund whose roster is cross-subsidised: a deficit is the subsidy the
    roster receives, not a shortfall)."""
    balance_note_zh: str | None = None
    """The balance note in Chinese reports."""

    @field_validator("financing_per_head", mode="before")
    @classmethod
    def _years_are_dated(cls, raw: Any) -> Any:
        """A table with a year, ``growth`` or ``source`` key is a dated value, never a tier table."""
        if isinstance(raw, dict) and any(_year_or_meta(k) for k in raw):
            return _parse_dated(raw)
        return raw

    @field_validator("financing_per_head")
    @classmethod
    def _fin(cls, v: Dated | dict[str, Dated]) -> Dated | dict[str, Dated]:
        if isinstance(v, dict) and not v:
            raise ValueError(
                "expected an amount in yuan per head or a table of tiers like "
                "{tier1 = 130, tier2 = 110}, found an empty table"
            )
        items = v.items() if isinstance(v, dict) else [(None, v)]
        for tier, d in items:
            try:
                _dated_nonnegative(d, "a financing per head")
                for sub, x in _dated_items(d):
                    if x > MAX_PER_HEAD_YUAN:
                        raise FieldProblem(
                            f"expected a financing per head of at most {MAX_PER_HEAD_YUAN:,.0f} "
                            f"yuan, found {number_text(x)}",
                            sub,
                        )
            except FieldProblem as e:
                raise FieldProblem(e.message, e.sub if tier is None else (tier, *e.sub)) from None
        return v


# --------------------------------------------------------------------------- systematic risk


class FactorLaw(StrEnum):
    """Marginal law of a year's level multiplier (mean 1, coefficient of variation ``cv``)."""

    LOGNORMAL = "lognormal"
    GAMMA = "gamma"


class FactorGroups(StrEnum):
    """How cells share a level factor: one factor for all, or one per region or category."""

    NONE = "none"
    REGION = "region"
    CATEGORY = "category"


class LevelFactor(Frozen):
    """A multiplier of one claim type's frequency or cost per path and policy year
    (:mod:`simulation.engine.factors`): mean 1, coefficient of variation ``cv``, with an AR(1)
    structure of coefficient ``phi`` on its standard normal driver (``random_walk``: the driver is a
    random walk, lognormal only) and a per-path uncertain trend ``exp(delta k)``,
    ``delta ~ Normal(0, trend_sd)``, ``k`` the policy year's index."""

    cv: Annotated[float, Field(ge=0.0, le=2.0)]
    law: Annotated[FactorLaw, _LAX] = FactorLaw.LOGNORMAL
    phi: Annotated[float, Field(gt=-1.0, lt=1.0)] = 0.0
    random_walk: bool = False
    trend_sd: Annotated[float, Field(ge=0.0, le=0.5)] = 0.0
    groups: Annotated[FactorGroups, _LAX] = FactorGroups.NONE
    correlation: Annotated[float, Field(ge=0.0, le=1.0)] | list[list[float]] = 1.0
    """Between groups: one number (equicorrelation) or a matrix in the groups' sorted order."""
    source: str = ""

    @model_validator(mode="after")
    def _check(self) -> LevelFactor:
        if self.random_walk and self.law is not FactorLaw.LOGNORMAL:
            raise FieldProblem('expected law = "lognormal" with random_walk = true', ("law",))
        if isinstance(self.correlation, list):
            m = np.asarray(self.correlation, dtype=float)
            if m.ndim != 2 or m.shape[0] != m.shape[1]:
                raise FieldProblem("expected a square matrix", ("correlation",))
            if (np.abs(m) > 1).any() or not np.allclose(np.diag(m), 1.0):
                raise FieldProblem(
                    "expected entries in [-1, 1] with 1 on the diagonal", ("correlation",)
                )
            if not np.allclose(m, m.T) or np.linalg.eigvalsh(m).min() < -1e-10:
                raise FieldProblem(
                    "expected a symmetric positive semi-definite matrix, found smallest "
                    f"eigenvalue {np.linalg.eigvalsh((m + m.T) / 2).min():.3g}",
                    ("correlation",),
                )
        return self


EventEffect = dict[ClaimTypeName, dict[str, Annotated[float, Field(gt=0.0)]]]
"""Multipliers by claim type and hospital level (or ``all``), e.g. ``{inpatient = {all = 0.9}}``."""


class NamedEvent(Frozen):
    """An event year (an epidemic, a new high-cost drug list): occurs with ``probability`` in each
    policy year of each path, independently, and then multiplies frequency and cost."""

    probability: Fraction
    frequency: EventEffect = {}
    cost: EventEffect = {}
    source: str = ""


PARAMETER_NAMES = ("frequency.rate", *(f"severity.{lvl.value}.mean" for lvl in HospitalLevel))
"""Fitted parameters the engine can draw: on the log scale, the claim rate and each level's mean
cost (their multipliers are reduced-form frequency and cost factors)."""


class ParameterUncertainty(Frozen):
    """The covariance of fitted parameters' logarithms (asymptotic normal, ``fundsim fit``): each
    path draws ``theta ~ Normal(0, covariance)`` once and multiplies the parameter by
    ``exp(theta)`` (the fitted value is the median)."""

    names: list[str]
    covariance: list[list[float]]
    source: str = ""

    @model_validator(mode="after")
    def _check(self) -> ParameterUncertainty:
        for i, n in enumerate(self.names):
            if n not in PARAMETER_NAMES:
                raise FieldProblem(
                    f"expected one of {', '.join(PARAMETER_NAMES)}, found {n!r}", ("names", i)
                )
        m = np.asarray(self.covariance, dtype=float)
        k = len(self.names)
        if m.shape != (k, k):
            raise FieldProblem(
                f"expected a {k} x {k} matrix (one row per name), found shape "
                f"{' x '.join(map(str, m.shape))}",
                ("covariance",),
            )
        if k and (not np.allclose(m, m.T) or np.linalg.eigvalsh(m).min() < -1e-12):
            raise FieldProblem(
                "expected a symmetric positive semi-definite matrix", ("covariance",)
            )
        return self


class DemandResponse(Frozen):
    """Utilisation responds to benefits (:func:`simulation.engine.factors.demand_multipliers`):
    claim type ``t``'s frequency in year ``y`` is multiplied by ``((1 - r_y) / (1 - r_ref)) **
    elasticity[t]``, ``r_y`` the expected share of in-policy cost paid by all layers (exact method,
    rules in force in ``y``), ``r_ref`` = ``reference_rate`` or, when absent, ``r`` of the start year.
    Elasticity: of utilisation with respect to the patient's price share ``1 - r`` (unitless, <= 0);
    about -0.2 in the RAND Health Insurance Experiment (Manning et al. 1987, AER 77(3); Aron-Dine,
    Einav and Finkelstein 2013, JEP 27(1)): ASSUMPTION that it carries over to these funds."""

    enabled: bool = False
    elasticity: dict[ClaimTypeName, Annotated[float, Field(ge=-5.0, le=0.0)]] = {}
    reference_rate: Annotated[float, Field(ge=0.0, lt=1.0)] | None = None
    source: str = ""


class Systematic(Frozen):
    """Systematic risk: factors common to every person of a path-year
    (:mod:`simulation.engine.factors`). ``enabled = false`` (the default): process risk alone."""

    enabled: bool = False
    frequency: dict[ClaimTypeName, LevelFactor] = {}
    cost: dict[ClaimTypeName, LevelFactor] = {}
    events: dict[str, NamedEvent] = {}
    parameters: dict[ClaimTypeName, ParameterUncertainty] = {}
    demand_response: DemandResponse = DemandResponse()


def _check_systematic(s: Scenario) -> None:
    sy = s.systematic
    for kind in ("frequency", "cost"):
        for ct, f in getattr(sy, kind).items():
            if ct not in s.claims:
                raise ReferenceError_(
                    ("systematic", kind, ct.value),
                    f"claim type {ct.value!r} has no model in [claims]",
                )
            if isinstance(f.correlation, list):
                attr = "region" if f.groups is FactorGroups.REGION else "category"
                n = len({getattr(c, attr) for c in s.population.cells.values()})
                if f.groups is FactorGroups.NONE:
                    n = 1
                if len(f.correlation) != n:
                    raise ReferenceError_(
                        ("systematic", kind, ct.value, "correlation"),
                        f"expected a {n} x {n} matrix (one row per group), found {len(f.correlation)} rows",
                    )
    levels = {lvl.value for lvl in LEVELS} | {"all"}
    for name, ev in sy.events.items():
        for kind in ("frequency", "cost"):
            for ct, by_level in getattr(ev, kind).items():
                if ct not in s.claims:
                    raise ReferenceError_(
                        ("systematic", "events", name, kind, ct.value),
                        f"claim type {ct.value!r} has no model in [claims]",
                    )
                for lvl in by_level:
                    if lvl not in levels:
                        raise ReferenceError_(
                            ("systematic", "events", name, kind, ct.value, lvl),
                            f"expected a hospital level ({', '.join(sorted(levels))}), found {lvl!r}",
                        )
    for ct, where in [(c, "parameters") for c in sy.parameters] + [
        (c, "demand_response.elasticity") for c in sy.demand_response.elasticity
    ]:
        if ct not in s.claims:
            raise ReferenceError_(
                ("systematic", *where.split("."), ct.value), f"claim type {ct.value!r} has no model"
            )


# --------------------------------------------------------------------------- the scenario


class Economy(Frozen):
    """Economic context: the catastrophic-cost threshold and the economic series that policy
    values may be indexed to."""

    series: dict[str, DatedValue | dict[str, DatedValue]] = {}
    """Economic series by name, yuan per person and year (e.g. per-capita disposable income),
    each a dated value, or a table of them by area (``disposable_income = { rural = {...}, urban =
    {...} }``, named ``disposable_income.rural``). A threshold, deductible or cap elsewhere may be
    written as ``{ share = 0.5, of = "disposable_income.rural", lag = 1 }``: that share of the
    series ``lag`` years before (default 1), resolved on load (:mod:`simulation.scenario.indexed`)."""

    @field_validator("series", mode="before")
    @classmethod
    def _series_dated(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        return {
            k: Dated.parse(v) if isinstance(v, dict) and any(_year_or_meta(x) for x in v) else v
            for k, v in raw.items()
        }

    @field_validator("series")
    @classmethod
    def _series_nonnegative(cls, v: dict[str, Any]) -> dict[str, Any]:
        for name, d in v.items():
            for area, value in d.items() if isinstance(d, dict) else [(None, d)]:
                try:
                    _dated_nonnegative(value, "a series value")
                except FieldProblem as e:
                    sub = (name, *e.sub) if area is None else (name, area, *e.sub)
                    raise FieldProblem(e.message, sub) from None
        return v

    catastrophic_share: Fraction = 0.4
    """Out-of-pocket above this share of household income per person is catastrophic (WHO-style).
    Default 0.4: ASSUMPTION. RULES.md §1 and seeds 000 and 004 make the share of people with
    catastrophic out-of-pocket costs an output but give no threshold. 40% follows the WHO measure
    (Xu et al. 2003), which is 40% of *capacity to pay* (income net of subsistence spending);
    applied to whole income it is stricter and counts fewer people. The SDG 3.8.2 indicator uses
    10% and 25% of household consumption or income."""


NOT_CHANGEABLE = ("name", "start_year", "horizon_years", "changes", "systematic")
"""Top-level keys a ``[changes.YYYY]`` table may not set."""


class Scenario(Frozen):
    """A whole scenario: people, illness costs, layers of cover, funds and contracts."""

    name: str
    title: str = ""
    description: str = ""
    title_zh: str | None = None
    """The title in Chinese reports (``--lang zh``); the title when absent."""
    description_zh: str | None = None
    """The description in Chinese reports; the description when absent."""
    start_year: Annotated[int, Field(ge=1990, le=2100)]
    horizon_years: Annotated[int, Field(ge=1, le=MAX_HORIZON)] = 1
    categories: dict[str, Category]
    population: Population
    claims: dict[ClaimTypeName, ClaimModel]
    cascade: list[str]
    """Layer names in the order they pay (insurance before assistance)."""
    layers: dict[str, Layer]
    funds: dict[str, Fund]
    economy: Economy = Economy()
    cashflow: CashflowConfig | None = None
    """Intra-year timing of financing and claim payments (``fundsim cashflow``); defaults apply
    when absent."""
    changes: dict[str, dict[str, Any]] = {}
    """Rule changes by year: ``[changes.2021]`` is merged onto the scenario from 2021 on (tables
    merge, other values replace; see :func:`simulation.scenario.resolve.scenario_for_year`)."""
    systematic: Systematic = Systematic()
    """Systematic risk (factors common to a path-year, :class:`Systematic`); off when absent."""

    @model_validator(mode="before")
    @classmethod
    def _indexed_values(cls, raw: Any) -> Any:
        """Values written as a share of an economic series become their dated equivalent."""
        if not isinstance(raw, dict):
            return raw
        try:
            return resolve_indexed_values(raw)
        except IndexProblem as e:
            raise ReferenceError_(e.loc, e.message) from None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        """A name is a label for folders, tables and reports: 1 to 200 characters, none of them a
        control character (a NUL, a newline)."""
        if not v.strip():
            raise FieldProblem(f"expected a name of 1 to 200 characters, found {toml_text(v)}")
        bad = next((c for c in v if unicodedata.category(c).startswith("C")), None)
        if bad is not None:
            raise FieldProblem(
                f"expected a name without control characters, found U+{ord(bad):04X} in it"
            )
        if len(v) > 200:
            raise FieldProblem(f"expected a name of 1 to 200 characters, found {len(v)}")
        return v

    @model_validator(mode="after")
    def _check_references(self) -> Scenario:
        _check_references(self)
        _check_systematic(self)
        _name_dated(self, ())
        return self

    def with_values(self, values: dict[str, Any]) -> Scenario:
        """A copy with each key path of ``values`` set (``{"layers.supplementary.bands[0].ratio":
        0.6}``), validated like a scenario file (:func:`simulation.scenario.values.with_values`)."""
        from .values import with_values

        return with_values(self, values)


def _did_you_mean(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_references(s: Scenario) -> None:
    cats = list(s.categories)

    def need_category(loc: tuple, name: str, allow_all: bool = False) -> None:
        if allow_all and name == "all":
            return
        if name not in s.categories:
            raise ReferenceError_(
                loc,
                f"category {name!r} is not defined in [categories]{_did_you_mean(name, cats)}; "
                f"defined: {', '.join(cats)}",
            )

    for cname, cell in s.population.cells.items():
        need_category(("population", "cells", cname, "category"), cell.category)
    r = s.population.roster
    for field in ("entry_rate", "exit_rate", "stay_needy", "stay_needy_category"):
        for cat in getattr(r, field):
            need_category(("population", "roster", field, cat), cat)
    for cat, target in r.stay_needy_category.items():
        loc = ("population", "roster", "stay_needy_category", cat)
        need_category(loc, target)
        if not s.categories[target].needy:
            needy = [c for c, v in s.categories.items() if v.needy]
            raise ReferenceError_(
                loc,
                f"expected a needy category (one with needy = true: {', '.join(needy) or 'none'}), "
                f"found {target!r}, which has needy = false",
            )
    if r.entrant_from is not None:
        need_category(("population", "roster", "entrant_from"), r.entrant_from)

    bands = list(dict.fromkeys(cell.age_band for cell in s.population.cells.values()))
    for ct, model in s.claims.items():
        for cat in model.frequency.rate:
            if cat != "default":
                need_category(("claims", ct.value, "frequency", "rate", cat), cat)
        for band in model.frequency.age_factor:
            # a key no cell uses would be silently ignored (the cells' bands get factor 1)
            if band not in bands:
                raise ReferenceError_(
                    ("claims", ct.value, "frequency", "age_factor", band),
                    f"age band {band!r} is not the age_band of any cell in [population.cells]"
                    f"{_did_you_mean(band, bands)}: expected one of {', '.join(bands)}",
                )
        for cat in model.severity.level_mix:
            if cat != "default":
                need_category(("claims", ct.value, "severity", "level_mix", cat), cat)
        missing_rate = [c for c in cats if c not in model.frequency.rate]
        if missing_rate and "default" not in model.frequency.rate:
            raise ReferenceError_(
                ("claims", ct.value, "frequency", "rate"),
                f"expected a rate for every category or a 'default' one, found none for "
                f"{', '.join(missing_rate)}",
            )
        missing_mix = [c for c in cats if c not in model.severity.level_mix]
        if missing_mix and "default" not in model.severity.level_mix:
            raise ReferenceError_(
                ("claims", ct.value, "severity", "level_mix"),
                f"expected a level mix for every category or a 'default' one, found none for "
                f"{', '.join(missing_mix)}",
            )
        missing_levels = [lvl.value for lvl in LEVELS if lvl not in model.severity.levels]
        if missing_levels:
            raise ReferenceError_(
                ("claims", ct.value, "severity", "levels"),
                f"expected a cost model for every hospital level "
                f"({', '.join(lvl.value for lvl in LEVELS)}), missing: {', '.join(missing_levels)}",
            )

    seen: set[str] = set()
    for i, name in enumerate(s.cascade):
        if name not in s.layers:
            raise ReferenceError_(
                ("cascade", i),
                f"layer {name!r} is not defined in [layers]{_did_you_mean(name, list(s.layers))}; "
                f"defined: {', '.join(s.layers)}",
            )
        if name in seen:
            raise ReferenceError_(("cascade", i), f"layer {name!r} is listed twice")
        seen.add(name)
    for name in s.layers:
        if name not in s.cascade:
            raise ReferenceError_(
                ("layers", name),
                "layer is defined but not in 'cascade': expected its name in the cascade list",
            )
    for lname, layer in s.layers.items():
        for i, cat in enumerate(layer.covers):
            need_category(("layers", lname, "covers", i), cat, allow_all=True)
        for cat in layer.preferential:
            need_category(("layers", lname, "preferential", cat), cat)
        if layer.fund not in s.funds:
            raise ReferenceError_(
                ("layers", lname, "fund"),
                f"fund {layer.fund!r} is not defined in [funds]"
                f"{_did_you_mean(layer.fund, list(s.funds))}; defined: {', '.join(s.funds)}",
            )
        for i, ct in enumerate(layer.claim_types):
            if ct not in s.claims:
                raise ReferenceError_(
                    ("layers", lname, "claim_types", i),
                    f"claim type {ct.value!r} has no model in [claims.{ct.value}]",
                )
    for fname, fund in s.funds.items():
        if isinstance(fund.financing_per_head, dict):
            tiers = list(fund.financing_per_head)
            for cname, cell in s.population.cells.items():
                if cell.tier is None:
                    raise ReferenceError_(
                        ("population", "cells", cname, "tier"),
                        f"required because fund {fname!r} finances by tier: expected one of "
                        f"{', '.join(tiers)}, found no tier",
                    )
                if cell.tier not in fund.financing_per_head:
                    raise ReferenceError_(
                        ("funds", fname, "financing_per_head"),
                        f"tier {cell.tier!r} (of cell {cname!r}) is missing: expected a financing "
                        f"per head for every tier the cells use, found only {', '.join(tiers)}"
                        f"{_did_you_mean(cell.tier, tiers)}",
                    )
        if not any(layer.fund == fname for layer in s.layers.values()):
            raise ReferenceError_(
                ("funds", fname), f"fund pays no layer: expected a layer with fund = {fname!r}"
            )
    for year, change in s.changes.items():
        if not (year.isdigit() and len(year) == 4):
            raise ReferenceError_(("changes", year), f"expected a year like 2021, found {year!r}")
        if int(year) < s.start_year:
            raise ReferenceError_(
                ("changes", year),
                f"expected a year from the start year {s.start_year} on, found {year}",
            )
        for key in change:
            if key in NOT_CHANGEABLE:
                raise ReferenceError_(
                    ("changes", year, key),
                    f"'{key}' cannot change by year: expected rules (layers, funds, claims, "
                    "population, ...) only",
                )


# --------------------------------------------------------------------------- dated values


def _key(k: Any) -> str | int:
    return k.value if isinstance(k, Enum) else k


def _year_or_meta(key: Any) -> bool:
    return (str(key).isdigit() and len(str(key)) == 4) or key in ("growth", "source")


def iter_dated(obj: Any, loc: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple, Dated]]:
    """Every dated value in a scenario (or part of one), with its key path (aliases, enum values).

    ``changes`` tables (raw, not yet validated) are skipped.
    """
    if isinstance(obj, BaseModel):
        for fname, finfo in type(obj).model_fields.items():
            if isinstance(obj, Scenario) and fname == "changes":
                continue
            yield from iter_dated(getattr(obj, fname), (*loc, finfo.alias or fname))
    elif isinstance(obj, Dated):
        yield loc, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from iter_dated(v, (*loc, _key(k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from iter_dated(v, (*loc, i))


def _name_dated(obj: Any, loc: tuple[str | int, ...]) -> None:
    """Give every dated value below ``obj`` its key path as ``name`` (for lookup errors).

    Runs once at the end of validation, on the objects validation has just built: the values are
    replaced by named copies, never changed in place (a default may be shared).
    """
    if isinstance(obj, BaseModel):
        for fname, finfo in type(obj).model_fields.items():
            if isinstance(obj, Scenario) and fname == "changes":
                continue
            value = getattr(obj, fname)
            here = (*loc, finfo.alias or fname)
            if isinstance(value, Dated):
                object.__setattr__(obj, fname, dataclasses.replace(value, name=format_loc(here)))
            else:
                _name_dated(value, here)
    elif isinstance(obj, dict):
        for k, v in list(obj.items()):
            here = (*loc, _key(k))
            if isinstance(v, Dated):
                obj[k] = dataclasses.replace(v, name=format_loc(here))
            else:
                _name_dated(v, here)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _name_dated(v, (*loc, i))


# --------------------------------------------------------------------------- key paths and values


def format_loc(loc: tuple[str | int, ...]) -> str:
    """``('layers', 'si', 'bands', 2, 'ratio')`` -> ``layers.si.bands[2].ratio``.

    Keys that are not bare TOML keys are quoted: ``level_mix."60+"``.
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = str(part)
            if not re.fullmatch(r"[A-Za-z0-9_-]+", text):
                text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
            out += ("." if out else "") + text
    return out


def toml_text(value: Any, limit: int = 80) -> str:
    """A value as it would be written in a scenario file (inline), shortened to ``limit``."""

    def text(v: Any) -> str:
        if isinstance(v, Dated):
            return text(v.to_toml_value())
        if isinstance(v, Enum):
            return text(v.value)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
        if isinstance(v, bool | int | float):
            return number_text(v)
        if isinstance(v, dict):
            return (
                "{"
                + ", ".join(f"{format_loc((str(_key(k)),))} = {text(x)}" for k, x in v.items())
                + "}"
            )
        if isinstance(v, list | tuple):
            return "[" + ", ".join(text(x) for x in v) + "]"
        if v is None:
            return "nothing"
        return repr(v)

    out = text(value)
    return out if len(out) <= limit else out[: limit - 3] + "..."
