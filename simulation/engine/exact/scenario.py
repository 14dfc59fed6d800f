"""The exact method on a scenario: :func:`exact_claims_distribution`.

For one fund and one policy year: the engine's roster groups of the year become the method's inputs
(persons, expected claims per person in the year by claim type, level mix and count law), each
claim type's discretised costs are pushed through the cascade for every node of the in-policy
share, a person's payment law is computed from the compound annual sum, and the persons are summed
into an :class:`~simulation.engine.exact.result.ExactDistribution` (yuan). Also the automatic grid
step (a round number of yuan). "Module docstring" below means the package's,
:mod:`simulation.engine.exact` (model, order of steps, discretisation error).
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ...errors import FundsimError
from ...models.severity import cost_trend_factor, severity_from_config
from ...rules.layers import CompiledCascade, compile_cascade
from ...scenario.resolve import scenario_for_year
from ...scenario.schema import (
    CLAIM_TYPES,
    LEVELS,
    FrequencyKind,
    LevelSeverity,
    Scenario,
    Settlement,
)
from .cascade import CategoryPlan, category_plan, claim_amounts, person_payment
from .discrete import (
    ClaimLaw,
    GridSeverity,
    GridSplit,
    Masses,
    PersonLaw,
    aggregate_persons,
    beta_quadrature,
    compound_masses,
    discretise_severity,
    split_onto_grid,
)
from .result import CellSummary, ExactDistribution


@dataclass(frozen=True)
class _ClaimGrid:
    """One claim's tracked amount (and capped layers' payments) for one claim type and level."""

    masses: Masses
    far_values: NDArray[np.float64]
    far_weights: NDArray[np.float64]
    capped: dict[int, Masses]
    capped_lumped: dict[int, float]
    """Per capped layer: the mean lost by lumping payments beyond the grid on its end (yuan)."""


def _claim_grid(
    cc: CompiledCascade,
    plan: CategoryPlan,
    c: int,
    t: int,
    lv: int,
    cost_law: GridSeverity,
    cfg: LevelSeverity,
    step: float,
    n: int,
    n_share_nodes: int,
) -> _ClaimGrid:
    """Push the discretised cost and its far atom through :func:`claim_amounts` for every node of
    the in-policy share quadrature; split the results onto the grid (far results kept as atoms)."""
    cost = step * np.arange(n, dtype=np.float64)
    top = cost[-1]
    keep = np.flatnonzero(cost_law.masses > 0.0)
    nodes, weights = beta_quadrature(cfg.in_policy_mean, cfg.in_policy_sd, n_share_nodes)
    y = np.zeros(n)
    capped = {j: np.zeros(n) for j in plan.capped}
    lumped = dict.fromkeys(plan.capped, 0.0)
    far_v, far_w = [], []
    far_cost = np.array([cost_law.far_value])
    for s_i, w_i in zip(nodes, weights, strict=True):
        tracked, paid = claim_amounts(cc, plan, c, t, lv, cost[keep], float(s_i))
        y += split_onto_grid(tracked, w_i * cost_law.masses[keep], step, n)
        for j, u in paid.items():
            capped[j] += split_onto_grid(u, w_i * cost_law.masses[keep], step, n)
        if cost_law.far_weight > 0.0:
            w = w_i * cost_law.far_weight
            tracked, paid = claim_amounts(cc, plan, c, t, lv, far_cost, float(s_i))
            if tracked[0] <= top:
                y += split_onto_grid(tracked, w, step, n)
            else:
                far_v.append(float(tracked[0]))
                far_w.append(w)
            for j, u in paid.items():
                capped[j] += split_onto_grid(u, w, step, n)
                lumped[j] += w * max(float(u[0]) - top, 0.0)
    return _ClaimGrid(y, np.array(far_v), np.array(far_w), capped, lumped)


def _nice_ceil(x: float) -> float:
    """The smallest of 1, 2, 5 (times a power of ten) at least ``x``: a round grid step, so that
    deductibles and band limits (round amounts) fall on grid points, where rounding costs onto the
    grid does not bias what a layer pays."""
    e = math.floor(math.log10(x))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * 10.0**e >= x * (1.0 - 1e-12):
            return m * 10.0**e
    return 10.0 ** (e + 1)  # pragma: no cover


@dataclass(frozen=True)
class _CellInput:
    """Persons of one roster group (or one segment of a group changing category, approximated)
    who are paid as one category's persons for the whole year (module docstring)."""

    name: str
    group: str
    """Key of the roster group (several inputs share it for an approximated group)."""
    category: str
    code: int
    persons: int
    plan: CategoryPlan
    rates: dict[int, float]
    """Expected claims per person by claim type index (in the covered segments)."""
    mixes: dict[int, NDArray]
    """Hospital level mix by claim type index, shape (len(LEVELS),)."""
    kinds: dict[int, FrequencyKind]
    """Count law by claim type index."""
    dispersions: dict[int, float]
    """Negative binomial dispersion by claim type index (0 for Poisson)."""


