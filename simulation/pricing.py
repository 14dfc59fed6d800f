"""Tender pricing for insurers (RULES.md sections 3 and 4): what to bid for a fund's contract.

An insurer bidding for a serious illness (or supplementary) contract asks: what is the distribution
of my result over the term at a given financing per head; what financing breaks even, reaches a
target margin, or keeps the probability of a loss below a level; for a fixed financing, how
generous can the reimbursement ratios be, or how low the threshold; under cost-plus, what
management rate covers my operating cost? And, bids side by side.

Quantities (yuan; "per head" = per financed person-year)
-------------------------------------------------------
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
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from .engine.plan import RunPlan, build_plan
from .engine.result import SimulationResult
from .engine.run import BlockRunner, in_process
from .engine.run import run as run_engine
from .errors import FundsimError
from .params import Dated
from .rules.contract import policy_change_subsidy, settle_term, settle_year
from .scenario.schema import Band, Contract, ContractKind, Layer, LevelRule, Scenario

DEFAULT_LEVELS = (0.95, 0.99, 0.995)
"""Default VaR/TVaR levels."""

SETTLED_KEYS = (
    "premium",
    "claims",
    "operating_cost",
    "clawback",
    "subsidy",
    "fund_loss_share",
    "management_payment",
    "insurer_result",
    "insurer_result_net",
)

# --------------------------------------------------------------------------- targets


class TargetKind(StrEnum):
    """What a solve aims at, over the pricing horizon."""

    BREAK_EVEN = "break-even"  # E[R] = 0
    MARGIN = "margin"  # E[R] = m * P (premium), or m * E[S] for the management rate
    LOSS_PROBABILITY = "loss-prob"  # P(R < 0) <= a


@dataclass(frozen=True)
class Target:
    """A pricing target: ``Target.parse("margin:0.02")``, ``Target.loss_probability(0.1)``."""

    kind: TargetKind = TargetKind.BREAK_EVEN
    value: float = 0.0

    def __post_init__(self) -> None:
        kind = TargetKind(self.kind)
        object.__setattr__(self, "kind", kind)
        if not math.isfinite(self.value):
            raise FundsimError(f"target {kind.value}: value must be finite, found {self.value!r}")
        if kind is TargetKind.LOSS_PROBABILITY and not 0.0 < self.value < 1.0:
            raise FundsimError(
                f"target loss-prob: the probability of a loss must be in (0, 1), found {self.value:g}"
            )
        if kind is TargetKind.MARGIN and not -1.0 < self.value < 1.0:
            raise FundsimError(f"target margin: a margin must be in (-1, 1), found {self.value:g}")
        if kind is TargetKind.BREAK_EVEN and self.value != 0.0:
            raise FundsimError("target break-even takes no value")

    @classmethod
    def break_even(cls) -> Target:
        return cls(TargetKind.BREAK_EVEN)

    @classmethod
    def margin(cls, margin: float) -> Target:
        return cls(TargetKind.MARGIN, float(margin))

    @classmethod
    def loss_probability(cls, probability: float) -> Target:
        return cls(TargetKind.LOSS_PROBABILITY, float(probability))

    @classmethod
    def parse(cls, text: str) -> Target:
        """``break-even``, ``margin:0.02`` or ``loss-prob:0.1``."""
        name, _, value = str(text).strip().partition(":")
        allowed = "break-even, margin:M (e.g. margin:0.02) or loss-prob:A (e.g. loss-prob:0.1)"
        try:
            kind = TargetKind(name)
        except ValueError:
            raise FundsimError(f"unknown target {text!r}; expected {allowed}") from None
        if kind is TargetKind.BREAK_EVEN:
            if value:
                raise FundsimError(f"target {text!r}: break-even takes no value")
            return cls.break_even()
        try:
            number = float(value)
        except ValueError:
            raise FundsimError(f"target {text!r}: expected a number after ':'; {allowed}") from None
        return cls(kind, number)

    @property
    def is_mean(self) -> bool:
        return self.kind is not TargetKind.LOSS_PROBABILITY

    def __str__(self) -> str:
        return (
            self.kind.value
            if self.kind is TargetKind.BREAK_EVEN
            else f"{self.kind.value}:{self.value:g}"
        )


def _target(target: Target | str | None) -> Target:
    if target is None:
        return Target.break_even()
    return target if isinstance(target, Target) else Target.parse(target)


# --------------------------------------------------------------------------- premium basis


class FinancingBasis(StrEnum):
    """How one financing per head maps to the premium of every tier and year (module docstring)."""

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
    """How a bid maps to ``fund``'s premium over ``years`` policy years (module docstring)."""
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


# --------------------------------------------------------------------------- claims samples


