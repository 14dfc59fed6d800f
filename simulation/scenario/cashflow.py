"""Configuration of the intra-year cash-flow model: claim lags, seasonality, financing dates.

Every field has a documented default; the defaults marked ASSUMPTION are placeholders found in no
seed text (RULES.md section 5 names contract practice "quarterly advances of ~25% of estimated
premium, true-up in Q4, settlement in Q1 of the next year"; seed 000 names the pre-allocation by
January 20 and the roster approval before April 10).

Time conventions (used by the whole :mod:`simulation.cashflow` package): a year has 365 days
(no February 29); a *day* ``d`` of a year is 1..365 (January 20 is day 20, April 10 is day 100);
money in yuan.

The module depends only on pydantic and the standard library, so that it can move to the scenario
layer unchanged if the scenario schema gains a ``cashflow`` table.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
DayOfYear = Annotated[int, Field(ge=1, le=365)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class LagDistribution(StrEnum):
    """Shape of a delay in days."""

    GAMMA = "gamma"
    LOGNORMAL = "lognormal"
    FIXED = "fixed"  # always the mean


class Lag(_Frozen):
    """A delay in days: ``distribution`` with mean ``mean_days`` and coefficient of variation ``cv``.

    Gamma: shape ``1 / cv**2``, scale ``mean_days * cv**2``. Lognormal: ``sigma**2 = log(1 + cv**2)``,
    ``mu = log(mean_days) - sigma**2 / 2``. A zero mean (or ``fixed`` with any cv, or ``cv = 0``) is a
    delay of exactly ``mean_days``.
    """

    distribution: LagDistribution = LagDistribution.GAMMA
    """Shape of the delay: ``gamma``, ``lognormal`` or ``fixed`` (always the mean). Default gamma:
    ASSUMPTION (a skewed positive delay; no source gives the law of reporting or payment delays)."""
    mean_days: Annotated[float, Field(ge=0.0, le=3650.0)]
    """Mean delay, days (0 to 3650). No default: each lag states it (the lags of
    :class:`CashflowConfig` default to ASSUMPTIONs)."""
    cv: Annotated[float, Field(ge=0.0, le=10.0)] = 1.0
    """Coefficient of variation of the delay, no unit (0: exactly the mean). Default 1 (the spread
    of an exponential delay): ASSUMPTION."""


class Installment(_Frozen):
    """A financing transfer before the roster is approved: ``share`` of last year's count x last
    year's financing per head, paid on ``day`` of the year."""

    day: DayOfYear
    """Day of the year of the transfer, 1 to 365 (January 20 is day 20: the pre-allocation by
    January 20, seed 000 §II, RULES.md §2)."""
    share: Annotated[float, Field(ge=0.0, le=2.0)]
    """Share of last year's count x last year's financing per head transferred, a fraction (0 to 2):
    seed 000 §II pre-allocates the whole (1); RULES.md §5 names quarterly advances of about 25% in
    contract practice."""


class SettlementBasis(StrEnum):
    """Which claims figure the year-end settlement transfer is computed on."""

    PAID = "paid"
    """Claims of the policy year paid by the settlement date (the usual practice)."""
    PAID_CHAIN_LADDER = "paid_chain_ladder"
    """Paid claims plus the unpaid claims estimated by chain ladder on the paid triangle."""
    REPORTED_CHAIN_LADDER = "reported_chain_ladder"
    """Reported claims (paid plus reported-not-paid, known) plus IBNR by chain ladder on the
    reported triangle."""


class TriangleGrain(StrEnum):
    """Origin and development period of the claims triangles."""

    MONTH = "month"
    QUARTER = "quarter"


UNIFORM_SEASON: tuple[float, ...] = (1.0,) * 12


