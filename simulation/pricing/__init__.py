"""Tender pricing for insurers (RULES.md sections 3 and 4): what to bid for a fund's contract.

An insurer bidding for a serious illness (or supplementary) contract asks: what is the distribution
of my result over the term at a given financing per head; what financing breaks even, reaches a
target margin, or keeps the probability of a loss below a level; for a fixed financing, how
generous can the reimbursement ratios be, or how low the threshold; under cost-plus, what
management rate covers my operating cost? And, bids side by side.

Quantities (yuan; "per head" = per financed person-year)
--------------------------------------------------------
- ``b`` **financing per head** (the bid), yuan per head. The premium raised in year ``y`` is linear
  in the bid: ``P_y(b) = fixed_y + b * per_unit_y`` (a :class:`PremiumBasis`), with three ways to
  map a single number to a tiered, dated financing schedule (:class:`FinancingBasis`):

  * ``scale`` (default): the scenario's whole schedule (every tier, every year, its growth) is
    multiplied by one factor; the bid is quoted as the *average financing per head in the first
    year* (for a flat, untiered financing this is just the financing per head).
    ``fixed_y = 0``, ``per_unit_y = P_y^scenario / b_scenario``.
  * ``level``: one financing per head for every financed person and every year of the term (tiers
    and dated growth replaced). ``fixed_y = 0``, ``per_unit_y = insured_y``.
  * ``tier``: price one tier's financing per head (the same in every year), the other tiers as in
    the scenario. ``fixed_y`` = premium with that tier at 0, ``per_unit_y`` = its financed persons.

- ``S`` the fund's **claims paid**, ``O`` the insurer's **operating cost**, ``R`` the insurer's
  **net result** after the contract (clawback, loss corridor, policy-change subsidy) and its
  operating cost: ``insurer_result_net`` of :func:`simulation.rules.contract.settle_year`, plus the
  subsidy, summed over the pricing horizon (the term). A **loss** is ``R < 0``.
- **margin** = ``E[R] / P`` (``P`` the premium over the term, deterministic given the bid); for
  the cost-plus management rate the margin is ``E[R] / E[S]`` (the base the rate applies to).
- **expected cost per head** = ``(E[S + O] - sum_y fixed_y) / sum_y per_unit_y``: the financing that
  would break even *without* the profit cap. Because the upside is capped and the downside open,
  the break-even financing is above it; the **gap** is what the cap costs the insurer.
- VaR and TVaR at level ``a`` are stated as positive losses: ``VaR_a = -q_{1-a}(R)`` (lower
  quantile, the smallest ``r`` with ``P(R <= r) >= 1 - a``) and ``TVaR_a`` the mean of the worst
  ``1 - a`` of probability (an atom at the quantile split), as in :mod:`simulation.engine.exact`.

Method: common random numbers
-----------------------------
A fund's claims on each simulated path do not depend on the financing, so a financing bid (or a
management rate) is priced by re-settling the **same** simulated claims with the contract rules for
each trial value: the objective is a smooth (piecewise linear), monotone function of the bid and the
solution is reproducible. A benefit change (ratio add-on or scale, threshold) changes the claims:
the engine is run again on the modified scenario with the same seed and paths, which re-uses the
same people and costs (rules never draw random numbers), so the objective is again monotone in the
change. Every solve is :func:`scipy.optimize.brentq` on a monotone objective after a bracketing
search (:func:`solve_monotone`).

Monte Carlo error of a solution
-------------------------------
Mean targets (break-even, margin), delta method: ``SE(x*) = SE(g(x*)) / |g'(x*)|`` with
``SE(g) = sd(R - m base) / sqrt(K)`` and ``g' = mean(dR/dx)`` (per-path derivatives by central
differences on the same paths). Loss probability ``a``: the solution is a quantile of the per-path
break-evens, so ``SE = sqrt(a (1 - a) / K) * |dx/da|``, the sparsity ``|dx/da|`` estimated by
Siddiqui's ``|x(a - h) - x(a + h)| / (2 h)`` (Hall-Sheather ``h``), re-solving on the same paths
(for benefit changes: from engine runs at ``x* +- d``). For financing and management-rate solves a
batch-means SE (the solve repeated on ``n_batches`` blocks of paths, ``sd / sqrt(n_batches)``) is
reported alongside as a check. The paths needed for a precision ``+-w`` at confidence ``z`` are
``K (z SE / w)**2`` (:meth:`Solution.paths_needed`).

The exact method (one year, one fund) gives a weighted "sample" (the grid of the claims' law and
its masses): every function here accepts it and its answers have no Monte Carlo error
(:func:`exact_sample`, :func:`exact_price`).

Monotonicity caveat: under a ``corridor`` contract where the fund takes a large part of the excess
loss (``excess_insurer_share < loss_band_rate / (1 + loss_band_rate)``), the insurer's deep-loss
result falls as the premium rises (its band is a share of premium), so objectives need not be
monotone there and a solution should be checked with :func:`compare_bids`.

Modules
-------
- :mod:`.targets`: :class:`Target` (break-even, margin, probability of a loss);
- :mod:`.basis`: :class:`FinancingBasis`, :class:`PremiumBasis`, :func:`premium_basis`,
  :func:`reference_financing`, :func:`with_financing` (bids in yuan per head);
- :mod:`.sample`: :class:`ClaimsSample` and its makers, :func:`settle_sample`, :func:`net_result`
  (yuan per path);
- :mod:`.measures`: :func:`var_tvar`, :func:`price_distribution`, :func:`compare_bids`;
- :mod:`.solve`: :func:`solve_monotone`, objectives and standard errors, :class:`Solution`;
- :mod:`.financing`: :func:`solve_financing` and its shortcuts, :func:`exact_price`,
  :func:`cost_plus_management_rate` (solves on the same claims);
- :mod:`.benefits`: :func:`max_ratio_addon`, :func:`max_ratio_scale`, :func:`min_threshold` and
  the scenario changes they try (solves re-running the engine);
- :mod:`.summary`: :func:`pricing_summary`, the report's table.

Everything is imported from here: ``from simulation.pricing import solve_financing``.
"""

