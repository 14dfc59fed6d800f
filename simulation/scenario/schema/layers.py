"""``[layers.NAME]``: the layers of cover, their bands, per-level rules and preferential terms."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, field_validator, model_validator

from ...params import Dated
from .base import (
    _LAX,
    LEVELS,
    ClaimType,
    ClaimTypeName,
    DatedValue,
    FieldProblem,
    Fraction,
    Frozen,
    LevelName,
    Yuan,
    _dated_nonnegative,
    number_text,
    toml_text,
)


class Base(StrEnum):
    """What a layer pays on: the part of the cost still unpaid by the layers before it."""

    IN_POLICY = "in_policy"  # in-policy (catalogue) cost still unpaid
    TOTAL = "total"  # in-policy and out-of-policy cost still unpaid
    OUT_OF_POLICY = "out_of_policy"  # out-of-policy cost still unpaid ("second aid")


class Settlement(StrEnum):
    """How a layer settles within a year."""

    PER_ADMISSION = "per_admission"  # deductible and bands apply to each admission alone
    ANNUAL_CUMULATIVE = "annual_cumulative"  # to the year-to-date base; deductible counted once


class Band(Frozen):
    """A band of a banded layer: ``ratio`` of the base between ``from_yuan`` and the next band.

    Written ``{ from = 10000, ratio = 0.5 }`` in a scenario file (``from`` is a Python keyword).
    """

    from_yuan: Yuan = Field(alias="from")
    """Written ``from``: where the band starts, yuan of the layer's base; the bands' starts
    increase. The policy's figures (e.g. 10,000 / 20,000 / 30,000 / 50,000 / 100,000 yuan, seed 001,
    RULES.md §1)."""
    ratio: Fraction
    """Share of the base within the band that the layer pays, a fraction in [0, 1] (e.g. 50 / 60 /
    70 / 80 / 90%, seed 001, RULES.md §1)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, strict=True, allow_inf_nan=False
    )


class LevelRule(Frozen):
    """A per-hospital-level deductible and ratio (basic layer)."""

    deductible: Yuan = 0.0
    """Deductible per admission at this hospital level, yuan. Default 0 (none); the policy sets it
    by level (RULES.md §1, seeds 000 §IV and 002)."""
    ratio: Fraction
    """Share of the cost above the deductible that the layer pays at this level, a fraction (basic
    insurance about 70%, seed 002; by level 63% / 72% / 81% at tertiary / secondary / primary,
    RULES.md §5)."""


class Preferential(Frozen):
    """A category's preferential terms in a layer (seed 003: lower threshold, higher ratio, no cap)."""

    threshold_multiplier: Annotated[float, Field(ge=0.0, le=1e3)] = 1.0
    """Multiplies the deductible, no unit; band boundaries shift down by the same amount (widths
    kept). Default 1 (the layer's own threshold); the common preferential rule halves it (0.5,
    RULES.md §5, seed 003: a lower threshold for people in need)."""
    ratio_addon: Annotated[float, Field(ge=-1.0, le=1.0)] = 0.0
    """Added to every band's ratio (capped at 1)."""
    cap_removed: bool = False
    """Whether the layer's annual cap does not apply to the category, true or false. Default false
    (the cap applies); the common preferential rule removes it (seed 003, RULES.md §5)."""
    deductible: DatedValue | None = None
    """An absolute deductible for the category, yuan (replaces the multiplied one): a number, a
    dated table, or a share of an economic series (``{ share = 0.1, of = "disposable_income.rural",
    lag = 0 }``, see :mod:`simulation.scenario.indexed`)."""

    @field_validator("deductible")
    @classmethod
    def _pref_ded(cls, v: Dated | None) -> Dated | None:
        return None if v is None else _dated_nonnegative(v, "a deductible")


class Burden(Frozen):
    """Eligibility by burden (因病致贫重病患者, people impoverished by illness; seed 004, RULES.md §1).

    An admission is paid by the layer only once the person's year-to-date base (what the layers
    before it left, of the year's covered admissions so far) exceeds ``share`` times the person's
    household income (yuan a year, as the engine draws it). The layer's schedule then applies to the
    whole year-to-date base (its deductible counted once): a person's payments up to admission
    ``i`` are ``min(B'(S_i), cap)`` with ``B'(S) = B(S)`` above the threshold and 0 at or below it,
    as far as their admissions so far left room (an admission is paid at most what it left, so
    what the crossing admission cannot take is paid from the person's later admissions). When a
    person's category changes in the year, ``B`` is the current admission's schedule applied to the
    whole year-to-date base (the running largest target is kept).
    """

    share: Annotated[float, Field(gt=0.0, le=100.0)]
    """The burden threshold as a share of the person's household income, a fraction (0.4: the
    year's remaining cost above 40% of household income). No default: the policy states it."""


class Layer(Frozen):
    """A layer of cover (RULES.md section 1).

    Pays ``B(x) = min(sum_k ratio_k * clip(x - from_k, 0, from_{k+1} - from_k), cap)`` of its base
    ``x``, where the first band starts at the deductible. With per-admission settlement ``x`` is the
    admission's base; with annual cumulative settlement an admission is paid
    ``B(year-to-date base) - B(year-to-date base before it)``.
    """

    label: str
    """The layer's name in reports, text. A label, no policy value."""
    fund: str
    """The fund that pays this layer's claims."""
    label_zh: str | None = None
    """The label in Chinese reports (``--lang zh``); the label when absent."""
    covers: list[str] = ["all"]
    """Categories covered; ``all`` for every category."""
    claim_types: list[ClaimTypeName] = [ClaimType.INPATIENT]
    """The claim types the layer pays (``inpatient``, ``chronic``). Default inpatient only: RULES.md
    §1 (the layers' rules are stated per admission)."""
    base: Annotated[Base, _LAX] = Base.IN_POLICY
    """What the layer pays on, of the cost the layers before it left unpaid: ``in_policy``
    (catalogue) cost, ``total`` cost, or ``out_of_policy`` cost ("second aid"). Default in_policy:
    RULES.md §1 (layers normally pay on in-policy cost; second aid, seed 003)."""
    settlement: Annotated[Settlement, _LAX] = Settlement.ANNUAL_CUMULATIVE
    """``per_admission`` (deductible and bands apply to each admission alone) or
    ``annual_cumulative`` (to the year-to-date base, the deductible counted once). Default
    annual_cumulative: RULES.md §1, seed 001 (the serious illness layer settles on the year's
    accumulated amount)."""
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
    """Preferential terms by category (:class:`Preferential`): a lower threshold, a higher ratio, no
    cap for people in need (seed 003, RULES.md §1); none when absent."""
    burden: Burden | None = None
    """Eligibility by burden (:class:`Burden`): the layer pays a person only once their year-to-date
    base exceeds ``share`` of household income (people impoverished by illness, seed 004). Needs
    ``annual_cumulative`` settlement. None when absent (no burden test)."""

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
        if self.burden is not None and self.settlement is not Settlement.ANNUAL_CUMULATIVE:
            raise FieldProblem(
                "eligibility by burden is a test on the person's year: expected settlement "
                f"'annual_cumulative', found {toml_text(self.settlement.value)}",
                ("burden",),
            )
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
