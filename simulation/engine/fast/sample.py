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
from ..result import SimulationResult
from ..simulate import measure_shapes
from ..streams import BLOCK_PATHS, n_blocks, stream
from .moments import Basis, ClaimTables, PersonInput, claim_tables, person_moments

N_GRID = 2**13
"""Points of the per-claim grid of the fast method's moments (the annual base has twice as many);
claims beyond it are far atoms (first order, exact in mean and variance for layers affine there)."""
STEP_TOLERANCE = 1e-4
"""The grid reaches the cost beyond which at most this fraction of a level's expected cost lies."""
MIN_CLAIMANTS = 200.0
"""Validity: every fund paying a category must have at least this many expected beneficiaries
there in every simulated year (the normal approximation of a sum of that many persons' payments)."""


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
    while h > 1.0 and any(abs(k / h - round(k / h)) > 1e-9 for k in kinks):
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


def _severities(scenario: Scenario, year: int, cost: float) -> dict[tuple[int, int], tuple]:
    sc = scenario_for_year(scenario, year)
    out = {}
    for t, ct in enumerate(CLAIM_TYPES):
        model = sc.claims.get(ct)
        if model is None:
            continue
        trend = cost_trend_factor(model.severity, sc.start_year, year)
        for lv, name in enumerate(LEVELS):
            cfg = model.severity.levels[name]
            out[t, lv] = (severity_from_config(cfg, trend_factor=trend * cost), cfg)
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
        self._levels: dict[tuple, tuple[dict, dict]] = {}

    def step(self, cost: float) -> float:
        """The grid step at cost multiplier ``cost`` (sets the number of points, :func:`_step`)."""
        if cost not in self._step:
            h, points = _step(self.yp, cost, self.n_min)
            self._step[cost] = h
            self.n = max(self.n, points)
        return self._step[cost]

    def claims(self, cost: float, c: int, step: float) -> ClaimTables:
        key = (cost, c, step, self.n)
        if key not in self._claims:
            if (cost, step, self.n) not in self._levels:
                sev = _severities(self.plan.scenario, self.yp.year, cost)
                self._levels[cost, step, self.n] = (sev, {})
            sev, shared = self._levels[cost, step, self.n]
            self._claims[key] = claim_tables(
                self.yp.cascade,
                self.yp.cascade_old,
                c,
                sev,
                self.fund_index,
                step,
                self.n,
                level_cache=shared,
            )
        return self._claims[key]

    def _claimant_scale(self, gi: int, freq: float) -> float:
        """For a group entered as several persons (one per category), the ratio of its persons'
        probability of a claim (from the whole year's counts, exact) to the sum of the parts'."""
        parts = [p for g, _s, _c, _cat, p in self.inputs if g == gi]
        if len(parts) <= 1:
            return 1.0

        def p0(rates: dict[int, float], person: PersonInput) -> float:
            return math.prod(
                float(np.real(count_pgf(np.array([0.0]), m * freq, person.kinds[t],
                                        person.dispersions[t] if person.kinds[t] is FrequencyKind.NEGATIVE_BINOMIAL else 0.0)[0]))
                for t, m in rates.items() if m > 0
            )  # fmt: skip

        total = {t: sum(p.rates[t] for p in parts) for t in parts[0].rates}
        whole = 1.0 - p0(total, parts[0])
        split = sum(1.0 - p0(p.rates, p) for p in parts)
        return whole / split if split > 0 else 1.0

    def moments(self, freq: float, cost: float, step: float | None = None) -> list[CategoryMoments]:
        """Per start category: the totals' moments with every expected claim count multiplied by
        ``freq`` and every claim cost by ``cost``."""
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
        return [CategoryMoments(mean[c], cov[c], ben[c]) for c in range(nc)]


def _sqrt_psd(cov: NDArray) -> NDArray:
    """A square root ``A`` with ``A A' = cov`` (negative eigenvalues from rounding set to 0)."""
    w, v = np.linalg.eigh(0.5 * (cov + cov.T))
    return v * np.sqrt(np.clip(w, 0.0, None))