def _carried(cc: CompiledCascade, plan: CategoryPlan, code: int, other: int) -> bool:
    """Whether claims in category ``other`` change what the fund pays on a person's claims in
    category ``code`` (``plan`` its plan): a layer before the fund's that covers both categories
    and settles on the year-to-date base (annual cumulative) or caps the person's cumulative
    payments (a finite annual cap for ``code``)."""
    upstream = (*plan.per_admission, *plan.annual)
    return any(
        cc.layers[j].covered[other]
        and (cc.layers[j].settlement is Settlement.ANNUAL_CUMULATIVE or j in plan.capped)
        for j in upstream
    )


def _group_inputs(
    scenario: Scenario,
    sc: Scenario,
    cc: CompiledCascade,
    plans: dict[int, CategoryPlan | None],
    year: int,
    with_changes: bool,
) -> tuple[list[_CellInput], list]:
    """The exact method's inputs from the engine's roster groups of ``year``
    (:func:`simulation.engine.plan.build_plan`), and the groups it approximates.

    Segments in a category the fund does not cover are dropped. A group whose remaining segments
    all have one category ``c`` is one input: its ``count`` persons in ``c`` with the expected
    claims of those segments, ``mean * sum of their seg_weights`` (a claim falls in a segment
    independently of the others, so the claims in them are the count thinned: Poisson, or negative
    binomial with the same dispersion, exactly), exact unless a dropped segment's claims carry into
    the fund's payments (:func:`_carried`). Any other group is approximated: one input per
    remaining segment, ``count`` persons with ``mean * seg_weights[s]`` expected claims in the
    segment's category.
    """
    from ..plan import build_plan  # the engine's plan (imports numba): only when needed

    if year < scenario.start_year:
        raise FundsimError(
            f"exact method: year {year} is before the scenario's start year {scenario.start_year}"
        )
    base = scenario if with_changes else sc
    run_plan = build_plan(base, years=year - scenario.start_year + 1)
    year_plan = next(y for y in run_plan.years if y.year == year)
    code_of = [list(cc.categories).index(name) for name in run_plan.categories]
    inputs: list[_CellInput] = []
    approximated = []
    for g in year_plan.groups:
        seg_code = [code_of[int(c)] for c in g.seg_category]
        kept = [s for s, c in enumerate(seg_code) if plans[c] is not None]
        if not kept or g.count <= 0:
            continue
        codes = {seg_code[s] for s in kept}
        dropped = {c for c in seg_code if plans[c] is None}
        first = seg_code[kept[0]]
        if len(codes) == 1 and not any(_carried(cc, plans[first], first, b) for b in dropped):
            parts = [(g.key, kept)]
        else:
            parts = [(f"{g.key}[{cc.categories[seg_code[s]]}]", [s]) for s in kept]
            approximated.append(g)
        for name, segs in parts:
            c = seg_code[segs[0]]
            rates, mixes, kinds, dispersions = {}, {}, {}, {}
            for cp in g.claims:
                t = cp.claim_type
                rates[t] = float(cp.mean * sum(cp.seg_weights[s] for s in segs))
                mixes[t] = np.diff(cp.level_cum[segs[0]], prepend=0.0)
                kinds[t] = FrequencyKind(cp.kind)
                negbin = kinds[t] is FrequencyKind.NEGATIVE_BINOMIAL
                dispersions[t] = float(cp.dispersion) if negbin else 0.0
            inputs.append(
                _CellInput(
                    name,
                    g.key,
                    cc.categories[c],
                    c,
                    int(g.count),
                    plans[c],
                    rates,
                    mixes,
                    kinds,
                    dispersions,
                )
            )
    return inputs, approximated


