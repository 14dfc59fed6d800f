"""How one bid (financing per head, yuan) maps to a fund's premium in every year of the horizon.

:class:`FinancingBasis` (``scale``, ``level``, ``tier``) and :class:`PremiumBasis`
(``P_y(b) = fixed_y + b * per_unit_y`` yuan, ``b`` in yuan per head); :func:`premium_basis` reads
it from a scenario's plan, :func:`reference_financing` gives the scenario's own bid and
:func:`with_financing` the scenario financed at another bid.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from ..engine.plan import RunPlan, build_plan
from ..errors import FundsimError
from ..params import Dated
from ..scenario.schema import Scenario


class FinancingBasis(StrEnum):
    """How one financing per head maps to the premium of every tier and year (the bases are
    described in :mod:`simulation.pricing`)."""

    SCALE = "scale"
    LEVEL = "level"
    TIER = "tier"


@dataclass(frozen=True, eq=False)
class PremiumBasis:
    """``P_y(b) = fixed[y] + b * per_unit[y]`` yuan: the premium raised in year ``y`` at bid ``b``."""

    basis: FinancingBasis
    tier: str | None
    fixed: np.ndarray
    """Premium not depending on the bid, by year, yuan."""
    per_unit: np.ndarray
    """Premium per yuan of financing per head, by year (persons)."""
    reference: float
    """The scenario's own bid under this basis, yuan per head."""
    scenario_premium: np.ndarray
    """The premium the scenario itself raises, by year, yuan."""
    insured: np.ndarray
    """Persons financed by the fund, by year."""

    def premium(self, financing: float | None = None) -> np.ndarray:
        """Premium by year at ``financing`` per head (None: the scenario's own premium), yuan."""
        if financing is None:
            return self.scenario_premium.copy()
        return self.fixed + float(financing) * self.per_unit

    def describe(self) -> str:
        if self.basis is FinancingBasis.SCALE:
            return "the scenario's financing schedule scaled (bid = first-year financing per head)"
        if self.basis is FinancingBasis.LEVEL:
            return "one financing per head for every financed person and year"
        return f"the financing per head of tier {self.tier!r} (other tiers as in the scenario)"


def _check_fund(scenario: Scenario, fund: str) -> None:
    if fund not in scenario.funds:
        raise FundsimError(
            f"fund {fund!r} is not in the scenario; funds: {', '.join(scenario.funds)}"
        )


def _scaled(d: Dated, factor: float) -> Dated:
    return dataclasses.replace(
        d,
        scalar=None if d.scalar is None else d.scalar * factor,
        values=tuple((y, v * factor) for y, v in d.values),
    )


def reference_financing(scenario: Scenario, fund: str, plan: RunPlan | None = None) -> float:
    """The scenario's average financing per head of ``fund`` in its first year, yuan:
    ``P_0 / insured_0`` (the bid the scenario itself makes under the ``scale`` basis)."""
    _check_fund(scenario, fund)
    plan = plan if plan is not None else build_plan(scenario, 1)
    yp = plan.years[0]
    if yp.insured[fund] <= 0:
        raise FundsimError(f"fund {fund!r} finances nobody in {yp.year}: there is nothing to price")
    return yp.premium[fund] / yp.insured[fund]


def with_financing(
    scenario: Scenario,
    fund: str,
    financing: float,
    basis: FinancingBasis | str = FinancingBasis.SCALE,
    tier: str | None = None,
) -> Scenario:
    """The scenario with ``fund`` financed at ``financing`` yuan per head under ``basis``.

    Running the engine on it raises ``P_y = fixed_y + financing * per_unit_y`` (see
    :func:`premium_basis`). Rule changes under ``[changes]`` that restate the financing are not
    touched.
    """
    _check_fund(scenario, fund)
    basis = FinancingBasis(basis)
    f = scenario.funds[fund]
    fin = f.financing_per_head
    if not math.isfinite(financing) or financing < 0:
        raise FundsimError(f"financing per head must be a non-negative number, found {financing!r}")
    if basis is FinancingBasis.SCALE:
        ref = reference_financing(scenario, fund)
        if ref <= 0:
            raise FundsimError(
                f"fund {fund!r}: the scenario's financing is 0, so it cannot be scaled; "
                "use the 'level' basis"
            )
        factor = financing / ref
        new: Dated | dict[str, Dated] = (
            {t: _scaled(d, factor) for t, d in fin.items()}
            if isinstance(fin, dict)
            else _scaled(fin, factor)
        )
    elif basis is FinancingBasis.LEVEL:
        level = Dated(scalar=float(financing))
        new = {t: level for t in fin} if isinstance(fin, dict) else level
    else:
        _check_tier(fund, fin, tier)
        assert isinstance(fin, dict) and tier is not None
        new = {**fin, tier: Dated(scalar=float(financing))}
    fund_cfg = f.model_copy(update={"financing_per_head": new})
    return scenario.model_copy(update={"funds": {**scenario.funds, fund: fund_cfg}})


def _check_tier(fund: str, fin: Any, tier: str | None) -> None:
    if not isinstance(fin, dict):
        raise FundsimError(
            f"fund {fund!r} is not financed by tier: use the 'scale' or 'level' basis"
        )
    if tier not in fin:
        raise FundsimError(
            f"fund {fund!r}: tier {tier!r} is not one of its financing tiers ({', '.join(fin)})"
        )


def premium_basis(
    scenario: Scenario,
    fund: str,
    *,
    years: int | None = None,
    basis: FinancingBasis | str = FinancingBasis.SCALE,
    tier: str | None = None,
    plan: RunPlan | None = None,
) -> PremiumBasis:
    """How a bid maps to ``fund``'s premium over ``years`` policy years (the bases are described in
    :mod:`simulation.pricing`)."""
    _check_fund(scenario, fund)
    basis = FinancingBasis(basis)
    plan = plan if plan is not None else build_plan(scenario, years)
    p0 = np.array([yp.premium[fund] for yp in plan.years], dtype=np.float64)
    insured = np.array([yp.insured[fund] for yp in plan.years], dtype=np.float64)
    zero = np.zeros_like(p0)
    if basis is FinancingBasis.TIER:
        _check_tier(fund, scenario.funds[fund].financing_per_head, tier)
        n = len(plan.years)
        fixed = np.array(
            [
                yp.premium[fund]
                for yp in build_plan(with_financing(scenario, fund, 0.0, basis, tier), n).years
            ]
        )
        one = np.array(
            [
                yp.premium[fund]
                for yp in build_plan(with_financing(scenario, fund, 1.0, basis, tier), n).years
            ]
        )
        fin = scenario.funds[fund].financing_per_head
        assert isinstance(fin, dict) and tier is not None
        return PremiumBasis(
            basis, tier, fixed, one - fixed, fin[tier].at(scenario.start_year), p0, insured
        )
    if insured[0] <= 0:
        raise FundsimError(
            f"fund {fund!r} finances nobody in {plan.years[0].year}: nothing to price"
        )
    ref = p0[0] / insured[0]
    if basis is FinancingBasis.LEVEL:
        return PremiumBasis(basis, None, zero, insured.copy(), ref, p0, insured)
    if ref <= 0:
        raise FundsimError(
            f"fund {fund!r}: the scenario's financing is 0, so it cannot be scaled; use the 'level' basis"
        )
    return PremiumBasis(basis, None, zero, p0 / ref, ref, p0, insured)
