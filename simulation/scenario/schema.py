"""The scenario file's typed, frozen model (pydantic v2).

Units are in the field names or docstrings: money in yuan, rates per person-year, ratios and shares
as fractions in [0, 1]. Policy values that may change by year are :class:`~simulation.params.Dated`.
Cross-references (a layer naming a category, a cell naming a tier) are checked in
:meth:`Scenario._check_references` so that every error names the key path it comes from.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from ..params import Dated


def _parse_dated(raw: Any) -> Dated:
    return Dated.parse(raw)


DatedValue = Annotated[
    Dated,
    BeforeValidator(_parse_dated),
    PlainSerializer(lambda d: d.to_toml_value(), return_type=Any),
]
"""A scalar or ``{year = value, ..., growth = g}``; see :mod:`simulation.params`."""

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Yuan = Annotated[float, Field(ge=0.0)]
Rate = Annotated[float, Field(ge=0.0)]


class Frozen(BaseModel):
    """Base for every scenario type: immutable, no unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


def _dated_nonnegative(value: Dated, what: str) -> Dated:
    for v in value.all_values():
        if v < 0:
            raise ValueError(f"{what} must not be negative, found {v:g}")
    return value


def _dated_fraction(value: Dated, what: str) -> Dated:
    for v in value.all_values():
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"{what} must be a fraction in [0, 1], found {v:g}")
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


# --------------------------------------------------------------------------- people


class Category(Frozen):
    """A category of insured person (extremely poor, minimum-allowance, ordinary resident, ...)."""

    label: str
    needy: bool = True
    """Whether the category is on the roster of people in need."""


class Income(Frozen):
    """Household disposable income per person, yuan per year: lognormal with this mean and CV."""

    mean_yuan: Annotated[float, Field(gt=0.0)]
    cv: Annotated[float, Field(gt=0.0)] = 0.6


class Cell(Frozen):
    """A group of exchangeable insured persons: category x age band x region type."""

    category: str
    age_band: str
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
        return _dated_nonnegative(v, "a count of persons")


class Roster(Frozen):
    """Quarterly roster dynamics of the people in need (RULES.md section 2, seed 000).

    Rates are per quarter, as fractions of the category's count at the start of the year.
    """

    entry_rate: dict[str, DatedValue] = {}
    """New entrants per quarter, by category, as a fraction of the start-of-year count."""
    exit_rate: dict[str, DatedValue] = {}
    """Exits per quarter, by category, as a fraction of the start-of-year count."""
    stay_needy: dict[str, Fraction] = {}
    """Probability that an exit still belongs to another needy category (keeps cover), by category."""
    stay_needy_category: dict[str, str] = {}
    """The category such an exit moves to, by category."""
    entrant_from: str | None = None
    """Category an entrant belongs to before it is verified (covered only by the layers for it)."""
    verification_day: Annotated[int, Field(ge=1, le=90)] = 10
    """Day of the quarter on which entries and exits take effect (day 10 = before the 10th)."""

    @field_validator("entry_rate", "exit_rate")
    @classmethod
    def _rates(cls, v: dict[str, Dated]) -> dict[str, Dated]:
        for cat, d in v.items():
            _dated_fraction(d, f"the quarterly rate for {cat!r}")
        return v


class Population(Frozen):
    cells: dict[str, Cell]
    roster: Roster = Roster()

    @field_validator("cells")
    @classmethod
    def _some_cells(cls, v: dict[str, Cell]) -> dict[str, Cell]:
        if not v:
            raise ValueError("a population needs at least one cell")
        return v


# --------------------------------------------------------------------------- illness costs


class Frequency(Frozen):
    """Claims per covered person-year.

    The rate of a cell is ``rate[category] * age_factor[age_band] * (1 + trend) ** (year - start)``.
    Negative binomial: variance = mean * (1 + dispersion * mean) (``dispersion`` = 1 / shape).
    """

    distribution: FrequencyKind = FrequencyKind.POISSON
    rate: dict[str, Annotated[float, Field(ge=0.0)]]
    """Claims per person-year by category; ``default`` applies to categories not listed."""
    age_factor: dict[str, Annotated[float, Field(ge=0.0)]] = {}
    """Multiplier by age band; bands not listed use 1."""
    dispersion: Annotated[float, Field(ge=0.0)] = 0.0
    trend: float = 0.0
    """Growth of the rate per year (fraction)."""

    @model_validator(mode="after")
    def _nb(self) -> Frequency:
        if self.distribution is FrequencyKind.NEGATIVE_BINOMIAL and self.dispersion <= 0:
            raise ValueError("a negative binomial frequency needs dispersion > 0")
        return self


class Tail(Frozen):
    """Generalized Pareto tail spliced on the body above its ``quantile`` (density continuous)."""

    quantile: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.95
    shape: Annotated[float, Field(ge=0.0, lt=0.5)] = 0.25
    """GPD shape xi (< 0.5 so the variance is finite)."""