@dataclass(frozen=True, eq=False)
class ClaimsSample:
    """A fund's claims on simulated paths (or on the exact law's grid), ready to be re-settled.

    ``claims[i, y]`` is what the fund's layers paid on path ``i`` in year ``y`` (yuan);
    ``claims_old`` the same under the rules before a declared change (the same array when no change
    is in force: then no policy-change subsidy). ``weights`` are path probabilities (None: equal,
    Monte Carlo); the exact method gives grid points with their masses.
    """

    fund: str
    contract: Contract
    years: tuple[int, ...]
    claims: np.ndarray
    claims_old: np.ndarray
    basis: PremiumBasis
    weights: np.ndarray | None = None
    seed: int | None = None
    method: str = "monte carlo"
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        c = np.asarray(self.claims, dtype=np.float64)
        if c.ndim != 2 or c.shape[1] != len(self.years):
            raise FundsimError(
                f"claims must have shape (paths, {len(self.years)} years), found {c.shape}"
            )
        if c.shape[0] < 1:
            raise FundsimError("a claims sample needs at least one path")
        old = np.asarray(self.claims_old, dtype=np.float64)
        if old.shape != c.shape:
            raise FundsimError(f"claims_old has shape {old.shape}, claims {c.shape}")
        object.__setattr__(self, "claims", c)
        object.__setattr__(self, "claims_old", c if np.array_equal(old, c) else old)
        if self.weights is not None:
            w = np.asarray(self.weights, dtype=np.float64)
            if w.shape != (c.shape[0],) or (w < 0).any() or w.sum() <= 0:
                raise FundsimError("weights must be one non-negative number per path, not all 0")
            object.__setattr__(self, "weights", w / w.sum())
        for name in ("fixed", "per_unit"):
            if getattr(self.basis, name).shape != (len(self.years),):
                raise FundsimError(f"the premium basis has no '{name}' value for every year")

    @classmethod
    def from_arrays(
        cls,
        claims: Any,
        contract: Contract,
        *,
        insured: Any,
        financing: float,
        claims_old: Any = None,
        years: Sequence[int] | None = None,
        fund: str = "fund",
        weights: Any = None,
        seed: int | None = None,
        method: str = "monte carlo",
    ) -> ClaimsSample:
        """A sample from arrays: claims (paths, years) yuan, ``insured`` persons by year, and the
        reference ``financing`` per head (level basis: ``P_y = b * insured_y``)."""
        c = np.asarray(claims, dtype=np.float64)
        if c.ndim == 1:
            c = c[:, None]
        n = c.shape[1]
        ins = np.broadcast_to(np.asarray(insured, dtype=np.float64), (n,)).copy()
        basis = PremiumBasis(
            FinancingBasis.LEVEL,
            None,
            np.zeros(n),
            ins,
            float(financing),
            float(financing) * ins,
            ins,
        )
        old = c if claims_old is None else np.asarray(claims_old, dtype=np.float64).reshape(c.shape)
        yrs = tuple(range(n)) if years is None else tuple(int(y) for y in years)
        return cls(fund, contract, yrs, c, old, basis, weights, seed, method)

    @property
    def n_paths(self) -> int:
        return self.claims.shape[0]

    @property
    def is_weighted(self) -> bool:
        """True for the exact method's grid (no Monte Carlo error)."""
        return self.weights is not None

    @property
    def w(self) -> np.ndarray:
        """Path probabilities (sum 1)."""
        if self.weights is None:
            return np.full(self.n_paths, 1.0 / self.n_paths)
        return self.weights

    def premium(self, financing: float | None = None) -> np.ndarray:
        """Premium by year at ``financing`` per head (None: the scenario's own), yuan."""
        return self.basis.premium(financing)

    def subset(self, rows: np.ndarray | slice) -> ClaimsSample:
        """The sample restricted to some paths (for batch means)."""
        w = None if self.weights is None else self.weights[rows]
        old = self.claims[rows] if self.claims_old is self.claims else self.claims_old[rows]
        return dataclasses.replace(self, claims=self.claims[rows], claims_old=old, weights=w)

    def with_contract(self, contract: Contract) -> ClaimsSample:
        return dataclasses.replace(self, contract=contract)

    def first_years(self, n: int) -> ClaimsSample:
        """The sample restricted to its first ``n`` years (e.g. one year, to compare with the
        exact method)."""
        if not 1 <= n <= len(self.years):
            raise FundsimError(f"the sample has {len(self.years)} years; cannot keep {n}")
        b = self.basis
        basis = dataclasses.replace(
            b,
            fixed=b.fixed[:n],
            per_unit=b.per_unit[:n],
            scenario_premium=b.scenario_premium[:n],
            insured=b.insured[:n],
        )
        old = self.claims[:, :n] if self.claims_old is self.claims else self.claims_old[:, :n]
        return dataclasses.replace(
            self, years=self.years[:n], claims=self.claims[:, :n], claims_old=old, basis=basis
        )

    def expected_cost_per_head(self) -> tuple[float, float]:
        """``(E[S] per head, E[S + O] per head)`` over the horizon, yuan per unit of financing:
        ``(E[sum_y S_y] - sum_y fixed_y) / sum_y per_unit_y`` and the same with operating cost."""
        settled = settle_sample(self, self.basis.reference)
        s = float(self.w @ settled["claims"].sum(axis=1))
        o = float(self.w @ settled["operating_cost"].sum(axis=1))
        fixed, units = float(self.basis.fixed.sum()), float(self.basis.per_unit.sum())
        if units <= 0:
            raise FundsimError(f"fund {self.fund!r}: the bid finances nobody")
        return (s - fixed) / units, (s + o - fixed) / units


def _sample_from_result(
    result: SimulationResult, fund: str, basis: PremiumBasis, seed: int | None
) -> ClaimsSample:
    if fund not in result.plan.funds:
        raise FundsimError(
            f"fund {fund!r} is not in the run; funds: {', '.join(result.plan.funds)}"
        )
    f = result.plan.funds.index(fund)
    claims = result.money["claims"][:, :, f]
    old = result.money["claims_old"][:, :, f]
    notes: tuple[str, ...] = ()
    if any(yp.cascade_old is not None for yp in result.plan.years):
        notes = ("a declared rule change is in force: the policy-change subsidy is included",)
    return ClaimsSample(
        fund=fund,
        contract=result.plan.scenario.funds[fund].contract,
        years=tuple(result.years),
        claims=claims,
        claims_old=old,
        basis=basis,
        seed=seed,
        notes=notes,
    )


def claims_sample(
    result: SimulationResult,
    fund: str,
    *,
    basis: FinancingBasis | str = FinancingBasis.SCALE,
    tier: str | None = None,
) -> ClaimsSample:
    """``fund``'s claims from an engine run, with the premium basis of its scenario. The pricing
    horizon is every year of the run (run the term: ``years=contract.term_years``)."""
    scenario = result.plan.scenario
    pb = premium_basis(scenario, fund, basis=basis, tier=tier, plan=result.plan)
    return _sample_from_result(result, fund, pb, result.info.seed)


def simulate_claims(
    scenario: Scenario,
    fund: str,
    *,
    paths: int = 1000,
    seed: int = 0,
    years: int | None = None,
    basis: FinancingBasis | str = FinancingBasis.SCALE,
    tier: str | None = None,
    runner: BlockRunner = in_process,
) -> ClaimsSample:
    """Run the engine for the pricing horizon (default: the contract's ``term_years``) and return
    ``fund``'s claims sample."""
    _check_fund(scenario, fund)
    years = years if years is not None else scenario.funds[fund].contract.term_years
    result = run_engine(scenario, paths=paths, seed=seed, years=years, runner=runner)
    return claims_sample(result, fund, basis=basis, tier=tier)


