"""The fast method's run: conditional moments by category, their interpolation over the factors,
normal draws of the year totals, then the full engine's contracts and balances.

:func:`run_fast` returns the same :class:`~simulation.engine.result.SimulationResult` as
:func:`simulation.engine.run.run` (``sims`` with the same measures and shapes, settled by
:func:`simulation.engine.run.settle`), so every summary, output file, report and pricing step reads
it unchanged. See :mod:`simulation.engine.fast` for the method and where it holds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ...errors import FundsimError
from ...models.severity import cost_trend_factor, severity_from_config
from ...scenario.resolve import scenario_for_year
from ...scenario.schema import CLAIM_TYPES, LEVELS, FrequencyKind, Scenario
from ..exact.discrete import count_pgf
from ..exact.scenario import _nice_ceil
from ..plan import RunPlan, YearPlan, build_plan
from ..result import RunInfo, SimulationResult
from ..settle import check_paths, settle
from ..simulate import measure_shapes
from ..streams import BLOCK_PATHS, n_blocks, stream
from .moments import Basis, ClaimTables, PersonInput, claim_tables, person_moments

N_GRID = 2**13
"""Points of the per-claim grid of the fast method's moments (the annual base has twice as many);
claims beyond it are far atoms (first order, exact in mean and variance for layers affine there)."""
MAX_GRID = 2**13
"""Most points a kink-aligned grid may take: the step is refined to put band limits on grid points
only while the grid stays this small; a band limit left off the grid (an indexed deductible such
as 1,516.4 yuan, or a round one the coarse step misses) biases the mean by order ``step**2`` at
that kink. Measured on Henan (1,000 paths, one year): against a refinement to 2**16 points (step
50 yuan) the coarse grid (step 200-500 yuan) moved the fund claims' means by at most 0.004 and the
beneficiary counts' by 0.022 of their path SD, the SDs by under 0.1%, for a third of the CPU time."""
STEP_TOLERANCE = 1e-4
"""The grid reaches the cost beyond which at most this fraction of a level's expected cost lies."""
MIN_CLAIMANTS = 10_000.0
"""Validity: every fund that pays something must have at least this many expected beneficiaries
in every simulated year (the normal approximation of its year total). Measured: at about 2,700
(a 100,000-person county's serious illness fund, uncapped spliced GPD tail) the normal 99.5%
quantile fell below the full engine's order-statistic bound (1,000 paths); the mean, sd, 5-95%
quantiles agreed. A prefecture (1 M persons: 27,000) and Henan (5 M) pass."""


@dataclass(frozen=True)
class CategoryMoments:
    """The year totals of one start category's persons given the factors: mean and covariance of
    the basis vector summed over the category's groups (yuan, counts)."""

    mean: NDArray[np.float64]
    cov: NDArray[np.float64]
    beneficiaries: NDArray[np.float64]
    """Expected beneficiaries by fund."""


def _smaller_nice(h: float) -> float:
    """The next round step below ``h`` (1, 2, 5 times a power of ten)."""
    e = math.floor(math.log10(h) + 1e-9)
    m = round(h / 10.0**e)
    return {1: 0.5, 2: 1.0, 5: 2.0}.get(m, 1.0) * 10.0**e


def _kinks(yp: YearPlan) -> list[float]:
    """The annual layers' band limits (yuan of the annual base): where their payments bend."""
    out = set()
    for casc in (yp.cascade, yp.cascade_old):
        if casc is None:
            continue
        for layer in casc.layers:
            if layer.settlement.value != "annual_cumulative":
                continue
            for a in (layer.lower, layer.upper):
                v = a[np.isfinite(a) & (a > 0)]
                out.update(float(x) for x in np.unique(v))
    return sorted(out)