@functools.lru_cache(maxsize=64)
def _discretised(cfg: LevelSeverity, trend: float, step: float, n: int) -> GridSeverity:
    """One level's claim cost on the grid (depends on the severity's settings, the year's trend
    factor and the grid only): bounded cache (64 entries, a few MiB each at most) shared by
    every call, so a sweep over rules or financing discretises each severity once."""
    return discretise_severity(severity_from_config(cfg, trend_factor=trend), step, n)


class ExactCache:
    """A bounded cache of exact laws: what depends only on the scenario (never on a seed).

    Keyed by (the resolved scenario's JSON digest, fund, year and every argument of
    :func:`exact_claims_distribution`); holds at most ``maxsize`` results, dropping the least
    recently used (a Henan law is about 4 MiB). Pass one to ``cache=`` to share results between
    calls (a sweep, a report, the fast method's cross-check); :data:`DEFAULT_CACHE` (16 entries) is
    used unless ``cache=None``. Returned laws are shared: do not modify their arrays.
    """

    def __init__(self, maxsize: int = 16) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, found {maxsize}")
        self.maxsize = maxsize
        self._items: OrderedDict[tuple, ExactDistribution] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def scenario_key(scenario: Scenario) -> str:
        """A digest of the resolved scenario (every value, rules and changes included)."""
        return hashlib.sha256(scenario.model_dump_json().encode()).hexdigest()

    def get(self, key: tuple) -> ExactDistribution | None:
        value = self._items.get(key)
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        self._items.move_to_end(key)
        return value

    def put(self, key: tuple, value: ExactDistribution) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


DEFAULT_CACHE = ExactCache(16)
"""The cache :func:`exact_claims_distribution` uses by default (bounded: 16 laws)."""

_DEFAULT = object()


def exact_claims_distribution(
    scenario: Scenario,
    fund: str,
    year: int,
    *,
    cache: ExactCache | None = _DEFAULT,  # type: ignore[assignment]
    **options: object,
) -> ExactDistribution:
    """The exact law of fund ``fund``'s total claims paid in ``year``: :func:`compute_exact`
    (every keyword there), through ``cache`` (default :data:`DEFAULT_CACHE`; ``None``: no cache).

    The result depends only on the scenario and the arguments, so a repeated call returns the
    cached law (about 1 ms instead of about 1 s for Henan)."""
    store = DEFAULT_CACHE if cache is _DEFAULT else cache
    if store is None:
        return compute_exact(scenario, fund, year, **options)  # type: ignore[arg-type]
    key = (ExactCache.scenario_key(scenario), fund, int(year), tuple(sorted(options.items())))
    hit = store.get(key)
    if hit is None:
        hit = compute_exact(scenario, fund, year, **options)  # type: ignore[arg-type]
        store.put(key, hit)
    return hit


