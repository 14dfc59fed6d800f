"""Solves on the same claims: the financing per head that meets a target, and the cost-plus rate.

The claims do not depend on the bid, so each trial value re-settles the sample's paths (common
random numbers): :func:`solve_financing` and its shortcuts (financing in yuan per head),
:func:`exact_price` (one year by the exact method, no Monte Carlo error) and
:func:`cost_plus_management_rate` (a fraction of the claims paid).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import FundsimError
from ..scenario.schema import Contract, ContractKind, Scenario
from .basis import FinancingBasis
from .measures import DEFAULT_LEVELS, price_distribution
from .sample import ClaimsSample, exact_sample, net_result, settle_sample
from .solve import (
    BOUND_NOTE,
    Root,
    Solution,
    _achieved,
    _batches,
    _loss_probability_se,
    _objective,
    mean_target_se,
    solve_monotone,
)
from .targets import Target, TargetKind, _target


def _require_premium_contract(sample: ClaimsSample, what: str) -> None:
    kind = ContractKind(sample.contract.kind)
    if kind is ContractKind.COST_PLUS:
        raise FundsimError(
            f"fund {sample.fund!r} is under a cost-plus contract: the insurer's result does not "
            f"depend on the financing, so {what} is not defined; price the management rate instead"
        )
    if kind is ContractKind.NONE:
        raise FundsimError(
            f"fund {sample.fund!r} has no insurer (contract kind 'none'): nothing to price"
        )


def _financing_root(sample: ClaimsSample, target: Target, start: float) -> Root:
    w = sample.w
    units = float(sample.basis.per_unit.sum())
    fixed = float(sample.basis.fixed.sum())

    def g(b: float) -> float:
        net = net_result(sample, b)
        base = np.full(len(net), fixed + b * units)
        return _objective(target, net, base, w)

    scale = max(abs(start), 1.0)
    return solve_monotone(
        g,
        start=start,
        step=0.1 * scale,
        lower=0.0,
        upper=1e4 * scale,
        increasing=True,
        xtol=1e-9 * scale,
        what=f"fund {sample.fund!r}: target {target}",
    )


def solve_financing(
    sample: ClaimsSample,
    target: Target | str | None = None,
    *,
    n_batches: int = 20,
    levels: Sequence[float] = DEFAULT_LEVELS,
) -> Solution:
    """The financing per head that meets ``target`` over the horizon (smallest such bid).

    Break-even: ``E[R(b)] = 0``; margin ``m``: ``E[R(b)] = m P(b)``; loss probability ``a``: the
    smallest ``b`` with ``P(R(b) < 0) <= a``. ``R`` is increasing in ``b`` on every path, so each
    objective is monotone; under a profit cap ``c`` a margin ``m >= c`` is unreachable.
    """
    target = _target(target)
    _require_premium_contract(sample, "a financing per head")
    kind = ContractKind(sample.contract.kind)
    if (
        target.kind is TargetKind.MARGIN
        and kind in (ContractKind.CAPPED_PROFIT, ContractKind.CORRIDOR)
        and target.value >= sample.contract.profit_cap_rate
    ):
        raise FundsimError(
            f"target margin {target.value:g} cannot be reached: the contract caps the insurer's "
            f"result at {sample.contract.profit_cap_rate:g} of premium (before its operating cost)"
        )
    claims_ph, cost_ph = sample.expected_cost_per_head()
    root = _financing_root(sample, target, max(cost_ph, 1e-6))
    b = root.x
    units = float(sample.basis.per_unit.sum())
    fixed = float(sample.basis.fixed.sum())
    net = net_result(sample, b)
    base = np.full(len(net), fixed + b * units)
    achieved = _achieved(target, net, base, sample.w)
    se, slope, se_batch = 0.0, float("nan"), None
    notes: tuple[str, ...] = ()
    if root.bound:
        se, notes = float("nan"), (BOUND_NOTE.format(root.bound),)
    elif not sample.is_weighted:
        db = 1e-4 * max(abs(b), 1.0)
        lo = max(b - db, 0.0)
        dnet = (net_result(sample, b + db) - net_result(sample, lo)) / (b + db - lo)
        if target.is_mean:
            se, slope = mean_target_se(target, net, dnet, base, np.full(len(net), units))
        else:
            se, slope = _loss_probability_se(
                lambda t: _financing_root(sample, t, b).x, target, sample.n_paths
            )
        batch = [
            _financing_root(sample.subset(rows), target, b).x
            for rows in _batches(sample.n_paths, n_batches, target)
        ]
        if batch:
            se_batch = float(np.std(batch, ddof=1) / math.sqrt(len(batch)))
    return Solution(
        quantity="financing_per_head",
        value=b,
        se=se,
        se_batch=se_batch,
        target=target,
        achieved=achieved,
        slope=slope,
        method=sample.method,
        paths=sample.n_paths,
        seed=sample.seed,
        fund=sample.fund,
        reference=sample.basis.reference,
        expected_claims_per_head=claims_ph,
        expected_cost_per_head=cost_ph,
        evaluations=root.evaluations,
        bound=root.bound,
        distribution=price_distribution(sample, b, levels=levels),
        notes=(*notes, sample.basis.describe(), *sample.notes),
    )


def break_even_financing(sample: ClaimsSample, **options: Any) -> Solution:
    """The financing per head with expected net result 0 over the horizon (:func:`solve_financing`)."""
    return solve_financing(sample, Target.break_even(), **options)


def financing_for_target_margin(sample: ClaimsSample, margin: float, **options: Any) -> Solution:
    """The financing per head with expected net result ``margin`` x premium over the horizon."""
    return solve_financing(sample, Target.margin(margin), **options)


def financing_for_loss_probability(
    sample: ClaimsSample, probability: float, **options: Any
) -> Solution:
    """The smallest financing per head with ``P(net result < 0) <= probability`` over the horizon."""
    return solve_financing(sample, Target.loss_probability(probability), **options)


def exact_price(
    scenario: Scenario,
    fund: str,
    target: Target | str | None = None,
    *,
    year: int | None = None,
    basis: FinancingBasis | str = FinancingBasis.SCALE,
    tier: str | None = None,
    **exact_options: Any,
) -> Solution:
    """The financing per head meeting ``target`` for one year of ``fund`` by the exact method
    (no Monte Carlo error; :func:`exact_sample`)."""
    sample = exact_sample(scenario, fund, year=year, basis=basis, tier=tier, **exact_options)
    return solve_financing(sample, target)


# --------------------------------------------------------------------------- cost-plus


def cost_plus_management_rate(
    sample: ClaimsSample,
    target: Target | str | None = None,
    *,
    financing: float | None = None,
    n_batches: int = 20,
    levels: Sequence[float] = DEFAULT_LEVELS,
) -> Solution:
    """The management rate ``m`` (share of claims paid, paid by finance) the insurer needs under
    cost-plus (seed 001): its net result is ``m S - O``. Break-even: ``m = E[O] / E[S]``; margin
    ``t``: ``E[m S - O] = t E[S]``; loss probability ``a``: ``P(m S - O < 0) <= a``. The sample's
    contract is used with ``kind = cost_plus`` (its operating cost terms kept), so this also prices
    a switch to cost-plus. Searched in ``[0, 1]``.
    """
    target = _target(target)
    base_contract = sample.contract.model_copy(update={"kind": ContractKind.COST_PLUS})

    def contract_at(m: float) -> Contract:
        return base_contract.model_copy(update={"management_rate": float(m)})

    claims_total = settle_sample(sample, financing, contract_at(0.0))["claims"].sum(axis=1)
    w = sample.w
    if float(w @ claims_total) <= 0:
        raise FundsimError(
            f"fund {sample.fund!r} pays no claims: no management rate covers its cost"
        )

    def net_at(m: float, s: ClaimsSample = sample) -> np.ndarray:
        return net_result(s, financing, contract_at(m))

    def root_for(s: ClaimsSample, start: float, t: Target = target) -> Root:
        base = s.claims.sum(axis=1)
        return solve_monotone(
            lambda m: _objective(t, net_at(m, s), base, s.w),
            start=start,
            step=0.01,
            lower=0.0,
            upper=1.0,
            increasing=True,
            xtol=1e-10,
            what=f"fund {sample.fund!r}: management rate for target {target}",
        )

    settled0 = settle_sample(sample, financing, contract_at(0.0))
    cost_rate = float(w @ settled0["operating_cost"].sum(axis=1)) / float(w @ claims_total)
    root = root_for(sample, min(cost_rate, 1.0))
    m = root.x
    net = net_at(m)
    se, slope, se_batch = 0.0, float("nan"), None
    notes: tuple[str, ...] = ()
    if root.bound:
        se, notes = float("nan"), (BOUND_NOTE.format(root.bound),)
    elif not sample.is_weighted:
        if target.is_mean:
            se, slope = mean_target_se(
                target, net, claims_total, claims_total, np.zeros_like(claims_total)
            )
        else:
            se, slope = _loss_probability_se(
                lambda t: root_for(sample, m, t).x, target, sample.n_paths
            )
        batch = [
            root_for(sample.subset(r), m).x for r in _batches(sample.n_paths, n_batches, target)
        ]
        if batch:
            se_batch = float(np.std(batch, ddof=1) / math.sqrt(len(batch)))
    return Solution(
        quantity="management_rate",
        value=m,
        se=se,
        se_batch=se_batch,
        target=target,
        achieved=_achieved(target, net, claims_total, w),
        slope=slope,
        method=sample.method,
        paths=sample.n_paths,
        seed=sample.seed,
        fund=sample.fund,
        reference=float(sample.contract.management_rate),
        expected_claims_per_head=None,
        expected_cost_per_head=None,
        evaluations=root.evaluations,
        bound=root.bound,
        distribution=price_distribution(sample, financing, levels=levels, contract=contract_at(m)),
        notes=(
            *notes,
            f"expected operating cost is {cost_rate:.4%} of expected claims",
            "margin targets are relative to expected claims paid",
            *sample.notes,
        ),
    )