def _step(plan_year: YearPlan, cost_multiplier: float, n: int) -> tuple[float, int]:
    """The grid ``(step, points)``: a round step (1, 2, 5 times a power of ten) that divides every
    band limit of the annual layers (so their kinks fall on grid points, where the mean-preserving
    splits cost nothing: off the grid a kink biases the mean by order ``step**2``), with at least
    ``n`` points reaching the cost beyond which at most :data:`STEP_TOLERANCE` of each level's
    expected cost lies (at the largest cost multiplier); the points are a power of two."""
    candidates = np.geomspace(1.0, 1e12, 1201)
    length = 1.0
    for by_level in plan_year.severities:
        for sev in by_level:
            mean = float(sev.mean()) * cost_multiplier
            lost = mean - cost_multiplier * np.asarray(
                sev.limited_expectation(candidates / cost_multiplier)
            )
            ok = np.flatnonzero(lost <= STEP_TOLERANCE * mean)
            length = max(length, candidates[ok[0]] if ok.size else candidates[-1])
    h = _nice_ceil(length / (n - 1))
    kinks = _kinks(plan_year)
    while (
        h > 1.0
        and length / _smaller_nice(h) + 1 <= MAX_GRID
        and any(abs(k / h - round(k / h)) > 1e-9 for k in kinks)
    ):
        h = _smaller_nice(h)
    points = max(n, 1 << math.ceil(math.log2(length / h + 1)))
    return h, points


def _inputs(plan: RunPlan, yp: YearPlan) -> list[tuple[int, int, int, int, PersonInput]]:
    """``(group index, start category, cell index, category, person)`` per group and category of
    its segments (a group changing category: one independent person per category, each with that
    category's segments' claims: the exact method's first-order treatment)."""
    cells = list(plan.scenario.population.cells)
    out = []
    for gi, g in enumerate(yp.groups):
        if g.count <= 0 or not g.claims:
            continue
        cats = [int(c) for c in g.seg_category]
        for c in dict.fromkeys(cats):
            segs = [s for s, sc in enumerate(cats) if sc == c]
            rates, mixes, kinds, disps = {}, {}, {}, {}
            for cp in g.claims:
                t = cp.claim_type
                rates[t] = float(cp.mean * sum(cp.seg_weights[s] for s in segs))
                # the level mix of the category's segments (the same for all its segments)
                mixes[t] = np.diff(cp.level_cum[segs[0]], prepend=0.0)
                kinds[t] = FrequencyKind(cp.kind)
                disps[t] = float(cp.dispersion)
            out.append(
                (
                    gi,
                    g.start_category,
                    cells.index(g.cell),
                    c,
                    PersonInput(rates, mixes, kinds, disps),
                )
            )
    return out


def _per_type(v: float | tuple[float, ...]) -> tuple[float, ...]:
    """A multiplier for every claim type (in the order of CLAIM_TYPES)."""
    return (float(v),) * len(CLAIM_TYPES) if np.ndim(v) == 0 else tuple(float(x) for x in v)


def _severities(
    scenario: Scenario, year: int, cost: tuple[float, ...]
) -> dict[tuple[int, int], tuple]:
    """Each claim type's and level's severity in ``year``, costs times ``cost[t]``."""
    sc = scenario_for_year(scenario, year)
    out = {}
    for t, ct in enumerate(CLAIM_TYPES):
        model = sc.claims.get(ct)
        if model is None:
            continue
        trend = cost_trend_factor(model.severity, sc.start_year, year)
        for lv, name in enumerate(LEVELS):
            cfg = model.severity.levels[name]
            out[t, lv] = (severity_from_config(cfg, trend_factor=trend * cost[t]), cfg)
    return out