from __future__ import annotations

from .basis import (
    FinancingBasis,
    PremiumBasis,
    premium_basis,
    reference_financing,
    with_financing,
)
from .benefits import (
    current_threshold,
    max_ratio_addon,
    max_ratio_scale,
    min_threshold,
    with_ratio_addon,
    with_ratio_scale,
    with_threshold,
)
from .financing import (
    break_even_financing,
    cost_plus_management_rate,
    exact_price,
    financing_for_loss_probability,
    financing_for_target_margin,
    solve_financing,
)
from .measures import (
    DEFAULT_LEVELS,
    BidComparison,
    PeriodMeasures,
    PriceDistribution,
    compare_bids,
    price_distribution,
    var_tvar,
)
from .sample import SETTLED_KEYS as SETTLED_KEYS
from .sample import (
    ClaimsSample,
    claims_sample,
    exact_sample,
    net_result,
    settle_sample,
    settlement_periods,
    simulate_claims,
)
from .solve import BOUND_NOTE as BOUND_NOTE
from .solve import DEFAULT_PRECISION as DEFAULT_PRECISION
from .solve import QUANTITY_UNITS as QUANTITY_UNITS
from .solve import (
    Root,
    Solution,
    loss_probability_bandwidth,
    mean_target_se,
    quantile_se,
    solve_monotone,
)
from .summary import pricing_summary
from .targets import Target, TargetKind

__all__ = [
    "DEFAULT_LEVELS",
    "BidComparison",
    "ClaimsSample",
    "FinancingBasis",
    "PeriodMeasures",
    "PremiumBasis",
    "PriceDistribution",
    "Root",
    "Solution",
    "Target",
    "TargetKind",
    "break_even_financing",
    "claims_sample",
    "compare_bids",
    "cost_plus_management_rate",
    "current_threshold",
    "loss_probability_bandwidth",
    "mean_target_se",
    "quantile_se",
    "exact_price",
    "exact_sample",
    "financing_for_loss_probability",
    "financing_for_target_margin",
    "max_ratio_addon",
    "max_ratio_scale",
    "min_threshold",
    "net_result",
    "premium_basis",
    "price_distribution",
    "pricing_summary",
    "reference_financing",
    "settle_sample",
    "settlement_periods",
    "simulate_claims",
    "solve_financing",
    "solve_monotone",
    "var_tvar",
    "with_financing",
    "with_ratio_addon",
    "with_ratio_scale",
    "with_threshold",
]