class LevelSeverity(Frozen):
    """Cost per claim at one hospital level, yuan (before the yearly trend)."""

    body: BodyKind = BodyKind.LOGNORMAL
    mean_yuan: Annotated[float, Field(gt=0.0)]
    """Mean cost per claim of the whole (spliced) distribution, yuan, in the start year."""
    cv: Annotated[float, Field(gt=0.0)]
    """Coefficient of variation of the body distribution."""
    tail: Tail | None = None
    in_policy_mean: Fraction = 0.85
    """Mean in-policy share of a claim's total cost (beta distributed)."""
    in_policy_sd: Annotated[float, Field(ge=0.0, lt=0.5)] = 0.08


class Severity(Frozen):
    levels: dict[HospitalLevel, LevelSeverity]
    level_mix: dict[str, dict[HospitalLevel, Fraction]]
    """Share of claims by hospital level, by category; ``default`` for unlisted categories."""
    trend: DatedValue = Dated(scalar=0.0)
    """Medical cost growth per year (fraction), applied from the year after the start year."""

    @field_validator("level_mix")
    @classmethod
    def _mix_sums(cls, v: dict[str, dict[HospitalLevel, float]]) -> dict:
        for cat, mix in v.items():
            total = sum(mix.values())
            if abs(total - 1.0) > 1e-9:
                raise ValueError(f"level mix for {cat!r} must sum to 1, found {total:g}")
        return v


class ClaimModel(Frozen):
    frequency: Frequency
    severity: Severity


# --------------------------------------------------------------------------- layers


class Band(Frozen):
    """A band of a banded layer: ``ratio`` of the base between ``from_yuan`` and the next band."""

    from_yuan: Yuan = Field(alias="from")
    ratio: Fraction

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class LevelRule(Frozen):
    """A per-hospital-level deductible and ratio (basic layer)."""

    deductible: Yuan = 0.0
    ratio: Fraction


class Preferential(Frozen):
    """A category's preferential terms in a layer (seed 003: lower threshold, higher ratio, no cap)."""

    threshold_multiplier: Annotated[float, Field(ge=0.0)] = 1.0
    """Multiplies the deductible; band boundaries shift down by the same amount (widths kept)."""
    ratio_addon: Annotated[float, Field(ge=-1.0, le=1.0)] = 0.0
    """Added to every band's ratio (capped at 1)."""
    cap_removed: bool = False
    deductible: Yuan | None = None
    """An absolute deductible for the category (replaces the multiplied one)."""


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
    covers: list[str] = ["all"]
    """Categories covered; ``all`` for every category."""
    claim_types: list[ClaimType] = [ClaimType.INPATIENT]
    base: Base = Base.IN_POLICY
    settlement: Settlement = Settlement.ANNUAL_CUMULATIVE
    deductible: DatedValue | None = None
    """The threshold, yuan (per admission or per year according to ``settlement``); defaults to the
    first band's start. The band schedule is anchored at it: when the deductible in force differs
    from ``bands[0].from`` (a dated deductible, a preferential multiplier), every band boundary
    moves by the same amount, so band widths are kept."""
    bands: list[Band] = []
    """Banded ratios; band boundaries are amounts of the base in yuan."""
    by_level: dict[HospitalLevel, LevelRule] = {}
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
                raise ValueError(
                    f"band thresholds must increase: band {i} starts at {v[i].from_yuan:g} yuan, "
                    f"not above band {i - 1} at {v[i - 1].from_yuan:g} yuan"
                )
        return v

    @model_validator(mode="after")
    def _some_rule(self) -> Layer:
        if not self.bands and not self.by_level:
            raise ValueError("a layer needs 'bands' or 'by_level' ratios")
        if self.bands and self.by_level:
            raise ValueError("a layer has either 'bands' or 'by_level', not both")
        if self.by_level and self.deductible is not None:
            raise ValueError("a 'by_level' layer states its deductibles per level, not 'deductible'")
        if self.by_level and set(self.by_level) != set(LEVELS):
            missing = sorted(set(LEVELS) - set(self.by_level))
            raise ValueError(f"'by_level' needs every hospital level; missing {missing}")
        return self


# --------------------------------------------------------------------------- funds and contracts


class Contract(Frozen):
    """The contract under which an insurer runs a fund (RULES.md section 3)."""

    kind: ContractKind = ContractKind.CAPPED_PROFIT
    profit_cap_rate: Fraction = 0.03
    """Capped profit: the insurer's result incl. operating cost is at most this share of premium."""
    management_rate: Fraction = 0.03
    """Cost-plus: management cost and profit as a share of claims paid, paid by finance."""
    loss_band_rate: Fraction = 0.05
    """Corridor: the insurer bears losses up to this share of premium ..."""
    excess_insurer_share: Fraction = 0.5
    """... and this share of the loss beyond it; the fund bears the rest."""
    operating_cost_fixed_yuan: Yuan = 0.0
    """Insurer's operating cost per year, yuan (inside its margin)."""
    operating_cost_rate: Fraction = 0.0
    """Insurer's operating cost as a share of claims paid."""
    term_years: Annotated[int, Field(ge=1)] = 3
    settlement: Literal["annual", "term"] = "annual"