class YearTables:
    """Conditional moments of one year's categories, computed on demand at factor values and kept
    (bounded by the grid the caller asks for)."""

    def __init__(self, plan: RunPlan, y: int, n: int = N_GRID) -> None:
        self.plan = plan
        self.yp = plan.years[y]
        self.basis = Basis(len(plan.layers), len(plan.funds))
        self.fund_index = {f: i for i, f in enumerate(plan.funds)}
        self.inputs = _inputs(plan, self.yp)
        self.n_min = n
        self.n = n
        self._claims: dict[tuple, ClaimTables] = {}
        self._step: dict[float, float] = {}
        self._levels: dict[tuple, dict] = {}
        self._g: dict[tuple, tuple] = {}

    def step(self, cost: float | tuple[float, ...]) -> float:
        """The grid step at cost multiplier ``cost`` (the largest of the claim types' is used; sets
        the number of points, :func:`_step`)."""
        cost = max(_per_type(cost))
        if cost not in self._step:
            h, points = _step(self.yp, cost, self.n_min)
            self._step[cost] = h
            self.n = max(self.n, points)
        return self._step[cost]

    def claims(self, cost: float | tuple[float, ...], c: int, step: float) -> ClaimTables:
        """Category ``c``'s :class:`ClaimTables` at cost multipliers ``cost`` (kept: bounded by
        the design points the caller evaluates)."""
        cost = _per_type(cost)
        key = (cost, c, step, self.n)
        if key not in self._claims:
            sev = _severities(self.plan.scenario, self.yp.year, cost)
            shared = self._levels.setdefault((step, self.n), {})
            self._claims[key] = claim_tables(
                self.yp.cascade,
                self.yp.cascade_old,
                c,
                sev,
                self.fund_index,
                step,
                self.n,
                level_cache=shared,
                g_cache=self._g,
            )
        return self._claims[key]

    def _claimant_scale(self, gi: int, freq: tuple[float, ...]) -> float:
        """For a group entered as several persons (one per category), the ratio of its persons'
        probability of a claim (from the whole year's counts, exact) to the sum of the parts'."""
        parts = [p for g, _s, _c, _cat, p in self.inputs if g == gi]
        if len(parts) <= 1:
            return 1.0

        def p0(rates: dict[int, float], person: PersonInput) -> float:
            return math.prod(
                float(np.real(count_pgf(np.array([0.0]), m * freq[t], person.kinds[t],
                                        person.dispersions[t] if person.kinds[t] is FrequencyKind.NEGATIVE_BINOMIAL else 0.0)[0]))
                for t, m in rates.items() if m > 0
            )  # fmt: skip

        total = {t: sum(p.rates[t] for p in parts) for t in parts[0].rates}
        whole = 1.0 - p0(total, parts[0])
        split = sum(1.0 - p0(p.rates, p) for p in parts)
        return whole / split if split > 0 else 1.0

    def moments(
        self,
        freq: float | tuple[float, ...],
        cost: float | tuple[float, ...],
        step: float | None = None,
    ) -> list[CategoryMoments]:
        """Per start category: the totals' moments with every expected claim count multiplied by
        ``freq`` and every claim cost by ``cost``."""
        freq, cost = _per_type(freq), _per_type(cost)
        h = self.step(cost) if step is None else step
        nc = len(self.plan.categories)
        d = self.basis.size
        mean = np.zeros((nc, d))
        cov = np.zeros((nc, d, d))
        memo: dict[tuple, tuple[NDArray, NDArray]] = {}
        for gi, start, _cell, c, person in self.inputs:
            key = (
                c,
                tuple(sorted(person.rates.items())),
                tuple(person.mixes[t].tobytes() for t in sorted(person.mixes)),
            )
            if key not in memo:
                memo[key] = person_moments(self.claims(cost, c, h), person, self.basis, freq)
            mu, second = memo[key]
            kappa = self._claimant_scale(gi, freq)
            if kappa != 1.0:  # a group split by category: its persons are claimants once
                k = self.basis.claimants
                mu, second = mu.copy(), second.copy()
                mu[k] *= kappa
                second[k, :] *= kappa
                second[:, k] *= kappa
                second[k, k] = mu[k]
            count = self.yp.groups[gi].count
            mean[start] += count * mu
            cov[start] += count * (second - np.outer(mu, mu))
        ben = mean[:, self.basis.beneficiaries]
        # the claims' tables of these multipliers are not needed again (a design point is
        # evaluated once): dropped, so memory stays at one design point's tables
        for key in [k for k in self._claims if k[0] == cost]:
            del self._claims[key]
        return [CategoryMoments(mean[c], cov[c], ben[c]) for c in range(nc)]


def _sqrt_psd(cov: NDArray) -> NDArray:
    """A square root ``A`` with ``A A' = cov`` (negative eigenvalues from rounding set to 0)."""
    w, v = np.linalg.eigh(0.5 * (cov + cov.T))
    return v * np.sqrt(np.clip(w, 0.0, None))


