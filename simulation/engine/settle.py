"""Settling a run's paths: each fund's contract over its years or terms, the policy-change subsidy
(rules before and after a declared change on the same paths), and the check of a run's paths.

Used by the full engine (:mod:`.run`), the fast method (:mod:`.fast`) and sweeps, so the contract
rules of :mod:`simulation.rules.contract` are booked the same way whatever drew the paths; the
booking itself (terms, the subsidy) is :func:`simulation.rules.contract.settle_paths`, which
pricing and the cash-flow model use too.
"""

from __future__ import annotations

import numpy as np

from ..errors import FundsimError
from ..rules.contract import settle_paths
from ..scenario.schema import ContractKind
from .plan import RunPlan
from .simulate import Arrays


def _settle_fund(contract, premium: np.ndarray, claims: np.ndarray) -> dict[str, np.ndarray]:
    """One fund's contract on (paths, years) arrays, without a rule change
    (:func:`simulation.rules.contract.settle_paths`)."""
    return settle_paths(contract, premium, claims)


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
        new = settle_paths(
            contract, premium, claims, claims_old if changed.any() else None, changed=changed
        )
        subsidy = new["subsidy"]
        for key in (
            "clawback", "operating_cost", "management_payment", "fund_loss_share", "subsidy",
            "insurer_result", "insurer_result_net",
        ):  # fmt: skip
            out[key][:, :, f] = new[key]
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
