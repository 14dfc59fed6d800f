"""The model's own expected aggregates of a fund-year: what the scenario expects the history to show.

For fund ``f`` and policy year ``t`` (the engine's plan, :func:`simulation.engine.plan.build_plan`,
so the same roster groups, entrants and exits, rates, level mixes and cost trend as a run; the
systematic factors at their mean 1), over the persons whose segments the fund covers:

- ``insured``: persons financed by the fund (``YearPlan.insured``);
- ``admissions`` ``E_t = sum_g n_g m_g w_g``: expected inpatient claims, ``n_g`` persons of group
  ``g``, ``m_g`` their expected claims in the year, ``w_g`` the share of them in covered segments;
- ``cost_per_admission`` ``c_t = E[X]``: the mean total cost of a covered admission (the levels'
  spliced severities, mixed by the segments' level mixes, scaled by the year's cost trend), yuan;
- ``admissions_var``: the process variance of the count, ``sum_g n_g (m + d m^2)`` (``d`` the
  negative binomial dispersion, 0 for Poisson);
- ``cost_cv2``: the squared coefficient of variation of one admission's cost, so that the process
  variance of the mean cost of ``A`` admissions is ``c_t^2 cv2 / A``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..engine.plan import build_plan, covered_categories
from ..errors import FundsimError
from ..scenario.schema import CLAIM_TYPES, ClaimType, FrequencyKind, Scenario

INPATIENT = CLAIM_TYPES.index(ClaimType.INPATIENT)


def expected_aggregates(scenario: Scenario, fund: str, last_year: int) -> pd.DataFrame:
    """One row per policy year from the scenario's start to ``last_year`` (module docstring)."""
    if fund not in scenario.funds:
        raise FundsimError(f"fund {fund!r} is not a fund of {scenario.name}")
    if ClaimType.INPATIENT not in scenario.claims:
        raise FundsimError(f"{scenario.name}: no inpatient claim model to calibrate")
    n_years = last_year - scenario.start_year + 1
    if n_years < 1:
        raise FundsimError(f"year {last_year} is before the start year {scenario.start_year}")
    plan = build_plan(scenario, years=n_years)
    covered = covered_categories(scenario, fund)
    rows = []
    for yp in plan.years:
        sev = yp.severities[INPATIENT]
        means = np.array([s.mean() for s in sev])
        second = np.array([s.moment(2) for s in sev])
        n_adm = var = cost = cost2 = 0.0
        for g in yp.groups:
            for c in g.claims:
                if c.claim_type != INPATIENT:
                    continue
                cats = [plan.categories[int(k)] for k in g.seg_category]
                cov = np.array([cat in covered for cat in cats], dtype=bool)
                if not cov.any():
                    continue
                mix = np.diff(np.concatenate([np.zeros((len(cats), 1)), c.level_cum], axis=1))
                w = c.seg_weights * cov
                m = c.mean * float(w.sum())
                d = c.dispersion if c.kind is FrequencyKind.NEGATIVE_BINOMIAL else 0.0
                n_adm += g.count * m
                var += g.count * (m + d * m * m)
                level_p = (w[:, None] * mix).sum(axis=0)  # claims by level per claim of the group
                cost += g.count * c.mean * float(level_p @ means)
                cost2 += g.count * c.mean * float(level_p @ second)
        c_mean = cost / n_adm if n_adm > 0 else float("nan")
        cv2 = (cost2 / n_adm) / c_mean**2 - 1.0 if n_adm > 0 else float("nan")
        rows.append(
            {
                "year": yp.year,
                "insured": float(yp.insured.get(fund, 0.0)),
                "admissions": n_adm,
                "admissions_var": var,
                "cost_per_admission": c_mean,
                "cost_cv2": cv2,
            }
        )
    return pd.DataFrame(rows)


__all__ = ["expected_aggregates"]
