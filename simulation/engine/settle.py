"""Settling a run's paths: each fund's contract over its years or terms, the policy-change subsidy
(rules before and after a declared change on the same paths), and the check of a run's paths.

Used by the full engine (:mod:`.run`), the fast method (:mod:`.fast`) and sweeps, so the contract
rules of :mod:`simulation.rules.contract` are booked the same way whatever drew the paths.
"""

from __future__ import annotations

import numpy as np

from ..errors import FundsimError
from ..rules.contract import policy_change_subsidy, settle_term, settle_year
from ..scenario.schema import ContractKind
from .plan import RunPlan
from .simulate import Arrays


def _settle_fund(contract, premium: np.ndarray, claims: np.ndarray) -> dict[str, np.ndarray]:
    """Settle one fund on (paths, years) arrays: year by year, or over each contract term.

    With term settlement the cap, clawback and loss sharing apply to each term's totals and are
    booked in the term's last simulated year; the other years carry the provisional result
    ``P - S`` (and their operating cost), so ``P = S + R + C - F`` holds in every year.
    """
    if contract.settlement == "annual":
        return settle_year(contract, premium, claims)
    out = settle_year(contract.model_copy(update={"kind": ContractKind.NONE}), premium, claims)
    out = {k: np.zeros_like(premium) for k in out}
    n_years = premium.shape[1]
    for start in range(0, n_years, contract.term_years):
        years = slice(start, min(start + contract.term_years, n_years))
        last = years.stop - 1
        term = settle_term(contract, premium[:, years], claims[:, years])
        for y in range(years.start, last):
            yearly = settle_year(contract, premium[:, y], claims[:, y])
            out["operating_cost"][:, y] = yearly["operating_cost"]
            out["management_payment"][:, y] = yearly["management_payment"]
            provisional = premium[:, y] - claims[:, y]
            out["insurer_result"][:, y] = (
                0.0 if contract.kind is ContractKind.COST_PLUS else provisional
            )
            out["fund_retained"][:, y] = (
                provisional if contract.kind is ContractKind.COST_PLUS else 0.0
            )
        earlier = out["insurer_result"][:, years.start : last].sum(axis=1)
        earlier_mgmt = out["management_payment"][:, years.start : last].sum(axis=1)
        earlier_cost = out["operating_cost"][:, years.start : last].sum(axis=1)
        earlier_retained = out["fund_retained"][:, years.start : last].sum(axis=1)
        out["insurer_result"][:, last] = term["insurer_result"] - earlier
        out["management_payment"][:, last] = term["management_payment"] - earlier_mgmt
        out["operating_cost"][:, last] = term["operating_cost"] - earlier_cost
        out["fund_retained"][:, last] = term["fund_retained"] - earlier_retained
        out["clawback"][:, last] = term["clawback"]
        out["fund_loss_share"][:, last] = term["fund_loss_share"]
    out["insurer_result_net"] = out["insurer_result"] - out["operating_cost"]
    return out


def settle(plan: RunPlan, sims: Arrays) -> dict[str, np.ndarray]:
    """Apply each fund's contract per path and year; arrays of shape (paths, years, funds).

    ``subsidy`` is the policy-change subsidy: the part of the insurer's loss caused by a declared
    rule change, measured by settling the same paths' claims under the old rules.
    ``finance_account`` accumulates clawbacks in, and subsidies, fund loss shares and cost-plus
    management payments out. ``balance`` is the fund's opening balance plus its cumulative
    ``premium - claims``; ``insurer_cumulative`` the insurer's net result since the term began.
    """
    paths, n_years, nf = sims["fund_claims"].shape
    names = (
        "premium claims claims_old surplus balance insurer_result insurer_result_net clawback "
        "subsidy operating_cost management_payment fund_loss_share insurer_cumulative "
        "finance_account"
    ).split()
    out = {n: np.zeros((paths, n_years, nf)) for n in names}
    scenario = plan.scenario
    changed = np.array([yp.cascade_old is not None for yp in plan.years])
    for f, fund_name in enumerate(plan.funds):
        fund = scenario.funds[fund_name]
        contract = fund.contract
        premium = np.tile([yp.premium[fund_name] for yp in plan.years], (paths, 1))
        claims = sims["fund_claims"][:, :, f]
        claims_old = sims["fund_claims_old"][:, :, f]
        out["premium"][:, :, f] = premium
        out["claims"][:, :, f] = claims
        out["claims_old"][:, :, f] = claims_old
        out["surplus"][:, :, f] = premium - claims
        out["balance"][:, :, f] = fund.opening_balance_yuan + np.cumsum(premium - claims, axis=1)
        if contract.kind is ContractKind.NONE:
            continue
        new = _settle_fund(contract, premium, claims)
        subsidy = np.zeros((paths, n_years))
        if changed.any():
            old = _settle_fund(contract, premium, claims_old)
            subsidy = policy_change_subsidy(new["insurer_result"], old["insurer_result"])
            subsidy[:, ~changed] = 0.0
        for key in ("clawback", "operating_cost", "management_payment", "fund_loss_share"):
            out[key][:, :, f] = new[key]
        out["subsidy"][:, :, f] = subsidy
        out["insurer_result"][:, :, f] = new["insurer_result"] + subsidy
        out["insurer_result_net"][:, :, f] = new["insurer_result_net"] + subsidy
        term_index = np.arange(n_years) // contract.term_years
        net = out["insurer_result_net"][:, :, f]
        for t in np.unique(term_index):
            cols = term_index == t
            out["insurer_cumulative"][:, cols, f] = np.cumsum(net[:, cols], axis=1)
        out["finance_account"][:, :, f] = np.cumsum(
            new["clawback"] - subsidy - new["management_payment"] - new["fund_loss_share"], axis=1
        )
    return out


def check_paths(paths: int) -> None:
    """A run needs at least one path (:class:`FundsimError` otherwise)."""
    if paths < 1:
        raise FundsimError(f"paths must be at least 1, found {paths}")
