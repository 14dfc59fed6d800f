"""``[systematic]``: systematic risk, the factors common to every person of a path-year (level
factors, named events, parameter uncertainty). Its cross-references are checked with the whole
scenario's (:mod:`.scenario`)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import numpy as np
from pydantic import Field, model_validator

from .base import _LAX, ClaimTypeName, FieldProblem, Fraction, Frozen, HospitalLevel


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
    """Coefficient of variation of the factor, no unit (0 to 2; its mean is 1). No default: the
    scenario's ASSUMPTION, named in ``source`` (no seed or RULES.md section gives one)."""
    law: Annotated[FactorLaw, _LAX] = FactorLaw.LOGNORMAL
    """Marginal law of the factor: ``lognormal`` or ``gamma`` (mean 1, CV ``cv``). Default
    lognormal: ASSUMPTION (a positive multiplier; no source)."""
    phi: Annotated[float, Field(gt=-1.0, lt=1.0)] = 0.0
    """AR(1) coefficient of the factor's standard normal driver from one policy year to the next, no
    unit (-1 < phi < 1). Default 0 (independent years): ASSUMPTION."""
    random_walk: bool = False
    """Whether the driver is a random walk (lognormal only), true or false. Default false:
    ASSUMPTION."""
    trend_sd: Annotated[float, Field(ge=0.0, le=0.5)] = 0.0
    """Standard deviation of the per-path uncertain trend ``delta`` (log scale, per policy year; the
    factor is multiplied by ``exp(delta k)``), 0 to 0.5. Default 0 (no trend uncertainty):
    ASSUMPTION."""
    groups: Annotated[FactorGroups, _LAX] = FactorGroups.NONE
    """How cells share the factor: one for all (``none``), one per ``region`` or one per
    ``category``. Default none: ASSUMPTION."""
    correlation: Annotated[float, Field(ge=0.0, le=1.0)] | list[list[float]] = 1.0
    """Correlation of the groups' drivers, no unit: one number in [0, 1] (equicorrelation) or a
    matrix in the groups' sorted order. Default 1 (the groups move together, as one factor):
    ASSUMPTION (no source gives it)."""
    source: str = ""
    """Where the factor's figures come from, text (a study, a fit, or ASSUMPTION); shown with them.
    Default empty."""

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
    """Probability that the event occurs in a policy year of a path, a fraction, independently each
    year. No default: the scenario's ASSUMPTION, named in ``source`` (no seed gives one)."""
    frequency: EventEffect = {}
    """Multipliers of the frequency in an event year, by claim type and hospital level or ``all``
    (above 0), e.g. ``{inpatient = {all = 0.9}}``; none when empty. The scenario's ASSUMPTION, named
    in ``source``."""
    cost: EventEffect = {}
    """Multipliers of the cost per claim in an event year, by claim type and hospital level or
    ``all`` (above 0); none when empty. The scenario's ASSUMPTION, named in ``source``."""
    source: str = ""
    """Where the event's figures come from, text; shown with them. Default empty."""


PARAMETER_NAMES = ("frequency.rate", *(f"severity.{lvl.value}.mean" for lvl in HospitalLevel))
"""Fitted parameters the engine can draw: on the log scale, the claim rate and each level's mean
cost (their multipliers are reduced-form frequency and cost factors)."""


class ParameterUncertainty(Frozen):
    """The covariance of fitted parameters' logarithms (asymptotic normal, ``fundsim fit``): each
    path draws ``theta ~ Normal(0, covariance)`` once and multiplies the parameter by
    ``exp(theta)`` (the fitted value is the median)."""

    names: list[str]
    """The parameters drawn, in the covariance's order: ``frequency.rate`` and
    ``severity.LEVEL.mean`` (:data:`PARAMETER_NAMES`). Source: the fragment ``fundsim fit``
    writes."""
    covariance: list[list[float]]
    """Covariance of the parameters' logarithms, no unit (symmetric positive semi-definite, one row
    per name): the fit's asymptotic normal (``fundsim fit``)."""
    source: str = ""
    """Where the covariance comes from (the fit and its claims data), text. Default empty."""

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
    """Whether utilisation responds to the benefits, true or false. Default false (no response)."""
    elasticity: dict[ClaimTypeName, Annotated[float, Field(ge=-5.0, le=0.0)]] = {}
    """Elasticity of claim frequency with respect to the patient's price share ``1 - r``, by claim
    type (unitless, -5 to 0; about -0.2 in the RAND experiment: ASSUMPTION that it carries over);
    a claim type not named does not respond."""
    reference_rate: Annotated[float, Field(ge=0.0, lt=1.0)] | None = None
    """The reimbursement rate ``r_ref`` that utilisation is calibrated at (share of in-policy cost,
    0 to below 1); absent: the rate of the start year's rules (ASSUMPTION: the data behind the
    frequencies were observed under them)."""
    source: str = ""
    """Where the elasticity comes from (free text: a study, or ASSUMPTION); a label, no policy
    value."""


class Systematic(Frozen):
    """Systematic risk: factors common to every person of a path-year
    (:mod:`simulation.engine.factors`). ``enabled = false`` (the default): process risk alone."""

    enabled: bool = False
    """Whether systematic risk is simulated, true or false. Default false: process risk alone (no
    seed or RULES.md section gives systematic factors; each factor's figures are the scenario's,
    with their ``source``)."""
    frequency: dict[ClaimTypeName, LevelFactor] = {}
    """Level factors multiplying the frequency, by claim type (:class:`LevelFactor`); none when
    empty."""
    cost: dict[ClaimTypeName, LevelFactor] = {}
    """Level factors multiplying the cost per claim, by claim type (:class:`LevelFactor`); none when
    empty."""
    events: dict[str, NamedEvent] = {}
    """Named event years by name (:class:`NamedEvent`: an epidemic, a new high-cost drug list); none
    when empty."""
    parameters: dict[ClaimTypeName, ParameterUncertainty] = {}
    """Uncertainty of fitted parameters, by claim type (:class:`ParameterUncertainty`, from
    ``fundsim fit``); none when empty."""
    demand_response: DemandResponse = DemandResponse()
    """Utilisation's response to the benefits' effective reimbursement rate
    (:class:`DemandResponse`); off by default."""