def check_validity(plan: RunPlan, y: int, per_cat: list[CategoryMoments]) -> None:
    """Refuse (one line) when a fund that pays something in year index ``y`` has fewer than
    :data:`MIN_CLAIMANTS` expected beneficiaries (the validity condition of :mod:`..fast`)."""
    nl = len(plan.layers)
    ben = sum(m.beneficiaries for m in per_cat)
    paid = sum(m.mean[:nl] for m in per_cat)
    for f, fund in enumerate(plan.funds):
        layers = [j for j in range(nl) if plan.layer_fund[j] == f]
        if sum(paid[j] for j in layers) > 0 and ben[f] < MIN_CLAIMANTS:
            raise FundsimError(
                f"fast method: fund {fund!r} has {ben[f]:,.0f} expected beneficiaries in "
                f"{plan.years[y].year}, fewer than {MIN_CLAIMANTS:,.0f} (the normal approximation "
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


def uniform_factors(
    freq: NDArray | None, cost: NDArray | None, paths: int, n_years: int
) -> tuple[NDArray, NDArray]:
    """The factors as one frequency and one cost multiplier per (path, year).

    ``freq``/``cost``: ``None`` (off: 1) or arrays of the factor contract's shape ``(paths, years,
    claim types, levels, cells)`` (size-1 axes broadcast). The fast method needs each path-year's
    multiplier to be the same for every claim type, level and cell; otherwise it refuses."""
    out = []
    for name, a in (("frequency", freq), ("cost", cost)):
        if a is None:
            out.append(np.ones((paths, n_years)))
            continue
        a = np.asarray(a, dtype=np.float64)
        a = a.reshape(a.shape[:2] + (-1,))
        if not np.all(a == a[:, :, :1]):
            raise FundsimError(
                f"fast method: the {name} factor differs between claim types, hospital levels or "
                "cells within a path-year; the fast method needs one multiplier per path-year: use "
                "method 'full'"
            )
        out.append(np.broadcast_to(a[:, :, 0], (paths, n_years)).copy())
    return out[0], out[1]


def _grid(values: NDArray, points: int) -> NDArray:
    """Grid of multipliers covering ``values`` (geometric; one point when they are all equal)."""
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo * (1 + 1e-12):
        return np.array([lo])
    pad = 0.02 * math.log(hi / lo)
    return np.exp(np.linspace(math.log(lo) - pad, math.log(hi) + pad, points))


def _lagrange_weights(grid: NDArray, q: NDArray) -> tuple[NDArray, NDArray]:
    """Indices ``(len(q), k)`` and weights of local Lagrange interpolation in ``log`` of the grid
    (cubic: 4 points, fewer on small grids)."""
    g = np.log(grid)
    x = np.log(q)
    k = min(4, len(g))
    if k == 1:
        return np.zeros((len(q), 1), dtype=np.intp), np.ones((len(q), 1))
    i = np.clip(np.searchsorted(g, x) - k // 2, 0, len(g) - k)
    idx = i[:, None] + np.arange(k)
    nodes = g[idx]
    w = np.ones((len(q), k))
    for a in range(k):
        for b in range(k):
            if a != b:
                w[:, a] *= (x - nodes[:, b]) / (nodes[:, a] - nodes[:, b])
    return idx, w


def run_fast(
    scenario: Scenario,
    paths: int = 1000,
    seed: int = 0,
    years: int | None = None,
    *,
    frequency: NDArray | None = None,
    cost: NDArray | None = None,
    grid_points: int = 4,
    progress: Callable[[int], None] | None = None,
) -> SimulationResult:
    """The fast method (see :mod:`simulation.engine.fast`): a result of the same type as
    :func:`simulation.engine.run.run`'s. ``frequency``/``cost``: the systematic factors drawn for
    paths ``0 .. paths - 1`` (the factor contract's arrays; ``None``: off)."""
    from ..run import RunInfo, check_paths, settle

    check_paths(paths)
    t0 = time.perf_counter()
    plan = build_plan(scenario, years)
    n_years = len(plan.years)
    freq, cst = uniform_factors(frequency, cost, paths, n_years)
    tables = [YearTables(plan, y) for y in range(n_years)]
    basis = tables[0].basis
    nc = len(plan.categories)
    shapes = measure_shapes(plan)
    out = {name: np.zeros((paths, n_years, w)) for name, w in shapes.items()}
    for name in ("catastrophic",):
        out[name][:] = np.nan
    out["category_catastrophic"][:] = np.nan
    for y, tab in enumerate(tables):
        fgrid = _grid(freq[:, y], grid_points)
        cgrid = _grid(cst[:, y], grid_points)
        h = tab.step(float(cgrid.max()))
        # moments at every grid point: means (interpolated) and square roots (nearest point)
        means = np.zeros((len(fgrid), len(cgrid), nc, basis.size))
        roots = np.zeros((len(fgrid), len(cgrid), nc, basis.size, basis.size))
        for i, fv in enumerate(fgrid):
            for j, cv in enumerate(cgrid):
                per_cat = tab.moments(float(fv), float(cv), h)
                check_validity(plan, y, per_cat)
                for c, m in enumerate(per_cat):
                    means[i, j, c] = m.mean
                    roots[i, j, c] = _sqrt_psd(m.cov)
        fi, fw = _lagrange_weights(fgrid, freq[:, y])
        ci, cw = _lagrange_weights(cgrid, cst[:, y])
        mu = np.einsum("pa,pb,pabcd->pcd", fw, cw, means[fi[:, :, None], ci[:, None, :]])
        near_f = np.abs(np.log(fgrid)[None, :] - np.log(freq[:, y])[:, None]).argmin(axis=1)
        near_c = np.abs(np.log(cgrid)[None, :] - np.log(cst[:, y])[:, None]).argmin(axis=1)
        for c, cat in enumerate(plan.categories):
            if not np.any(means[:, :, c]):
                continue
            for b in range(n_blocks(paths)):
                rows = slice(b * BLOCK_PATHS, min((b + 1) * BLOCK_PATHS, paths))
                z = stream(seed, b, plan.years[y].year, f"fast/{cat}").standard_normal(
                    (BLOCK_PATHS, basis.size)
                )[: rows.stop - rows.start]
                a = roots[near_f[rows], near_c[rows], c]
                x = mu[rows, c] + np.einsum("pij,pj->pi", a, z)
                _assemble(plan, basis, y, x, out, rows, c)
        if progress is not None:
            progress(0)
    t1 = time.perf_counter()
    money = settle(plan, out)
    t2 = time.perf_counter()
    info = RunInfo(
        seed=seed,
        paths=paths,
        years=n_years,
        timings={"tables_and_draws_s": t1 - t0, "settle_s": t2 - t1},
        runner="fast method (conditional normal given the factors)",
    )
    return SimulationResult(plan=plan, sims=out, money=money, info=info)