def exact_sample(
    scenario: Scenario,
    fund: str,
    *,
    year: int | None = None,
    basis: FinancingBasis | str = FinancingBasis.SCALE,
    tier: str | None = None,
    **exact_options: Any,
) -> ClaimsSample:
    """``fund``'s claims in one ``year`` (default: the start year) by the exact FFT method of
    :func:`simulation.engine.exact.exact_claims_distribution` (options passed on): the grid of the
    claims' law as a one-year weighted sample. No policy-change subsidy (the joint law of the
    claims under old and new rules is not available); roster dynamics ignored (stayers only)."""
    from .engine.exact import exact_claims_distribution

    _check_fund(scenario, fund)
    year = scenario.start_year if year is None else int(year)
    k = year - scenario.start_year
    if k < 0:
        raise FundsimError(f"year {year} is before the scenario's start year {scenario.start_year}")
    full = premium_basis(scenario, fund, years=k + 1, basis=basis, tier=tier)
    pb = PremiumBasis(
        full.basis,
        full.tier,
        full.fixed[k : k + 1],
        full.per_unit[k : k + 1],
        full.reference,
        full.scenario_premium[k : k + 1],
        full.insured[k : k + 1],
    )
    dist = exact_claims_distribution(scenario, fund, year, **exact_options)
    keep = dist.p > 0
    notes = tuple(dist.notes)
    if any(int(y) <= year for y in scenario.changes):
        notes += (
            "a rule change is in force: the exact method prices it without the policy-change subsidy",
        )
    x = dist.x[keep][:, None]
    return ClaimsSample(
        fund=fund,
        contract=scenario.funds[fund].contract,
        years=(year,),
        claims=x,
        claims_old=x,
        basis=pb,
        weights=dist.p[keep],
        method="exact",
        notes=notes,
    )


# --------------------------------------------------------------------------- settlement


def settlement_periods(n_years: int, contract: Contract) -> list[tuple[int, int]]:
    """Year index ranges ``[start, end)`` settled together: each year (``annual``), or consecutive
    terms of ``term_years`` (``term``; a last, shorter one if the horizon is not whole terms)."""
    if contract.settlement == "term":
        t = contract.term_years
        return [(s, min(s + t, n_years)) for s in range(0, n_years, t)]
    return [(y, y + 1) for y in range(n_years)]


def settle_sample(
    sample: ClaimsSample, financing: float | None = None, contract: Contract | None = None
) -> dict[str, np.ndarray]:
    """Settle every path at ``financing`` per head: arrays (paths, periods), yuan, keyed
    :data:`SETTLED_KEYS`, one column per :func:`settlement_periods` period.

    Per period: :func:`~simulation.rules.contract.settle_year` (annual) or
    :func:`~simulation.rules.contract.settle_term` on the claims and, where a rule change is in
    force, on the claims under the old rules; ``subsidy =
    policy_change_subsidy(R_new, R_old)`` is added to ``insurer_result`` and
    ``insurer_result_net`` exactly as the engine does.
    """
    contract = contract if contract is not None else sample.contract
    premium = sample.premium(financing)
    k, n = sample.claims.shape
    periods = settlement_periods(n, contract)
    out = {key: np.zeros((k, len(periods))) for key in SETTLED_KEYS}
    if ContractKind(contract.kind) is ContractKind.NONE:
        raise FundsimError(
            f"fund {sample.fund!r} has no insurer (contract kind 'none'): there is no bid to price"
        )
    changed = sample.claims_old is not sample.claims
    for j, (s, e) in enumerate(periods):
        p = premium[s:e]
        if contract.settlement == "term":
            pp = np.broadcast_to(p, (k, e - s))
            new = settle_term(contract, pp, sample.claims[:, s:e])
            old = settle_term(contract, pp, sample.claims_old[:, s:e]) if changed else None
        else:
            new = settle_year(contract, p[0], sample.claims[:, s])
            old = settle_year(contract, p[0], sample.claims_old[:, s]) if changed else None
        subsidy = (
            policy_change_subsidy(new["insurer_result"], old["insurer_result"])
            if old is not None
            else 0.0
        )
        out["premium"][:, j] = p.sum()
        out["claims"][:, j] = sample.claims[:, s:e].sum(axis=1)
        out["subsidy"][:, j] = subsidy
        for key in ("operating_cost", "clawback", "fund_loss_share", "management_payment"):
            out[key][:, j] = new[key]
        out["insurer_result"][:, j] = new["insurer_result"] + subsidy
        out["insurer_result_net"][:, j] = new["insurer_result_net"] + subsidy
    return out


def net_result(
    sample: ClaimsSample, financing: float | None = None, contract: Contract | None = None
) -> np.ndarray:
    """The insurer's net result over the whole horizon on each path, yuan: ``sum`` over periods
    of ``insurer_result_net`` (after operating cost and subsidy)."""
    return settle_sample(sample, financing, contract)["insurer_result_net"].sum(axis=1)


# --------------------------------------------------------------------------- weighted statistics


def _mean(x: np.ndarray, w: np.ndarray) -> float:
    return float(w @ x)


def _sd(x: np.ndarray, w: np.ndarray, weighted: bool) -> float:
    k = len(x)
    if k < 2:
        return 0.0
    m = w @ x
    var = float(w @ (x - m) ** 2)
    if not weighted:
        var *= k / (k - 1)
    return math.sqrt(max(var, 0.0))


def var_tvar(x: np.ndarray, w: np.ndarray, level: float) -> tuple[float, float]:
    """``(VaR, TVaR)`` at ``level`` of a result (profit positive) with path weights ``w``, stated
    as losses: ``VaR = -q`` (``q`` the lower ``1 - level`` quantile), ``TVaR = -`` the mean of the
    worst ``1 - level`` of probability (an atom at ``q`` split so the tail has exactly that mass)."""
    a = 1.0 - level
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], w[order] / w.sum()
    cw = np.cumsum(ws)
    i = int(min(np.searchsorted(cw, a * (1 - 1e-12), side="left"), len(xs) - 1))
    before = cw[i - 1] if i > 0 else 0.0
    tail = float(xs[:i] @ ws[:i] + xs[i] * (a - before))
    return -float(xs[i]), -tail / a


def _level_name(level: float) -> str:
    return f"{level:.4f}".split(".")[1].rstrip("0")


# --------------------------------------------------------------------------- distribution


@dataclass(frozen=True)
class PeriodMeasures:
    """The insurer's position in one settlement period (or over the whole horizon), yuan."""

    period: str
    n_years: int
    premium: float
    claims_mean: float
    claims_sd: float
    operating_cost_mean: float
    clawback_mean: float
    subsidy_mean: float
    fund_loss_share_mean: float
    management_payment_mean: float
    result_mean: float
    """E[R]: expected net result (after operating cost), yuan."""
    result_se: float
    result_sd: float
    margin: float
    """E[R] / P."""
    p_loss: float
    p_loss_se: float
    var: tuple[tuple[float, float], ...]
    """(level, VaR) pairs, losses positive."""
    tvar: tuple[tuple[float, float], ...]

    def to_dict(self) -> dict[str, Any]:
        d = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("var", "tvar")
        }
        for level, v in self.var:
            d[f"var_{_level_name(level)}"] = v
        for level, v in self.tvar:
            d[f"tvar_{_level_name(level)}"] = v
        return d


