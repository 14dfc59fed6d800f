"""The report's pricing table for one fund (:func:`pricing_summary`), from an engine run.

Rows ``measure``, ``value``, ``se``, ``unit``: money in yuan over the horizon, bids in yuan per
head, probabilities; standard errors are Monte Carlo errors over the run's paths.
"""

from __future__ import annotations

import pandas as pd

from ..engine.result import SimulationResult
from ..scenario.schema import ContractKind, Scenario
from .basis import _check_fund
from .financing import (
    break_even_financing,
    cost_plus_management_rate,
    financing_for_loss_probability,
    financing_for_target_margin,
)
from .measures import price_distribution
from .sample import claims_sample
from .targets import REPORT_TARGETS, ReportTargets


def _percent(fraction: float) -> str:
    """``0.02`` -> ``2%``, ``0.025`` -> ``2.5%``."""
    return f"{100 * fraction:g}%"


def pricing_summary(
    scenario: Scenario,
    fund: str,
    result: SimulationResult,
    targets: ReportTargets = REPORT_TARGETS,
) -> pd.DataFrame:
    """The pricing section's table for ``fund`` from an engine run (every year of the run is the
    pricing horizon): rows ``measure``, ``value``, ``se``, ``unit``. Empty for a fund with no
    insurer. Premium contracts: the scenario's financing and the insurer's result at it, expected
    claims and cost per head, break-even financing (and the gap: what the cap costs), financing
    for the target margin (if below the cap) and for the target probability of loss, and the paths
    needed for the target precision on break-even (``targets``, by default
    :data:`~simulation.pricing.targets.REPORT_TARGETS`: 2%, 10%, +-0.1 yuan). Cost-plus: the
    management rate that breaks even.
    """
    cols = ["measure", "value", "se", "unit"]
    _check_fund(scenario, fund)
    kind = ContractKind(scenario.funds[fund].contract.kind)
    if kind is ContractKind.NONE:
        return pd.DataFrame(columns=cols)
    sample = claims_sample(result, fund)
    rows: list[tuple[str, float, float | None, str]] = []
    dist = price_distribution(sample).term
    rows.append(("scenario financing per head", sample.basis.reference, None, "yuan per head"))
    rows.append(("expected net result at it (term)", dist.result_mean, dist.result_se, "yuan"))
    rows.append(("probability of a loss at it (term)", dist.p_loss, dist.p_loss_se, "probability"))
    for lv, v in dist.var:
        rows.append((f"VaR {lv:.1%} at it (term)", v, None, "yuan (loss)"))
    for lv, v in dist.tvar:
        rows.append((f"TVaR {lv:.1%} at it (term)", v, None, "yuan (loss)"))
    rows.append(("expected clawback given up at it (term)", dist.clawback_mean, None, "yuan"))
    if kind is ContractKind.COST_PLUS:
        sol = cost_plus_management_rate(sample)
        rows.append(("break-even management rate", sol.value, sol.se, "fraction of claims"))
        return pd.DataFrame(rows, columns=cols)
    claims_ph, cost_ph = sample.expected_cost_per_head()
    rows.append(("expected claims per head", claims_ph, None, "yuan per head"))
    rows.append(("expected claims + operating cost per head", cost_ph, None, "yuan per head"))
    be = break_even_financing(sample)
    rows.append(("break-even financing per head", be.value, be.se, "yuan per head"))
    rows.append(("gap: what the profit cap costs", be.gap or 0.0, be.se, "yuan per head"))
    if sample.contract.profit_cap_rate > targets.margin:
        mg = financing_for_target_margin(sample, targets.margin)
        label = f"financing for a {_percent(targets.margin)} expected margin"
        rows.append((label, mg.value, mg.se, "yuan per head"))
    lp = financing_for_loss_probability(sample, targets.loss_probability)
    label = f"financing for P(loss) <= {_percent(targets.loss_probability)}"
    rows.append((label, lp.value, lp.se, "yuan per head"))
    hw = targets.break_even_half_width_yuan
    label = f"paths for +-{hw:g} yuan (95%) on break-even"
    rows.append((label, be.paths_needed(hw), None, "paths"))
    return pd.DataFrame(rows, columns=cols)