class CashflowConfig(_Frozen):
    """How one fund's money moves within the year (RULES.md section 2 and 3).

    Claims (each admission the engine drew, with the amount the fund paid for it):

    - a share ``one_stop_share`` is settled one-stop at discharge: reported at discharge, and the
      insurer pays the hospital on day ``hospital_billing_day`` of the next month (at discharge
      when it is None);
    - the rest are reimbursed on application: reported ``reporting_lag`` days after discharge and
      paid ``payment_lag`` days after that.

    Admission dates keep the engine's draws and follow ``monthly_weights`` within each person's
    period of cover (see :func:`simulation.cashflow.timing.seasonal_time`).

    Financing (yuan): on each day of ``pre_allocation``, its share of last year's count x last
    year's financing per head; on ``true_up_day``, the rest of this year's count x this year's
    financing per head (negative: a refund to finance); on ``entrant_financing_day``, the financing
    of last year's entrants (raised a year late, seed 000). The quarterly roster updates record the
    entrants' financing as a receivable from the day their cover starts.

    Settlement: at the end of month ``settlement_month`` of the next year, on the claims of the
    policy year as the insurer knows them then (``settlement_basis``).
    """

    one_stop_share: Fraction = 0.85
    """Share of claims settled one-stop at discharge (ASSUMPTION: one-stop settlement is the norm
    for people in need; a minority claim by application, e.g. out-of-province care)."""
    hospital_billing_day: Annotated[int, Field(ge=1, le=28)] | None = 15
    """Day of the month after discharge on which the insurer pays hospitals for one-stop claims
    (ASSUMPTION: monthly billing in arrears); None pays at discharge."""
    reporting_lag: Lag = Lag(distribution=LagDistribution.GAMMA, mean_days=45.0, cv=1.0)
    """Days from discharge to the application for reimbursement (ASSUMPTION)."""
    payment_lag: Lag = Lag(distribution=LagDistribution.GAMMA, mean_days=30.0, cv=0.5)
    """Days from application to payment (ASSUMPTION: review within about a month)."""
    monthly_weights: tuple[float, ...] = UNIFORM_SEASON
    """Relative admission intensity per day in January..December (1 = average); all equal keeps the
    engine's dates unchanged. Example of a winter peak: (1.15, 1.0, 1.05, 1.0, 0.95, 0.9, 0.9,
    0.9, 0.95, 1.0, 1.05, 1.15)."""
    pre_allocation: tuple[Installment, ...] = (Installment(day=20, share=1.0),)
    """Transfers before the roster is approved (seed 000: all of last year's count x standard by
    January 20). Quarterly advances instead: ``[{day = 20, share = 0.25}, {day = 110, share =
    0.25}, {day = 201, share = 0.25}, {day = 293, share = 0.25}]`` with a true-up in Q4."""
    true_up_day: DayOfYear = 130
    """Day of the true-up to the approved count (seed 000: roster approved before April 10, day
    100; ASSUMPTION: transfer a month later, May 10)."""
    entrant_financing_day: DayOfYear = 130
    """Day on which last year's entrants' financing arrives (ASSUMPTION: with the true-up)."""
    settlement_month: Annotated[int, Field(ge=1, le=12)] = 3
    """The year is settled at the end of this month of the next year, 1 to 12. Default 3: RULES.md
    §5 (contract practice: settlement in Q1 of the next year)."""
    settlement_basis: SettlementBasis = SettlementBasis.PAID
    """The claims figure the year-end settlement is computed on: ``paid`` by the settlement date, or
    paid (``paid_chain_ladder``) or reported (``reported_chain_ladder``) claims plus a chain-ladder
    estimate of the rest. Default paid: ASSUMPTION (the usual practice; RULES.md §5 names settlement
    in Q1 of the next year, not its basis)."""
    triangle_grain: TriangleGrain = TriangleGrain.MONTH
    """Origin and development period of the claims triangles: ``month`` or ``quarter``. Default
    month: ASSUMPTION (the finest grain the dates allow; no source)."""
    runoff_years: Annotated[int, Field(ge=1, le=5)] = 1
    """Years after the last policy year for which the monthly balance is reported, 1 to 5 (claims
    paid later still count in the annual totals). Default 1: ASSUMPTION (a year of run-off covers
    most payments at the default lags; no source)."""

    @field_validator("monthly_weights")
    @classmethod
    def _weights(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if len(v) != 12:
            raise ValueError(f"expected 12 monthly weights (January to December), found {len(v)}")
        bad = [w for w in v if not (w > 0.0 and w < float("inf"))]
        if bad:
            raise ValueError(f"monthly weights must be positive and finite, found {bad[0]!r}")
        return v

    @model_validator(mode="after")
    def _dates(self) -> CashflowConfig:
        days = [i.day for i in self.pre_allocation]
        if days != sorted(days):
            raise ValueError(f"pre_allocation days must be in date order, found {days}")
        if days and self.true_up_day <= days[-1]:
            raise ValueError(
                f"true_up_day {self.true_up_day} must come after the last pre-allocation "
                f"(day {days[-1]})"
            )
        if self.triangle_grain is TriangleGrain.QUARTER and self.settlement_month % 3:
            raise ValueError(
                f"quarterly triangles need a settlement at a quarter end (month 3, 6, 9 or 12), "
                f"found settlement_month = {self.settlement_month}"
            )
        return self

    @classmethod
    def without_lags(cls, **changes: Any) -> CashflowConfig:
        """Every claim reported and paid at discharge (no IBNR), other fields as ``changes``."""
        fields: dict[str, Any] = {
            "one_stop_share": 1.0,
            "hospital_billing_day": None,
            "reporting_lag": Lag(distribution=LagDistribution.FIXED, mean_days=0.0),
            "payment_lag": Lag(distribution=LagDistribution.FIXED, mean_days=0.0),
        }
        fields.update(changes)
        return cls.model_validate(fields)


__all__ = [
    "UNIFORM_SEASON",
    "CashflowConfig",
    "Installment",
    "Lag",
    "LagDistribution",
    "SettlementBasis",
    "TriangleGrain",
]