@dataclass(frozen=True)
class PriceDistribution:
    """The distribution of the insurer's result at one financing per head, by settlement period
    and over the whole horizon (the last entry of ``periods``, period ``"term"``)."""

    fund: str
    financing: float
    basis: str
    method: str
    paths: int
    seed: int | None
    periods: tuple[PeriodMeasures, ...]

    @property
    def term(self) -> PeriodMeasures:
        """Measures over the whole pricing horizon."""
        return self.periods[-1]

    def to_frame(self) -> pd.DataFrame:
        rows = [
            {"fund": self.fund, "financing_per_head": self.financing, **p.to_dict()}
            for p in self.periods
        ]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "fund": self.fund,
            "financing_per_head": self.financing,
            "basis": self.basis,
            "method": self.method,
            "paths": self.paths,
            "seed": self.seed,
            "periods": [p.to_dict() for p in self.periods],
        }


def _period_measures(
    label: str,
    n_years: int,
    cols: dict[str, np.ndarray],
    w: np.ndarray,
    weighted: bool,
    levels: Sequence[float],
) -> PeriodMeasures:
    k = len(w)
    r = cols["insurer_result_net"]
    premium = float(cols["premium"][0])
    sd = _sd(r, w, weighted)
    p_loss = float(w @ (r < 0))
    return PeriodMeasures(
        period=label,
        n_years=n_years,
        premium=premium,
        claims_mean=_mean(cols["claims"], w),
        claims_sd=_sd(cols["claims"], w, weighted),
        operating_cost_mean=_mean(cols["operating_cost"], w),
        clawback_mean=_mean(cols["clawback"], w),
        subsidy_mean=_mean(cols["subsidy"], w),
        fund_loss_share_mean=_mean(cols["fund_loss_share"], w),
        management_payment_mean=_mean(cols["management_payment"], w),
        result_mean=_mean(r, w),
        result_se=0.0 if weighted else sd / math.sqrt(k),
        result_sd=sd,
        margin=_mean(r, w) / premium if premium > 0 else float("nan"),
        p_loss=p_loss,
        p_loss_se=0.0 if weighted else math.sqrt(p_loss * (1 - p_loss) / k),
        var=tuple((lv, var_tvar(r, w, lv)[0]) for lv in levels),
        tvar=tuple((lv, var_tvar(r, w, lv)[1]) for lv in levels),
    )


def price_distribution(
    sample: ClaimsSample,
    financing: float | None = None,
    *,
    levels: Sequence[float] = DEFAULT_LEVELS,
    contract: Contract | None = None,
) -> PriceDistribution:
    """The insurer's result at ``financing`` per head (None: the scenario's own premium): mean
    (with its MC standard error), sd, probability of loss, VaR/TVaR at ``levels``, expected
    clawback given up, subsidy, operating cost; per settlement period and over the horizon."""
    for lv in levels:
        if not 0.0 < lv < 1.0:
            raise FundsimError(f"VaR levels must be in (0, 1), found {lv:g}")
    settled = settle_sample(sample, financing, contract)
    contract = contract if contract is not None else sample.contract
    periods = settlement_periods(len(sample.years), contract)
    w, weighted = sample.w, sample.is_weighted
    out = []
    for j, (s, e) in enumerate(periods):
        label = str(sample.years[s]) if e - s == 1 else f"{sample.years[s]}-{sample.years[e - 1]}"
        out.append(
            _period_measures(
                label, e - s, {k: v[:, j] for k, v in settled.items()}, w, weighted, levels
            )
        )
    totals = {k: v.sum(axis=1) for k, v in settled.items()}
    term = _period_measures("term", len(sample.years), totals, w, weighted, levels)
    out = [*out, term] if len(out) > 1 else [term]
    fin = sample.basis.reference if financing is None else float(financing)
    return PriceDistribution(
        fund=sample.fund,
        financing=fin,
        basis=sample.basis.basis.value,
        method=sample.method,
        paths=sample.n_paths,
        seed=sample.seed,
        periods=tuple(out),
    )


@dataclass(frozen=True)
class BidComparison:
    """Several bids side by side (:func:`compare_bids`)."""

    bids: tuple[PriceDistribution, ...]
    expected_cost_per_head: float

    def to_frame(self, by_period: bool = False) -> pd.DataFrame:
        """One row per bid over the horizon (``by_period``: one row per bid and period)."""
        frames = [d.to_frame() for d in self.bids]
        df = pd.concat(frames, ignore_index=True)
        if not by_period:
            df = df[df["period"] == "term"].reset_index(drop=True)
        return df

    def to_dict(self) -> dict[str, Any]:
        return {
            "expected_cost_per_head": self.expected_cost_per_head,
            "bids": [d.to_dict() for d in self.bids],
        }


def compare_bids(
    sample: ClaimsSample, bids: Sequence[float], *, levels: Sequence[float] = DEFAULT_LEVELS
) -> BidComparison:
    """The insurer's result distribution at each bid (financing per head), on the same paths."""
    if len(bids) == 0:
        raise FundsimError("compare_bids needs at least one bid")
    _, cost = sample.expected_cost_per_head()
    return BidComparison(
        bids=tuple(price_distribution(sample, float(b), levels=levels) for b in bids),
        expected_cost_per_head=cost,
    )


# --------------------------------------------------------------------------- the root finder


@dataclass(frozen=True)
class Root:
    """Where a monotone objective reaches its target (``g >= 0``)."""

    x: float
    evaluations: int
    bound: str | None
    """``"lower"``/``"upper"``: the target holds over the whole allowed range up to this end."""