class Fund(Frozen):
    """A fund: its financing per head and the contract that runs it."""

    label: str
    financing_per_head: DatedValue | dict[str, DatedValue]
    """Yuan per insured person-year; a table by tier for differentiated financing."""
    contract: Contract = Contract(kind=ContractKind.NONE)
    opening_balance_yuan: float = 0.0

    @field_validator("financing_per_head")
    @classmethod
    def _fin(cls, v: Dated | dict[str, Dated]) -> Dated | dict[str, Dated]:
        items = v.items() if isinstance(v, dict) else [("", v)]
        for tier, d in items:
            _dated_nonnegative(d, f"financing per head{' for ' + tier if tier else ''}")
        return v


# --------------------------------------------------------------------------- the scenario


class Economy(Frozen):
    catastrophic_share: Fraction = 0.4
    """Out-of-pocket above this share of household income per person is catastrophic (WHO-style)."""


class Scenario(Frozen):
    """A whole scenario: people, illness costs, layers of cover, funds and contracts."""

    name: str
    title: str = ""
    description: str = ""
    start_year: Annotated[int, Field(ge=1990, le=2100)]
    horizon_years: Annotated[int, Field(ge=1, le=50)] = 1
    categories: dict[str, Category]
    population: Population
    claims: dict[ClaimType, ClaimModel]
    cascade: list[str]
    """Layer names in the order they pay (insurance before assistance)."""
    layers: dict[str, Layer]
    funds: dict[str, Fund]
    economy: Economy = Economy()
    changes: dict[str, dict[str, Any]] = {}
    """Rule changes by year: ``[changes.2021]`` is merged onto the scenario from 2021 on."""

    @model_validator(mode="after")
    def _check_references(self) -> Scenario:
        _check_references(self)
        return self


class ReferenceError_(ValueError):
    """A cross-reference error carrying its own key path."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


def _did_you_mean(name: str, options: list[str]) -> str:
    import difflib

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
        need_category(("population", "roster", "stay_needy_category", cat), target)
    if r.entrant_from is not None:
        need_category(("population", "roster", "entrant_from"), r.entrant_from)

    for ct, model in s.claims.items():
        for cat in model.frequency.rate:
            if cat != "default":
                need_category(("claims", ct.value, "frequency", "rate", cat), cat)
        for cat in model.severity.level_mix:
            if cat != "default":
                need_category(("claims", ct.value, "severity", "level_mix", cat), cat)
        missing_rate = [c for c in cats if c not in model.frequency.rate]
        if missing_rate and "default" not in model.frequency.rate:
            raise ReferenceError_(
                ("claims", ct.value, "frequency", "rate"),
                f"no rate for categories {missing_rate} and no 'default' rate",
            )
        if "default" not in model.severity.level_mix and any(
            c not in model.severity.level_mix for c in cats
        ):
            raise ReferenceError_(
                ("claims", ct.value, "severity", "level_mix"),
                "a level mix is needed for every category, or a 'default' one",
            )
        for i, lvl in enumerate(LEVELS):
            if lvl not in model.severity.levels:
                raise ReferenceError_(
                    ("claims", ct.value, "severity", "levels"),
                    f"no severity for hospital level {lvl.value!r} (item {i})",
                )

    for i, name in enumerate(s.cascade):
        if name not in s.layers:
            raise ReferenceError_(
                ("cascade", i),
                f"layer {name!r} is not defined in [layers]{_did_you_mean(name, list(s.layers))}",
            )
    for name in s.layers:
        if name not in s.cascade:
            raise ReferenceError_(("layers", name), "layer is defined but not in 'cascade'")
    for lname, layer in s.layers.items():
        for i, cat in enumerate(layer.covers):
            need_category(("layers", lname, "covers", i), cat, allow_all=True)
        for cat in layer.preferential:
            need_category(("layers", lname, "preferential", cat), cat)
        if layer.fund not in s.funds:
            raise ReferenceError_(
                ("layers", lname, "fund"),
                f"fund {layer.fund!r} is not defined in [funds]{_did_you_mean(layer.fund, list(s.funds))}",
            )
        for ct in layer.claim_types:
            if ct not in s.claims:
                raise ReferenceError_(
                    ("layers", lname, "claim_types"),
                    f"claim type {ct.value!r} has no model in [claims]",
                )
    for fname, fund in s.funds.items():
        if isinstance(fund.financing_per_head, dict):
            for cname, cell in s.population.cells.items():
                if cell.tier is None or cell.tier not in fund.financing_per_head:
                    tiers = list(fund.financing_per_head)
                    raise ReferenceError_(
                        ("population", "cells", cname, "tier"),
                        f"fund {fname!r} finances by tier ({', '.join(tiers)}) but the cell's tier is "
                        f"{cell.tier!r}{_did_you_mean(str(cell.tier), tiers)}",
                    )
        if not any(layer.fund == fname for layer in s.layers.values()):
            raise ReferenceError_(("funds", fname), "fund pays no layer (no layer names it as 'fund')")
    for year in s.changes:
        if not (year.isdigit() and len(year) == 4):
            raise ReferenceError_(("changes", year), f"expected a year like 2021, found {year!r}")