def check_validity(
    plan: RunPlan, y: int, per_cat: list[CategoryMoments], minimum: float = MIN_CLAIMANTS
) -> None:
    """Refuse (one line) when a fund that pays something in year index ``y`` has fewer than
    :data:`MIN_CLAIMANTS` expected beneficiaries (the validity condition of :mod:`..fast`)."""
    nl = len(plan.layers)
    ben = sum(m.beneficiaries for m in per_cat)
    paid = sum(m.mean[:nl] for m in per_cat)
    for f, fund in enumerate(plan.funds):
        layers = [j for j in range(nl) if plan.layer_fund[j] == f]
        if sum(paid[j] for j in layers) > 0 and ben[f] < minimum:
            raise FundsimError(
                f"fast method: fund {fund!r} has {ben[f]:,.0f} expected beneficiaries in "
                f"{plan.years[y].year}, fewer than {minimum:,.0f} (the normal approximation "
                "of its year total does not hold): use method 'full'"
            )


def _assemble(
    plan: RunPlan, basis: Basis, y: int, x: NDArray, out: dict[str, NDArray], rows: slice, c: int
) -> None:
    """Add a category's drawn basis vectors ``x`` (paths, d) into the run's measures."""
    nl = basis.n_layers
    new = x[:, basis.new]
    old = x[:, basis.old] if plan.years[y].cascade_old is not None else new
    fund_new = np.zeros((x.shape[0], len(plan.funds)))
    fund_old = np.zeros_like(fund_new)
    for j in range(nl):
        fund_new[:, plan.layer_fund[j]] += new[:, j]
        fund_old[:, plan.layer_fund[j]] += old[:, j]
    out["fund_claims"][rows, y] += fund_new
    out["fund_claims_old"][rows, y] += fund_old
    out["fund_beneficiaries"][rows, y] += x[:, basis.beneficiaries]
    out["layer_claims"][rows, y] += new
    out["category_claims"][rows, y, c] += fund_new.sum(axis=1)
    out["category_claimants"][rows, y, c] += x[:, basis.claimants]
    out["oop"][rows, y, 0] += x[:, basis.total_cost] - new.sum(axis=1)
    out["total_cost"][rows, y, 0] += x[:, basis.total_cost]
    out["admissions"][rows, y, 0] += x[:, basis.admissions]
    out["claimants"][rows, y, 0] += x[:, basis.claimants]


ERROR_BOUND = 0.25
"""Validity: the response surface's error on a fund-year mean, checked by direct evaluation at
the path-year farthest from the centre, must stay below this fraction of the year total's
process SD (else the method refuses)."""


def factor_logs(
    frequency: NDArray | None, cost: NDArray | None, paths: int, n_years: int
) -> NDArray:
    """The log multipliers ``(paths, years, 2 n_claim_types)`` (frequency, then cost, by claim
    type) from the factor contract's arrays ``(paths, years, claim types, levels, cells)``
    (``None``: off). The fast method needs a multiplier that is the same for every hospital level
    and cell; otherwise it refuses (one line)."""
    n_ct = len(CLAIM_TYPES)
    out = np.zeros((paths, n_years, 2 * n_ct))
    for k, (name, a) in enumerate((("frequency", frequency), ("cost", cost))):
        if a is None:
            continue
        a = np.asarray(a, dtype=np.float64)
        flat = a.reshape(a.shape[:3] + (-1,))
        if not np.all(flat == flat[..., :1]):
            raise FundsimError(
                f"fast method: the {name} factor differs between hospital levels or cells within "
                "a path-year and claim type; the fast method needs one multiplier per path-year "
                "and claim type: use method 'full'"
            )
        out[:, :, k * n_ct : (k + 1) * n_ct] = np.log(
            np.broadcast_to(flat[..., 0], (paths, n_years, n_ct))
        )
    return out


