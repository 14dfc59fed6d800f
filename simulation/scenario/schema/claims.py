"""``[claims.TYPE]``: illness costs, the frequency of claims and the severity (cost per claim by
hospital level) of each claim type."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from ...params import Dated
from .base import (
    _LAX,
    MAX_CLAIM_YUAN,
    MAX_GROWTH,
    DatedValue,
    FieldProblem,
    Fraction,
    Frozen,
    HospitalLevel,
    LevelName,
    _dated_items,
    number_text,
)


class FrequencyKind(StrEnum):
    POISSON = "poisson"
    NEGATIVE_BINOMIAL = "negative_binomial"


class BodyKind(StrEnum):
    LOGNORMAL = "lognormal"
    GAMMA = "gamma"


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