def solve_monotone(
    g: Callable[[float], float],
    *,
    start: float,
    step: float,
    lower: float,
    upper: float,
    increasing: bool,
    xtol: float,
    grow: float = 2.0,
    max_expand: int = 60,
    what: str = "the target",
) -> Root:
    """The edge of ``{x in [lower, upper]: g(x) >= 0}`` for a monotone ``g`` (target met where
    ``g >= 0``): the smallest such ``x`` if ``g`` is increasing, the largest if decreasing.

    A bracket is found by stepping from ``start`` by ``step``, ``grow`` times longer each time,
    toward the sign change; then :func:`scipy.optimize.brentq` (``xtol``) and, if its root is on the
    wrong side of a jump (step objectives such as a probability of loss), the nearest point within
    ``xtol`` where the target holds. Raises :class:`FundsimError` if the target cannot be met in
    ``[lower, upper]``.
    """
    cache: dict[float, float] = {}

    def f(x: float) -> float:
        x = float(x)
        if x not in cache:
            cache[x] = float(g(x))
        return cache[x]

    a = float(min(max(start, lower), upper))
    fa = f(a)
    # move toward the sign change: up if (increasing and unmet) or (decreasing and met)
    up = (fa < 0) == increasing
    d = float(step)
    b = a
    for _ in range(max_expand):
        end = upper if up else lower
        b = min(a + d, upper) if up else max(a - d, lower)
        fb = f(b)
        if (fb >= 0) != (fa >= 0):
            break
        if b == end:
            if fb >= 0:
                return Root(b, len(cache), "upper" if up else "lower")
            side = "above" if up else "below"
            raise FundsimError(
                f"{what} cannot be reached: not met anywhere in [{lower:g}, {upper:g}] "
                f"(searched {side} {start:g})"
            )
        a, fa = b, fb
        d *= grow
    else:
        raise FundsimError(f"{what}: no bracket found after {max_expand} steps from {start:g}")
    lo, hi = (a, b) if a < b else (b, a)
    x = float(optimize.brentq(f, lo, hi, xtol=xtol, rtol=4 * np.finfo(float).eps))
    if f(x) < 0:  # landed on the wrong side of a jump: step to the side where the target holds
        x = min(x + xtol, hi) if increasing else max(x - xtol, lo)
        if f(x) < 0:
            x = hi if increasing else lo
    return Root(x, len(cache), None)


# --------------------------------------------------------------------------- objective and SE


def _objective(target: Target, net: np.ndarray, base: np.ndarray, w: np.ndarray) -> float:
    """``g``: met where ``>= 0``. Mean targets: ``E[R - m * base]``; loss probability
    ``a``: ``a - P(R < 0)`` (plus 1e-12 so that ``P == a`` counts as met)."""
    if target.kind is TargetKind.LOSS_PROBABILITY:
        return target.value + 1e-12 - float(w @ (net < 0))
    return float(w @ (net - target.value * base))


def _achieved(target: Target, net: np.ndarray, base: np.ndarray, w: np.ndarray) -> float:
    if target.kind is TargetKind.LOSS_PROBABILITY:
        return float(w @ (net < 0))
    if target.kind is TargetKind.MARGIN:
        return float(w @ net) / float(w @ base)
    return float(w @ net)


def _hall_sheather(k: int, tau: float, confidence: float = 0.95) -> float:
    """Hall and Sheather's bandwidth for the sparsity of a ``tau`` quantile of ``k`` values:
    ``k**(-1/3) z**(2/3) (1.5 phi(q)**2 / (2 q**2 + 1))**(1/3)``, ``q = Phi^-1(tau)``,
    ``z = Phi^-1(1 - (1 - confidence) / 2)``."""
    from scipy.stats import norm

    z = norm.ppf(0.5 + confidence / 2)
    q = norm.ppf(tau)
    return k ** (-1 / 3) * z ** (2 / 3) * (1.5 * norm.pdf(q) ** 2 / (2 * q * q + 1)) ** (1 / 3)


def mean_target_se(
    target: Target, net: np.ndarray, dnet: np.ndarray, base: np.ndarray, dbase: np.ndarray
) -> tuple[float, float]:
    """``(SE of the solution, slope of the objective)`` of a mean target by the delta method, equal
    path weights: ``SE(g) = sd(R - m base) / sqrt(K)``, ``g' = mean(dR - m dbase)`` (``dR`` the
    per-path derivative in the solved quantity, on the same paths), ``SE = SE(g) / |g'|``."""
    k = len(net)
    y = net - target.value * base
    se_g = float(np.std(y, ddof=1)) / math.sqrt(k) if k > 1 else 0.0
    slope = float(np.mean(dnet - target.value * dbase))
    if se_g == 0.0:
        return 0.0, slope
    return (se_g / abs(slope) if slope != 0 else float("inf")), slope


def loss_probability_bandwidth(k: int, probability: float) -> float:
    """The probability window ``h`` for the sparsity of a loss-probability solution (Hall-Sheather
    at level ``1 - probability``, at most 0.9 of the distance to 0 or 1)."""
    a = probability
    return min(_hall_sheather(k, 1.0 - a), 0.9 * min(a, 1.0 - a))


def quantile_se(probability: float, k: int, sparsity: float) -> float:
    """SE of a loss-probability solution ``x(a)``: it is a quantile of the per-path break-evens,
    so ``SE = sqrt(a (1 - a) / K) * s`` with ``s = |dx/da|`` the sparsity, estimated by Siddiqui's
    ``|x(a - h) - x(a + h)| / (2 h)`` on the same paths (:func:`loss_probability_bandwidth`)."""
    return math.sqrt(probability * (1.0 - probability) / k) * abs(sparsity)


def _linearised_sparsity(
    a: float, x: float, net: np.ndarray, dnet: np.ndarray, increasing: bool
) -> float:
    """A first guess of the sparsity from per-path break-evens linearised at ``x``:
    ``x_i = x - R_i / R_i'`` (too wide where a kink, such as the profit cap, lies between)."""
    k = len(net)
    moves = dnet > 0 if increasing else dnet < 0
    never = np.inf if increasing else -np.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = np.where(moves, x - net / np.where(moves, dnet, 1.0), np.where(net < 0, never, -never))
    xs = np.sort(xi)
    tau = 1.0 - a if increasing else a
    h = loss_probability_bandwidth(k, a)

    def q(level: float) -> float:
        return float(xs[int(min(max(math.ceil(level * k) - 1, 0), k - 1))])

    return (q(tau + h) - q(tau - h)) / (2 * h)


# --------------------------------------------------------------------------- solutions


QUANTITY_UNITS = {
    "financing_per_head": "yuan per head",
    "ratio_addon": "ratio points (fraction)",
    "ratio_scale": "factor",
    "threshold": "yuan",
    "management_rate": "fraction of claims",
}

DEFAULT_PRECISION = {
    "financing_per_head": 0.1,
    "ratio_addon": 0.001,
    "ratio_scale": 0.002,
    "threshold": 10.0,
    "management_rate": 0.0005,
}
"""Default half-widths (95%) for :meth:`Solution.paths_needed`, in the quantity's unit."""


