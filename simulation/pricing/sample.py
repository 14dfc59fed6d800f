"""A fund's claims on simulated paths (or on the exact law's grid), and their settlement at a bid.

:class:`ClaimsSample` holds the claims paid in yuan per path and year (with path weights for the
exact method); :func:`claims_sample`, :func:`simulate_claims` and :func:`exact_sample` make one.
:func:`settle_sample` re-settles every path under the contract at a financing per head (yuan per
head), giving yuan per path and settlement period; :func:`net_result` is the insurer's net result
per path over the horizon, yuan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.result import SimulationResult
from ..engine.run import BlockRunner, in_process
from ..engine.run import run as run_engine
from ..errors import FundsimError
from ..rules.contract import settle_paths, settlement_periods
from ..scenario.schema import Contract, ContractKind, Scenario
from .basis import FinancingBasis, PremiumBasis, _check_fund, premium_basis

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
    method: str = "full",
) -> ClaimsSample:
    """Run the engine for the pricing horizon (default: the contract's ``term_years``) and return
    ``fund``'s claims sample (``method``: see :func:`simulation.engine.run.run`)."""
    _check_fund(scenario, fund)
    years = years if years is not None else scenario.funds[fund].contract.term_years
    result = run_engine(scenario, paths=paths, seed=seed, years=years, runner=runner, method=method)
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
    claims under old and new rules is not available); persons whose category changes within the year
    are approximated as the exact method's notes say. With systematic risk on, the law is the
    mixture over the year's factors (:mod:`simulation.engine.exact.mixture`; ``n_nodes`` and
    ``n_param_nodes`` among the options)."""
    from ..engine.exact.mixture import exact_mixture_distribution

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
    # under systematic risk: the mixture over the year's factors (the plain exact law when off)
    dist = exact_mixture_distribution(scenario, fund, year, **exact_options)
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


def settle_sample(
    sample: ClaimsSample, financing: float | None = None, contract: Contract | None = None
) -> dict[str, np.ndarray]:
    """Settle every path at ``financing`` per head: arrays (paths, periods), yuan, keyed
    :data:`SETTLED_KEYS`, one column per :func:`settlement_periods` period.

    The settlement is :func:`~simulation.rules.contract.settle_paths` by period (the engine's and
    the cash-flow model's): per period :func:`~simulation.rules.contract.settle_year` (annual) or
    :func:`~simulation.rules.contract.settle_term` on the claims and, where a rule change is in
    force, on the claims under the old rules; ``subsidy = policy_change_subsidy(R_new, R_old)`` is
    added to ``insurer_result`` and ``insurer_result_net``.
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
    pp = np.broadcast_to(premium, (k, n))
    settled = settle_paths(
        contract, pp, sample.claims, sample.claims_old if changed else None, by="period"
    )
    for j, (s, e) in enumerate(periods):
        out["premium"][:, j] = premium[s:e].sum()
        out["claims"][:, j] = sample.claims[:, s:e].sum(axis=1)
    for key in SETTLED_KEYS:
        if key not in ("premium", "claims"):
            out[key][:] = settled[key]
    return out


def net_result(
    sample: ClaimsSample, financing: float | None = None, contract: Contract | None = None
) -> np.ndarray:
    """The insurer's net result over the whole horizon on each path, yuan: ``sum`` over periods
    of ``insurer_result_net`` (after operating cost and subsidy)."""
    return settle_sample(sample, financing, contract)["insurer_result_net"].sum(axis=1)