def compute_exact(
    scenario: Scenario,
    fund: str,
    year: int,
    *,
    step: float | None = None,
    n_grid: int = 2**16,
    n_aggregate: int = 2**18,
    n_share_nodes: int = 16,
    k_sd: float = 12.0,
    tail_tolerance: float = 1e-6,
    cap_tolerance: float = 1e-3,
    with_changes: bool = True,
) -> ExactDistribution:
    """The exact law of fund ``fund``'s total claims paid in ``year`` (module docstring).

    - ``step``: the per-claim and per-person grid step, yuan; by default the smallest round step
      (1, 2 or 5 times a power of ten, so round deductibles and band limits fall on grid points)
      whose grid of ``n_grid`` points leaves beyond its end at most ``tail_tolerance`` of every
      cell's expected claim costs (and reaches 20 standard deviations of the annual sum).
    - ``n_grid``: points of the per-claim grid (the per-person grid has twice as many). The error
      of expected amounts from rounding is of order ``step**2``: double ``n_grid`` (halving the
      automatic step) and compare to estimate it.
    - ``n_aggregate``, ``k_sd``: points and half-width (standard deviations) of the window of the
      total (see :func:`aggregate_persons`).
    - ``n_share_nodes``: quadrature nodes for the in-policy share.
    - ``cap_tolerance``: largest accepted bound on the relative error of the expected claims from
      applying the annual caps of per-admission layers before the fund's claim by claim.
    - ``with_changes``: apply the scenario's rule changes in force in ``year``.

    The persons are the engine's roster groups of ``year`` (entrants and exits covered part of
    the year); groups changing between categories the fund covers are approximated per segment
    (module docstring; ``notes`` says how many persons).
    """
    if fund not in scenario.funds:
        raise FundsimError(
            f"fund {fund!r} is not in the scenario; funds: {', '.join(scenario.funds)}"
        )
    sc = scenario_for_year(scenario, year, with_changes=with_changes)
    cc = compile_cascade(sc, year)
    categories = list(cc.categories)
    notes: list[str] = []

    plans = {c: category_plan(cc, fund, c) for c in range(len(categories))}
    fractional = [
        cname
        for cname, cell in sc.population.cells.items()
        if abs(float(cell.count.at(year)) - round(float(cell.count.at(year)))) > 1e-9
    ]
    if fractional:
        notes.append(f"cell counts rounded to whole persons: {', '.join(fractional)}")
    cells, approximated = _group_inputs(scenario, sc, cc, plans, year, with_changes)
    if approximated:
        n_approx = sum(g.count for g in approximated)
        notes.append(
            f"{n_approx:,} persons ({len(approximated)} roster groups) change category within the "
            "year: approximated as independent persons per segment, each with that segment's "
            "claims in its category (first order: exact in mean for per-admission layers "
            "without annual caps, exact for a person with claims in one segment only; the annual "
            "cumulative base, caps carried across the change and the dependence of negative "
            "binomial counts between segments are ignored)"
        )

    # severities by claim type and level
    severities = {}
    trends: dict[int, float] = {}
    for t, ct in enumerate(CLAIM_TYPES):
        model = sc.claims.get(ct)
        if model is None:
            continue
        trend = cost_trend_factor(model.severity, sc.start_year, year)
        trends[t] = trend
        for lv_i, lv in enumerate(LEVELS):
            severities[t, lv_i] = (
                severity_from_config(model.severity.levels[lv], trend_factor=trend),
                model.severity.levels[lv],
            )

    h = float(step) if step is not None else _auto_step(cells, severities, n_grid, tail_tolerance)
    if not h > 0:
        raise FundsimError(f"exact method: the grid step must be positive, found {h!r}")
    n = int(n_grid)
    x_laws = {
        (t, lv): _discretised(cfg, trends[t], h, n) for (t, lv), (_sev, cfg) in severities.items()
    }
    claim_cache: dict[tuple, _ClaimGrid] = {}

    def per_level(plan: CategoryPlan, c: int, t: int, lv: int) -> _ClaimGrid:
        layers = [*plan.per_admission]
        if plan.target_per_admission is not None:
            layers.append(plan.target_per_admission)
        signature = tuple(
            (
                j,
                cc.layers[j].lower[c, lv].tobytes(),
                cc.layers[j].upper[c, lv].tobytes(),
                cc.layers[j].ratio[c, lv].tobytes(),
                float(cc.layers[j].cap[c]),
            )
            for j in layers
        )
        key = (plan, t, lv, signature)
        if key not in claim_cache:
            claim_cache[key] = _claim_grid(
                cc, plan, c, t, lv, x_laws[t, lv], severities[t, lv][1], h, n, n_share_nodes
            )
        return claim_cache[key]

    transforms: dict[tuple[int, int | None], NDArray[np.complex128]] = {}

    def transform(g: _ClaimGrid, j: int | None) -> NDArray[np.complex128]:
        """``rfft`` (length ``2 n``) of a per-level claim grid's masses (``j=None``) or of its
        capped layer ``j``'s payments, computed once: cells mix these linearly (the transform of
        a mixture is the mixture of the transforms), so a cell costs no FFT of its claims."""
        key = (id(g), j)
        if key not in transforms:
            transforms[key] = np.fft.rfft(g.masses if j is None else g.capped[j], 2 * n)
        return transforms[key]

    payment_split: dict[int, GridSplit] = {}  # by category: the payment at each annual sum
    s_grid = h * np.arange(2 * n, dtype=np.float64)

    def person_law(cell: _CellInput) -> tuple[PersonLaw, float, float, float, float]:
        """A person's payment law, its mean and variance, the far atoms' mean and the bound on
        the ignored per-admission caps, all per person."""
        plan, c = cell.plan, cell.code
        laws: list[ClaimLaw] = []
        far_v: list[NDArray] = []
        far_w: list[NDArray] = []
        cap_laws: dict[int, list[ClaimLaw]] = {j: [] for j in plan.capped}
        cap_lumped = dict.fromkeys(plan.capped, 0.0)
        for t, m in cell.rates.items():
            if m <= 0.0:
                continue
            kind, disp = cell.kinds[t], cell.dispersions[t]
            mix = cell.mixes[t]
            grids = {lv: per_level(plan, c, t, lv) for lv in range(len(LEVELS)) if mix[lv] > 0.0}
            if t in plan.claim_types:
                phi = sum(mix[lv] * transform(g, None) for lv, g in grids.items())
                laws.append(
                    ClaimLaw(sum(mix[lv] * g.masses for lv, g in grids.items()), m, kind, disp, phi)
                )
                far_v += [g.far_values for g in grids.values()]
                far_w += [m * mix[lv] * g.far_weights for lv, g in grids.items()]
            for j in plan.capped:
                if cc.layers[j].claim_types[t]:
                    u = sum(mix[lv] * g.capped[j] for lv, g in grids.items())
                    phi = sum(mix[lv] * transform(g, j) for lv, g in grids.items())
                    cap_laws[j].append(ClaimLaw(u, m, kind, disp, phi))
                    cap_lumped[j] += m * sum(
                        mix[lv] * g.capped_lumped[j] for lv, g in grids.items()
                    )
        s = compound_masses(laws, n)
        if c not in payment_split:
            payment_split[c] = GridSplit(person_payment(cc, plan, c, fund, s_grid), h, 2 * n)
        q = payment_split[c](s)
        atoms_v = np.zeros(0)
        atoms_w = np.zeros(0)
        if far_v:
            # one far claim, plus the mean of the person's other claims (first order)
            s_mean = float(np.dot(s_grid, s) / s.sum())
            values = np.concatenate(far_v)
            weights = np.concatenate(far_w)
            paid = person_payment(cc, plan, c, fund, values + s_mean)
            inside = paid <= s_grid[-1]
            q += split_onto_grid(paid[inside], weights[inside], h, 2 * n)
            atoms_v, atoms_w = paid[~inside], weights[~inside]
        law = PersonLaw(q, atoms_v, atoms_w)
        mean_c, var_c = law.moments(h)
        excess_c = 0.0
        for j in plan.capped:
            u = compound_masses(cap_laws[j], n)
            cap = cc.layers[j].cap[c]
            excess_c += float(np.dot(np.maximum(s_grid - cap, 0.0), u)) + cap_lumped[j]
        return law, mean_c, var_c, float(np.dot(atoms_v, atoms_w)), excess_c

    law_cache: dict[tuple, tuple[PersonLaw, float, float, float, float]] = {}
    person_laws: list[PersonLaw] = []
    counts: list[int] = []
    summaries: list[CellSummary] = []
    by_group: dict[str, list[float]] = {}  # persons, mean and variance of a group's person
    far_mean = 0.0
    cap_excess = 0.0
    for cell in cells:
        key = (
            cell.code,
            tuple(
                (t, m, cell.mixes[t].tobytes(), cell.kinds[t], cell.dispersions[t])
                for t, m in sorted(cell.rates.items())
            ),
        )
        if key not in law_cache:
            law_cache[key] = person_law(cell)
        law, mean_c, var_c, far_c, excess_c = law_cache[key]
        far_mean += cell.persons * far_c
        cap_excess += cell.persons * excess_c
        person_laws.append(law)
        counts.append(cell.persons)
        summaries.append(CellSummary(cell.name, cell.category, cell.persons, mean_c, var_c))
        group = by_group.setdefault(cell.group, [cell.persons, 0.0, 0.0])
        group[1] += mean_c  # the segments of an approximated group are independent
        group[2] += var_c

    n_persons = sum(int(g[0]) for g in by_group.values())
    total_mean = sum(s.persons * s.mean for s in summaries)
    capped_names = sorted({cc.layer_names[j] for cell in cells for j in cell.plan.capped})
    if cap_excess > cap_tolerance * total_mean:
        raise FundsimError(
            f"exact method: the annual cap of per-admission layer(s) {', '.join(map(repr, capped_names))} "
            f"is not applied; it may change fund {fund!r}'s expected claims in {year} by up to "
            f"{cap_excess:,.0f} yuan ({cap_excess / max(total_mean, 1e-300):.3%} of "
            f"{total_mean:,.0f}), above cap_tolerance={cap_tolerance:g}; raise cap_tolerance to "
            "accept the approximation or use the Monte Carlo engine"
        )
    if capped_names and cap_excess > 0:
        notes.append(
            f"annual caps of per-admission layer(s) {', '.join(capped_names)} not applied "
            f"(bound on the error of the expected claims: {cap_excess:,.2f} yuan)"
        )
    agg = aggregate_persons(person_laws, counts, h, n_aggregate=n_aggregate, k_sd=k_sd)
    if n_persons:
        pp_mean = total_mean / n_persons
        second = sum(p * (v + m**2) for p, m, v in by_group.values()) / n_persons
        pp_var = max(second - pp_mean**2, 0.0)
    else:
        pp_mean = pp_var = 0.0
    return ExactDistribution(
        fund=fund,
        year=int(year),
        x=agg.x,
        p=agg.p,
        step=agg.step,
        person_step=h,
        n_persons=n_persons,
        per_person_mean=pp_mean,
        per_person_var=pp_var,
        cells=tuple(summaries),
        method=agg.method,
        far_mass=agg.far_mass,
        far_mean=far_mean,
        ignored_cap_bound=cap_excess,
        rebin_variance=agg.rebin_variance,
        notes=tuple(notes),
    )