@dataclass(frozen=True)
class Surface:
    """A quadratic response surface of the category moments in the multipliers ``x`` (frequency
    then cost by claim type; additive amounts are exactly linear in a frequency multiplier and
    the annual layers nearly quadratic, so the multipliers themselves, not their logarithms):
    centre ``x0`` (mid-range over the paths), active dimensions ``dims`` with half-widths
    ``delta`` (half the range: the design spans every path's factors); per category the mean's
    value, gradient and Hessian at ``x0`` (interpolating the design points exactly), the
    covariance at ``x0`` and its gradient (linear)."""

    x0: NDArray
    dims: tuple[int, ...]
    delta: NDArray
    mean0: NDArray
    grad: NDArray
    hess: NDArray
    cov0: NDArray
    cov_grad: NDArray

    def mean(self, x: NDArray) -> NDArray:
        """``(paths, categories, d)`` means at multipliers ``x`` ``(paths, 2 n_ct)``."""
        u = (x - self.x0)[:, list(self.dims)]
        out = self.mean0[None] + np.einsum("pi,icd->pcd", u, self.grad)
        return out + 0.5 * np.einsum("pi,pj,ijcd->pcd", u, u, self.hess)

    def var_ratio(self, x: NDArray) -> NDArray:
        """``(paths, categories, d)``: the variances at ``x`` over those at ``x0`` (linear)."""
        u = (x - self.x0)[:, list(self.dims)]
        d0 = np.einsum("cdd->cd", self.cov0)
        dv = np.einsum("pi,icd->pcd", u, np.einsum("icdd->icd", self.cov_grad))
        # components with (numerically) no variance keep ratio 1; a linear model of a variance
        # over the factors' range stays within a factor 4 either way (clipped there)
        big = d0 > 1e-9 * np.max(d0, axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(big[None], (d0[None] + dv) / d0[None], 1.0)
        return np.clip(np.nan_to_num(r, nan=1.0), 0.25, 4.0)


def _surface(
    tab: YearTables, x: NDArray, h: float, plan: RunPlan, y: int, minimum: float = MIN_CLAIMANTS
) -> Surface:
    """Fit the :class:`Surface` of year ``y`` over the paths' multipliers ``x``: moments at the
    centre, at ``+-delta`` along each active dimension and at ``(+delta_i, +delta_j)`` for each
    pair (``1 + 2 k + k (k - 1) / 2`` evaluations for ``k`` active dimensions)."""
    n_ct = len(CLAIM_TYPES)
    x0 = 0.5 * (x.max(axis=0) + x.min(axis=0))
    dims = tuple(int(k) for k in np.flatnonzero(np.ptp(x, axis=0) > 1e-12))
    delta = np.array([max(0.5 * np.ptp(x[:, k]), 1e-3) for k in dims])

    def at(point: NDArray) -> tuple[NDArray, NDArray]:
        mult = point
        per_cat = tab.moments(tuple(mult[:n_ct]), tuple(mult[n_ct:]), h)
        check_validity(plan, y, per_cat, minimum)
        return np.stack([m.mean for m in per_cat]), np.stack([m.cov for m in per_cat])

    def shifted(*steps: tuple[int, float]) -> NDArray:
        p = x0.copy()
        for i, sgn in steps:
            p[dims[i]] += sgn * delta[i]
        return p

    m0, c0 = at(x0)
    k = len(dims)
    grad = np.zeros((k,) + m0.shape)
    hess = np.zeros((k, k) + m0.shape)
    cgrad = np.zeros((k,) + c0.shape)
    for i in range(k):
        mp, cp = at(shifted((i, 1.0)))
        mm, cm = at(shifted((i, -1.0)))
        grad[i] = (mp - mm) / (2 * delta[i])
        hess[i, i] = (mp + mm - 2 * m0) / delta[i] ** 2
        cgrad[i] = (cp - cm) / (2 * delta[i])
    for i in range(k):
        for j in range(i + 1, k):
            mij, _ = at(shifted((i, 1.0), (j, 1.0)))
            rest = mij - m0 - grad[i] * delta[i] - grad[j] * delta[j]
            rest -= 0.5 * (hess[i, i] * delta[i] ** 2 + hess[j, j] * delta[j] ** 2)
            hess[i, j] = hess[j, i] = rest / (delta[i] * delta[j])
    return Surface(x0, dims, delta, m0, grad, hess, c0, cgrad)


def _surface_error(tab: YearTables, surf: Surface, x: NDArray, h: float, plan: RunPlan) -> float:
    """The surface's error on the fund means at the path-year farthest from the centre (in
    half-widths), in units of the fund-year total's process SD there."""
    if not surf.dims:
        return 0.0
    u = (x - surf.x0)[:, list(surf.dims)] / surf.delta
    far = x[int(np.argmax((u * u).sum(axis=1)))]
    n_ct = len(CLAIM_TYPES)
    mult = far
    per_cat = tab.moments(tuple(mult[:n_ct]), tuple(mult[n_ct:]), h)
    nl = len(plan.layers)
    direct = sum(m.mean for m in per_cat)[:nl]
    sd = np.sqrt(np.diag(sum(m.cov for m in per_cat)))[:nl]
    model = surf.mean(far[None])[0].sum(axis=0)[:nl]
    ok = sd > 0
    return float(np.max(np.abs(model - direct)[ok] / sd[ok])) if ok.any() else 0.0


def run_fast(
    scenario: Scenario,
    paths: int = 1000,
    seed: int = 0,
    years: int | None = None,
    *,
    frequency: NDArray | None = None,
    cost: NDArray | None = None,
    progress: Callable[[int], None] | None = None,
    min_beneficiaries: float = MIN_CLAIMANTS,
) -> SimulationResult:
    """The fast method (see :mod:`simulation.engine.fast`): a result of the same type as
    :func:`simulation.engine.run.run`'s, with the same systematic factors path by path (drawn by
    :func:`simulation.engine.factors.draw_factors` when the scenario has them on).
    ``frequency``/``cost``: factor arrays to use instead (tests; the contract's shape).
    ``min_beneficiaries``: the validity threshold (lower it only to study the approximation)."""
    from ..factors import draw_factors

    check_paths(paths)
    t0 = time.perf_counter()
    plan = build_plan(scenario, years)
    n_years = len(plan.years)
    factors = None
    if frequency is None and cost is None and scenario.systematic.enabled:
        factors = draw_factors(plan, seed, range(paths))
        frequency, cost = factors.frequency, factors.cost
    mults = np.exp(factor_logs(frequency, cost, paths, n_years))
    basis = Basis(len(plan.layers), len(plan.funds))
    out = {name: np.zeros((paths, n_years, w)) for name, w in measure_shapes(plan).items()}
    out["catastrophic"][:] = np.nan
    out["category_catastrophic"][:] = np.nan
    errors = []
    for y in range(n_years):
        tab = YearTables(plan, y)  # one year's tables at a time: memory flat in years
        x = mults[:, y]
        h = tab.step(tuple(x.max(axis=0)[len(CLAIM_TYPES) :]))
        surf = _surface(tab, x, h, plan, y, min_beneficiaries)
        err = _surface_error(tab, surf, x, h, plan)
        errors.append(err)
        if err > ERROR_BOUND:
            raise FundsimError(
                f"fast method: its response surface over the factors is off by {err:.2f} process "
                f"SD of a fund-year total in {plan.years[y].year} (bound {ERROR_BOUND}): the factors "
                "spread too far for it; use method 'full'"
            )
        mu = surf.mean(x)
        scale = np.sqrt(surf.var_ratio(x))
        roots = [_sqrt_psd(c) for c in surf.cov0]
        for c, cat in enumerate(plan.categories):
            if not np.any(surf.cov0[c]) and not np.any(mu[:, c]):
                continue
            for b in range(n_blocks(paths)):
                rows = slice(b * BLOCK_PATHS, min((b + 1) * BLOCK_PATHS, paths))
                z = stream(seed, b, plan.years[y].year, f"fast/{cat}").standard_normal(
                    (BLOCK_PATHS, basis.size)
                )[: rows.stop - rows.start]
                draws = mu[rows, c] + scale[rows, c] * (z @ roots[c].T)
                _assemble(plan, basis, y, draws, out, rows, c)
        if progress is not None:
            progress(0)
    t1 = time.perf_counter()
    money = settle(plan, out)
    t2 = time.perf_counter()
    info = RunInfo(
        seed=seed,
        paths=paths,
        years=n_years,
        timings={
            "tables_and_draws_s": t1 - t0,
            "settle_s": t2 - t1,
            "surface_error_process_sd": max(errors),
        },
        runner="fast method (conditional normal given the factors)",
    )
    return SimulationResult(plan=plan, sims=out, money=money, info=info, factors=factors)