@dataclass(frozen=True)
class Solution:
    """A solved bid quantity with its Monte Carlo standard error and the measures at it."""

    quantity: str
    """``financing_per_head``, ``ratio_addon``, ``ratio_scale``, ``threshold`` or ``management_rate``."""
    value: float
    se: float
    """Monte Carlo standard error (delta method); 0 for the exact method."""
    se_batch: float | None
    """Batch-means standard error (financing and management-rate solves), None if too few paths."""
    target: Target
    achieved: float
    """The target's measure at the solution: E[R] (yuan), the margin, or P(loss)."""
    slope: float
    """d objective / d value at the solution."""
    method: str
    paths: int
    seed: int | None
    fund: str
    reference: float
    """The scenario's own value of the quantity (its financing per head, add-on 0, scale 1, ...)."""
    expected_claims_per_head: float | None
    expected_cost_per_head: float | None
    """E[claims + operating cost] per head: the break-even financing without the profit cap."""
    evaluations: int
    bound: str | None
    distribution: PriceDistribution
    notes: tuple[str, ...] = ()

    @property
    def unit(self) -> str:
        return QUANTITY_UNITS[self.quantity]

    @property
    def gap(self) -> float | None:
        """Solution minus expected cost per head (financing solves): what the cap (and the
        target's loading) costs, yuan per head."""
        if self.expected_cost_per_head is None:
            return None
        return self.value - self.expected_cost_per_head

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        return self.value - z * self.se, self.value + z * self.se

    def paths_needed(self, half_width: float | None = None, z: float = 1.96) -> int | None:
        """Paths for a ``z``-confidence half-width ``half_width`` (default
        :data:`DEFAULT_PRECISION`): ``ceil(K (z SE / half_width)**2)`` (SE ~ 1/sqrt(K)). None when
        the SE is not defined (a solution at the end of the allowed range)."""
        hw = DEFAULT_PRECISION[self.quantity] if half_width is None else float(half_width)
        if hw <= 0:
            raise FundsimError(f"the precision must be positive, found {hw:g}")
        if self.se == 0:
            return self.paths
        if not math.isfinite(self.se):
            return None
        return max(1, math.ceil(self.paths * (z * self.se / hw) ** 2))

    def to_dict(self) -> dict[str, Any]:
        return {
            "fund": self.fund,
            "quantity": self.quantity,
            "unit": self.unit,
            "target": str(self.target),
            "value": self.value,
            "se": self.se,
            "se_batch": self.se_batch,
            "ci95_low": self.interval()[0],
            "ci95_high": self.interval()[1],
            "achieved": self.achieved,
            "slope": self.slope,
            "reference": self.reference,
            "expected_claims_per_head": self.expected_claims_per_head,
            "expected_cost_per_head": self.expected_cost_per_head,
            "gap": self.gap,
            "paths_needed": self.paths_needed(),
            "precision": DEFAULT_PRECISION[self.quantity],
            "method": self.method,
            "paths": self.paths,
            "seed": self.seed,
            "evaluations": self.evaluations,
            "bound": self.bound,
            "notes": list(self.notes),
            "distribution": self.distribution.to_dict(),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row: the solution, its SE and interval, the cost per head and the gap, and the
        term measures at the solution."""
        d = self.to_dict()
        d.pop("distribution")
        d["notes"] = "; ".join(self.notes)
        term = self.distribution.term.to_dict()
        for key in ("result_mean", "result_se", "margin", "p_loss", "clawback_mean"):
            d[f"term_{key}"] = term[key]
        for key, v in term.items():
            if key.startswith(("var_", "tvar_")):
                d[f"term_{key}"] = v
        return pd.DataFrame([d])


# --------------------------------------------------------------------------- financing solves


BOUND_NOTE = (
    "the target is met over the whole allowed range up to its {} end: the solution is that end, "
    "not a root, and has no standard error"
)


def _batches(k: int, n_batches: int, min_size: int) -> list[slice]:
    nb = min(n_batches, k // min_size)
    if nb < 5:
        return []
    edges = np.linspace(0, k, nb + 1).round().astype(int)
    return [slice(int(edges[i]), int(edges[i + 1])) for i in range(nb)]


def _loss_probability_se(
    solve: Callable[[Target], float], target: Target, k: int
) -> tuple[float, float]:
    """``(SE, slope)`` of a loss-probability solution whose re-solve at another probability on the
    same paths is cheap: Siddiqui's sparsity ``(x(a - h) - x(a + h)) / (2 h)``
    (:func:`quantile_se`); the slope of ``a - P(loss)`` is ``1 / sparsity``."""
    a = target.value
    h = loss_probability_bandwidth(k, a)
    sparsity = (solve(Target.loss_probability(a - h)) - solve(Target.loss_probability(a + h))) / (
        2 * h
    )
    if sparsity == 0:
        return 0.0, float("inf")
    return quantile_se(a, k, sparsity), 1.0 / sparsity


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
        min_size = (
            10 if target.is_mean else max(10, math.ceil(10 / min(target.value, 1 - target.value)))
        )
        batch = [
            _financing_root(sample.subset(rows), target, b).x
            for rows in _batches(sample.n_paths, n_batches, min_size)
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
        min_size = (
            10 if target.is_mean else max(10, math.ceil(10 / min(target.value, 1 - target.value)))
        )
        batch = [
            root_for(sample.subset(r), m).x for r in _batches(sample.n_paths, n_batches, min_size)
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


# --------------------------------------------------------------------------- benefit changes


def _fund_layers(
    scenario: Scenario, fund: str, layer: str | None, need_bands: bool = False
) -> list[str]:
    _check_fund(scenario, fund)
    names = [n for n, lay in scenario.layers.items() if lay.fund == fund]
    if layer is not None:
        if layer not in names:
            raise FundsimError(
                f"layer {layer!r} is not paid by fund {fund!r}; its layers: {', '.join(names) or 'none'}"
            )
        names = [layer]
    if need_bands:
        names = [n for n in names if scenario.layers[n].bands]
        if not names:
            raise FundsimError(f"fund {fund!r} has no banded layer with a threshold to change")
    if not names:
        raise FundsimError(f"fund {fund!r} pays no layer")
    return names


def _with_layers(scenario: Scenario, updates: dict[str, Layer]) -> Scenario:
    return scenario.model_copy(update={"layers": {**scenario.layers, **updates}})


def _map_ratios(lay: Layer, f: Callable[[float], float]) -> Layer:
    if lay.bands:
        bands = [Band(**{"from": b.from_yuan, "ratio": f(b.ratio)}) for b in lay.bands]
        return lay.model_copy(update={"bands": bands})
    by_level = {
        lvl: LevelRule(deductible=r.deductible, ratio=f(r.ratio)) for lvl, r in lay.by_level.items()
    }
    return lay.model_copy(update={"by_level": by_level})


def _ratios(scenario: Scenario, names: list[str]) -> list[float]:
    out: list[float] = []
    for n in names:
        lay = scenario.layers[n]
        out += (
            [b.ratio for b in lay.bands] if lay.bands else [r.ratio for r in lay.by_level.values()]
        )
    return out


def with_ratio_addon(
    scenario: Scenario, fund: str, addon: float, layer: str | None = None
) -> Scenario:
    """Every band ratio (or per-level ratio) of ``fund``'s layers (or of ``layer``) raised by
    ``addon``: ``min(max(r + addon, 0), 1)``. Preferential add-ons still apply on top."""
    names = _fund_layers(scenario, fund, layer)
    clip = lambda r: float(min(max(r + addon, 0.0), 1.0))  # noqa: E731
    return _with_layers(scenario, {n: _map_ratios(scenario.layers[n], clip) for n in names})


def with_ratio_scale(
    scenario: Scenario, fund: str, scale: float, layer: str | None = None
) -> Scenario:
    """Every band ratio (or per-level ratio) of ``fund``'s layers multiplied by ``scale``:
    ``min(max(scale * r, 0), 1)``."""
    names = _fund_layers(scenario, fund, layer)
    clip = lambda r: float(min(max(scale * r, 0.0), 1.0))  # noqa: E731
    return _with_layers(scenario, {n: _map_ratios(scenario.layers[n], clip) for n in names})


def current_threshold(scenario: Scenario, fund: str, layer: str | None = None) -> float:
    """The threshold (deductible) of the first banded layer of ``fund`` in the start year, yuan."""
    lay = scenario.layers[_fund_layers(scenario, fund, layer, need_bands=True)[0]]
    if lay.deductible is not None:
        return lay.deductible.at(scenario.start_year)
    return lay.bands[0].from_yuan


def with_threshold(
    scenario: Scenario, fund: str, threshold: float, layer: str | None = None
) -> Scenario:
    """``fund``'s banded layers (or ``layer``) with deductible ``threshold`` yuan in every year;
    band boundaries move with it (widths kept) and preferential multipliers apply to it."""
    if threshold < 0:
        raise FundsimError(f"a threshold must not be negative, found {threshold:g}")
    names = _fund_layers(scenario, fund, layer, need_bands=True)
    ded = Dated(scalar=float(threshold))
    return _with_layers(
        scenario, {n: scenario.layers[n].model_copy(update={"deductible": ded}) for n in names}
    )


@dataclass(frozen=True)
class _Benefit:
    quantity: str
    modify: Callable[[float], Scenario]
    start: float
    step: float
    lower: float
    upper: float
    increasing: bool
    xtol: float
    fd_step: float


def _solve_benefit(
    spec: _Benefit,
    scenario: Scenario,
    fund: str,
    target: Target,
    *,
    paths: int,
    seed: int,
    years: int | None,
    financing: float | None,
    basis: FinancingBasis | str,
    tier: str | None,
    runner: BlockRunner,
    levels: Sequence[float],
) -> Solution:
    _check_fund(scenario, fund)
    years = years if years is not None else scenario.funds[fund].contract.term_years
    plan = build_plan(scenario, years)
    pb = premium_basis(scenario, fund, basis=basis, tier=tier, plan=plan)
    contract = scenario.funds[fund].contract
    if ContractKind(contract.kind) is ContractKind.NONE:
        raise FundsimError(f"fund {fund!r} has no insurer (contract kind 'none'): nothing to price")
    samples: dict[float, ClaimsSample] = {}

    def sample_at(theta: float) -> ClaimsSample:
        key = float(theta)
        if key not in samples:
            res = run_engine(spec.modify(key), paths=paths, seed=seed, years=years, runner=runner)
            samples[key] = _sample_from_result(res, fund, pb, seed)
        return samples[key]

    def base_of(s: ClaimsSample) -> np.ndarray:
        if ContractKind(contract.kind) is ContractKind.COST_PLUS:
            return s.claims.sum(axis=1)
        return np.full(s.n_paths, float(s.premium(financing).sum()))

    def g(theta: float) -> float:
        s = sample_at(theta)
        return _objective(target, net_result(s, financing), base_of(s), s.w)

    root = solve_monotone(
        g,
        start=spec.start,
        step=spec.step,
        lower=spec.lower,
        upper=spec.upper,
        increasing=spec.increasing,
        xtol=spec.xtol,
        what=f"fund {fund!r}: {spec.quantity} for target {target}",
    )
    theta = root.x
    s = sample_at(theta)
    net = net_result(s, financing)
    base = base_of(s)
    claims_ph, cost_ph = s.expected_cost_per_head()
    common = dict(
        quantity=spec.quantity,
        value=theta,
        se_batch=None,
        target=target,
        achieved=_achieved(target, net, base, s.w),
        method="monte carlo",
        paths=paths,
        seed=seed,
        fund=fund,
        reference=spec.start,
        expected_claims_per_head=claims_ph,
        expected_cost_per_head=cost_ph,
        bound=root.bound,
        distribution=price_distribution(s, financing, levels=levels),
    )
    notes = (
        f"financing {'as in the scenario' if financing is None else f'{financing:g} yuan per head'}",
        *s.notes,
    )
    if root.bound:
        return Solution(
            se=float("nan"),
            slope=float("nan"),
            evaluations=len(samples),
            notes=(BOUND_NOTE.format(root.bound), *notes),
            **common,
        )
    hi = min(theta + spec.fd_step, spec.upper)
    lo = max(theta - spec.fd_step, spec.lower)
    s_hi, s_lo = sample_at(hi), sample_at(lo)
    dnet = (net_result(s_hi, financing) - net_result(s_lo, financing)) / (hi - lo)
    dbase = (base_of(s_hi) - base_of(s_lo)) / (hi - lo)
    if target.is_mean:
        se, slope = mean_target_se(target, net, dnet, base, dbase)
    else:
        se, slope = _benefit_loss_se(
            spec, target, theta, net, dnet, lambda t: sample_at(t), financing
        )
    return Solution(
        se=se,
        slope=slope,
        evaluations=len(samples),
        notes=(
            *notes,
            f"{len(samples)} engine runs of {paths} paths on seed {seed} (common random numbers)",
        ),
        **common,
    )


def _benefit_loss_se(
    spec: _Benefit,
    target: Target,
    theta: float,
    net: np.ndarray,
    dnet: np.ndarray,
    sample_at: Callable[[float], ClaimsSample],
    financing: float | None,
) -> tuple[float, float]:
    """``(SE, slope)`` of a loss-probability benefit solution: the sparsity ``2 d / |P(theta - d) -
    P(theta + d)|`` from engine runs at ``theta +- d`` on the same paths, the window ``d`` started
    from the linearised guess and doubled (at most 3 times) until at least ``max(4, h K)`` paths
    change between loss and profit (``h`` of :func:`loss_probability_bandwidth`)."""
    a, k = target.value, len(net)
    h = loss_probability_bandwidth(k, a)
    guess = abs(_linearised_sparsity(a, theta, net, dnet, increasing=spec.increasing)) * h
    d = max(spec.fd_step, guess if math.isfinite(guess) else spec.fd_step)
    dp = 0.0
    for _ in range(4):
        hi, lo = min(theta + d, spec.upper), max(theta - d, spec.lower)
        if hi <= lo:
            break
        p_hi = float(np.mean(net_result(sample_at(hi), financing) < 0))
        p_lo = float(np.mean(net_result(sample_at(lo), financing) < 0))
        dp = abs(p_hi - p_lo)
        if dp * k >= max(4.0, h * k):
            break
        d *= 2
    if dp == 0:
        return float("inf"), 0.0
    sparsity = (hi - lo) / dp
    slope = 1.0 / sparsity if spec.increasing else -1.0 / sparsity
    return quantile_se(a, k, sparsity), slope


def max_ratio_addon(
    scenario: Scenario,
    fund: str,
    target: Target | str | None = None,
    *,
    financing: float | None = None,
    layer: str | None = None,
    paths: int = 200,
    seed: int = 0,
    years: int | None = None,
    basis: FinancingBasis | str = FinancingBasis.SCALE,
    tier: str | None = None,
    runner: BlockRunner = in_process,
    levels: Sequence[float] = DEFAULT_LEVELS,
) -> Solution:
    """The highest uniform add-on to ``fund``'s ratios (:func:`with_ratio_addon`) at which the
    insurer still meets ``target`` at ``financing`` per head (None: the scenario's premium).
    Negative when the current ratios already miss the target. Each trial runs the engine on the
    same seed and paths (common random numbers): keep ``paths`` modest."""
    ratios = _ratios(scenario, _fund_layers(scenario, fund, layer))
    spec = _Benefit(
        "ratio_addon",
        lambda a: with_ratio_addon(scenario, fund, a, layer),
        start=0.0,
        step=0.02,
        lower=-max(ratios),
        upper=1.0 - min(ratios),
        increasing=False,
        xtol=1e-4,
        fd_step=0.002,
    )
    return _solve_benefit(
        spec,
        scenario,
        fund,
        _target(target),
        paths=paths,
        seed=seed,
        years=years,
        financing=financing,
        basis=basis,
        tier=tier,
        runner=runner,
        levels=levels,
    )


def max_ratio_scale(
    scenario: Scenario,
    fund: str,
    target: Target | str | None = None,
    *,
    financing: float | None = None,
    layer: str | None = None,
    paths: int = 200,
    seed: int = 0,
    years: int | None = None,
    basis: FinancingBasis | str = FinancingBasis.SCALE,
    tier: str | None = None,
    runner: BlockRunner = in_process,
    levels: Sequence[float] = DEFAULT_LEVELS,
) -> Solution:
    """The highest factor on ``fund``'s ratios (:func:`with_ratio_scale`) meeting ``target``."""
    ratios = [r for r in _ratios(scenario, _fund_layers(scenario, fund, layer)) if r > 0]
    if not ratios:
        raise FundsimError(f"fund {fund!r}: every ratio is 0, there is nothing to scale")
    spec = _Benefit(
        "ratio_scale",
        lambda s: with_ratio_scale(scenario, fund, s, layer),
        start=1.0,
        step=0.05,
        lower=0.0,
        upper=1.0 / min(ratios),
        increasing=False,
        xtol=1e-4,
        fd_step=0.003,
    )
    return _solve_benefit(
        spec,
        scenario,
        fund,
        _target(target),
        paths=paths,
        seed=seed,
        years=years,
        financing=financing,
        basis=basis,
        tier=tier,
        runner=runner,
        levels=levels,
    )


def min_threshold(
    scenario: Scenario,
    fund: str,
    target: Target | str | None = None,
    *,
    financing: float | None = None,
    layer: str | None = None,
    paths: int = 200,
    seed: int = 0,
    years: int | None = None,
    basis: FinancingBasis | str = FinancingBasis.SCALE,
    tier: str | None = None,
    runner: BlockRunner = in_process,
    levels: Sequence[float] = DEFAULT_LEVELS,
    max_threshold: float = 1e7,
) -> Solution:
    """The lowest threshold of ``fund``'s banded layers (:func:`with_threshold`) meeting
    ``target`` at ``financing`` per head; searched in ``[0, max_threshold]`` yuan."""
    current = current_threshold(scenario, fund, layer)
    spec = _Benefit(
        "threshold",
        lambda t: with_threshold(scenario, fund, t, layer),
        start=current,
        step=max(0.1 * current, 500.0),
        lower=0.0,
        upper=max_threshold,
        increasing=True,
        xtol=1.0,
        fd_step=max(0.01 * current, 50.0),
    )
    return _solve_benefit(
        spec,
        scenario,
        fund,
        _target(target),
        paths=paths,
        seed=seed,
        years=years,
        financing=financing,
        basis=basis,
        tier=tier,
        runner=runner,
        levels=levels,
    )


# --------------------------------------------------------------------------- the report's table


def pricing_summary(scenario: Scenario, fund: str, result: SimulationResult) -> pd.DataFrame:
    """The pricing section's table for ``fund`` from an engine run (every year of the run is the
    pricing horizon): rows ``measure``, ``value``, ``se``, ``unit``. Empty for a fund with no
    insurer. Premium contracts: the scenario's financing and the insurer's result at it, expected
    claims and cost per head, break-even financing (and the gap: what the cap costs), financing
    for a 2% margin (if below the cap) and for a 10% probability of loss. Cost-plus: the
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
    if sample.contract.profit_cap_rate > 0.02:
        mg = financing_for_target_margin(sample, 0.02)
        rows.append(("financing for a 2% expected margin", mg.value, mg.se, "yuan per head"))
    lp = financing_for_loss_probability(sample, 0.1)
    rows.append(("financing for P(loss) <= 10%", lp.value, lp.se, "yuan per head"))
    rows.append(("paths for +-0.1 yuan (95%) on break-even", be.paths_needed(0.1), None, "paths"))
    return pd.DataFrame(rows, columns=cols)


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