def _auto_step(
    cells: Sequence[_CellInput], severities: dict, n_grid: int, tolerance: float
) -> float:
    """The grid step: ``L / (n_grid - 1)`` rounded up to a round number, where ``L`` is the
    smallest length such that for every cell ``sum_t m_t E[(X_t - L)+] <= tolerance sum_t m_t E[X_t]``
    (the claims' mean left beyond the grid) and ``L >= E[S] + 20 sd(S)`` (the annual sum's bulk)."""
    candidates = np.geomspace(1.0, 1e13, 1301)
    lost = {}
    moments = {}
    for key, (sev, _cfg) in severities.items():
        mean = float(sev.mean())
        lost[key] = np.maximum(mean - np.asarray(sev.limited_expectation(candidates)), 0.0)
        moments[key] = (mean, float(sev.var()) + mean * mean)
    length = 0.0
    for cell in cells:
        lost_c = np.zeros_like(candidates)
        base_c = 0.0
        mean_s = var_s = 0.0
        for t, m in cell.rates.items():
            mix = cell.mixes[t]
            e1 = sum(mix[lv] * moments[t, lv][0] for lv in range(len(LEVELS)))
            e2 = sum(mix[lv] * moments[t, lv][1] for lv in range(len(LEVELS)))
            lost_c += m * sum(mix[lv] * lost[t, lv] for lv in range(len(LEVELS)))
            base_c += m * e1
            mean_s += m * e1
            var_s += m * e2 + cell.dispersions[t] * m * m * e1 * e1
        ok = np.flatnonzero(lost_c <= tolerance * base_c)
        tail_len = candidates[ok[0]] if ok.size else candidates[-1]
        length = max(length, tail_len, mean_s + 20.0 * math.sqrt(var_s))
    if length <= 0.0:
        return 1.0
    return _nice_ceil(length / (n_grid - 1))
