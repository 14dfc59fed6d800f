"""Systematic factors: multipliers of frequency and cost common to every person of a path-year.

Given the factors, persons are independent (process risk); the factors themselves move a whole
fund-year (systematic risk). Everything the engine applies is a *reduced form*: per path ``p``,
policy year ``y``, claim type ``t``, hospital level ``l`` and cell ``c``, a multiplier
``frequency[p, y, t, l, c]`` of the expected number of claims and ``cost[p, y, t, l, c]`` of the
total cost per claim (the scale of the whole severity law; the in-policy share is unchanged).

Laws (scenario section ``[systematic]``, :class:`~simulation.scenario.schema.Systematic`):

- **level factor** (``[systematic.frequency.<claim type>]``, ``[systematic.cost.<claim type>]``):
  a standard normal driver ``X`` per group of cells (one group, or one per region or category)
  with correlation ``R`` between groups (``Z = L E``, ``L L' = R``; equicorrelation
  ``Z_g = sqrt(rho) C + sqrt(1 - rho) E_g``); persistence: stationary AR(1)
  ``X_0 = Z_0``, ``X_k = phi X_(k-1) + sqrt(1 - phi^2) Z_k`` (so ``corr(X_k, X_(k-1)) = phi``), or
  a random walk ``X_k = Z_0 + ... + Z_k``. Multiplier: lognormal ``exp(s X_k - s^2 / 2)`` with
  ``s^2 = log(1 + cv^2)`` (random walk: ``exp(s X_k - (k + 1) s^2 / 2)``), mean 1; or gamma with
  shape ``1 / cv^2``, mean 1, by the Gaussian copula ``G^-1(Phi(X_k))`` (so with ``phi = 0`` a
  Poisson count mixed by it is negative binomial). **Uncertain trend**: ``delta ~ Normal(0,
  trend_sd)`` once per path, multiplier ``exp(delta k)`` (``k`` the policy year's index from the
  scenario's start year): the stated trend is the median.
- **named event** (``[systematic.events.<name>]``): occurs in each policy year with
  ``probability``; multiplies frequency and cost by its effects by claim type and level.
- **parameter uncertainty** (``[systematic.parameters.<claim type>]``): ``theta ~ Normal(0, C)``
  once per path on the log scale of the fitted parameters; frequency multiplier
  ``exp(theta_rate)``, cost multiplier of level ``l`` ``exp(theta_mean_l)`` in every year.

- **demand response to benefits** (``[systematic.demand_response]``, default off; deterministic,
  the same on every path): claim type ``t``'s frequency in policy year ``y`` is multiplied by
  ``m_t,y = ((1 - r_y) / (1 - r_ref)) ** e_t`` (:func:`demand_multipliers`), ``e_t <= 0`` the
  elasticity of utilisation with respect to the patient's price share ``1 - r``, ``r_y`` the
  expected share of the in-policy cost paid by every layer of the cascade in year ``y``
  (:func:`effective_rates`: exact method, process risk alone, the rules in force in ``y``) and
  ``r_ref`` the stated ``reference_rate`` or, when absent, ``r`` of the start year. A rule change
  that raises ratios from year ``y`` on thus raises that year's admissions; a variant compared with
  a base releases demand when both state the base's ``r`` as ``reference_rate``.

Random streams (:func:`factor_stream`): one generator per (path, factor name), keyed through
``SeedSequence(seed, spawn_key=(FACTOR_DOMAIN, path, stable_key(name)))``; the policy year of
index ``k`` takes the ``k``-th draws of its path's stream, so a year's values do not depend on the
horizon, nor on blocks, workers, cells or rules. A group of cells has its own stream
(``name@group``), so adding a group does not move the others' shocks (with equicorrelation).
Streams are per (path, factor) rather than per (path, year, factor) because a generator costs
about 15 us to make; the two keyings have the same properties.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import special, stats

from ..errors import FundsimError
from ..scenario.schema import (
    CLAIM_TYPES,
    LEVELS,
    FactorGroups,
    FactorLaw,
    LevelFactor,
    Scenario,
    Systematic,
)
from .streams import stable_key

FACTOR_DOMAIN = stable_key("systematic factors")
"""First element of a factor stream's spawn key (the engine's streams have three elements)."""


def factor_stream(seed: int, path: int, name: str) -> np.random.Generator:
    """The generator of factor ``name`` on path ``path``."""
    ss = np.random.SeedSequence(
        entropy=seed, spawn_key=(FACTOR_DOMAIN, int(path), stable_key(name))
    )
    return np.random.Generator(np.random.PCG64DXSM(ss))


@dataclass(frozen=True)
class FactorPaths:
    """The systematic factors of some paths (see the module docstring).

    ``frequency`` and ``cost``: float64 ``(n_paths, n_years, n_claim_types, n_levels or 1,
    n_cells or 1)`` (a size-1 axis: the same for every level / cell; axes in the order of
    ``CLAIM_TYPES``, ``LEVELS`` and the scenario's cells). ``events``: bool ``(n_paths, n_years,
    n_events)``. ``named``: the per path-year multiplier of each named level factor (first group
    where grouped) and ``trends`` each drawn trend ``delta`` per path. ``enabled`` False: every
    multiplier is exactly 1 and the engine takes its process-risk-only code path.
    """

    paths: np.ndarray
    years: tuple[int, ...]
    frequency: np.ndarray
    cost: np.ndarray
    events: np.ndarray
    event_names: tuple[str, ...]
    enabled: bool = False
    named: dict[str, np.ndarray] = field(default_factory=dict)
    """``name -> (n_paths, n_years)``: ``frequency.inpatient``, ``cost.inpatient@other``..."""
    trends: dict[str, np.ndarray] = field(default_factory=dict)
    """``name -> (n_paths,)``: the drawn trend deviation ``delta`` (per year, log scale)."""
    parameters: dict[str, np.ndarray] = field(default_factory=dict)
    """``claim_type.parameter -> (n_paths,)``: the drawn log deviation ``theta``."""

    def columns(self) -> dict[str, np.ndarray]:
        """Per path-year columns for ``paths.parquet``, ``(n_paths, n_years)`` each: the combined
        multipliers of frequency and cost by claim type (``frequency_multiplier_<ct>``, mean over
        levels and cells), each level factor alone (``factor_<kind>_<ct>[@group]``), each event
        (``event_<name>``, 0/1), each trend and parameter draw (``draw_...``, repeated over years)."""
        n, ny = len(self.paths), len(self.years)
        out: dict[str, np.ndarray] = {}
        if not self.enabled:
            return out
        for t, ct in enumerate(CLAIM_TYPES):
            out[f"frequency_multiplier_{ct.value}"] = self.frequency[:, :, t].mean(axis=(2, 3))
            out[f"cost_multiplier_{ct.value}"] = self.cost[:, :, t].mean(axis=(2, 3))
        for name, v in self.named.items():
            out["factor_" + name.replace(".", "_")] = v
        for e, name in enumerate(self.event_names):
            out[f"event_{name}"] = self.events[:, :, e].astype(np.float64)
        for name, v in {**self.trends, **self.parameters}.items():
            out["draw_" + name.replace(".", "_")] = np.repeat(v[:, None], ny, axis=1)
        return {k: np.broadcast_to(v, (n, ny)).copy() for k, v in out.items()}

    def at(self, i: int, y: int) -> tuple[np.ndarray, np.ndarray]:
        """``(frequency, cost)`` of row ``i`` and year index ``y``: ``(n_ct, n_lev|1, n_cells|1)``."""
        return self.frequency[i, y], self.cost[i, y]


def ones(paths: range | np.ndarray, years: tuple[int, ...]) -> FactorPaths:
    """The factors of systematic risk off: every multiplier exactly 1."""
    p = np.asarray(paths, dtype=np.int64)
    shape = (len(p), len(years), len(CLAIM_TYPES), 1, 1)
    return FactorPaths(
        paths=p,
        years=tuple(years),
        frequency=np.ones(shape),
        cost=np.ones(shape),
        events=np.zeros((len(p), len(years), 0), dtype=bool),
        event_names=(),
    )


def cell_groups(scenario: Scenario, groups: FactorGroups) -> tuple[list[str], np.ndarray]:
    """The group labels (sorted) and each cell's group index, in the scenario's cell order."""
    cells = list(scenario.population.cells.values())
    if groups is FactorGroups.NONE:
        return ["all"], np.zeros(len(cells), dtype=np.int64)
    attr = "region" if groups is FactorGroups.REGION else "category"
    labels = sorted({getattr(c, attr) for c in cells})
    return labels, np.array([labels.index(getattr(c, attr)) for c in cells], dtype=np.int64)


def _correlation_root(f: LevelFactor, n_groups: int) -> np.ndarray | None:
    """``L`` with ``L L' = R`` for a correlation matrix (symmetric square root, allows PSD); None
    for equicorrelation."""
    if not isinstance(f.correlation, list):
        return None
    r = np.asarray(f.correlation, dtype=np.float64)
    w, v = np.linalg.eigh(r)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def level_drivers(
    f: LevelFactor, name: str, labels: list[str], seed: int, path: int, n_years: int
) -> np.ndarray:
    """The standard normal drivers ``X`` ``(n_groups, n_years)`` of a level factor on one path."""
    g = len(labels)
    e = np.stack(
        [factor_stream(seed, path, f"{name}@{lab}").standard_normal(n_years) for lab in labels]
    )
    root = _correlation_root(f, g)
    if root is not None:
        z = root @ e
    elif g == 1:
        z = e
    else:
        c = factor_stream(seed, path, name).standard_normal(n_years)
        z = np.sqrt(f.correlation) * c[None, :] + np.sqrt(1.0 - f.correlation) * e
    x = np.empty_like(z)
    if f.random_walk:
        return np.cumsum(z, axis=1)
    x[:, 0] = z[:, 0]
    a = np.sqrt(1.0 - f.phi * f.phi)
    for k in range(1, n_years):
        x[:, k] = f.phi * x[:, k - 1] + a * z[:, k]
    return x


def level_multiplier(f: LevelFactor, x: np.ndarray) -> np.ndarray:
    """Multipliers (mean 1) from drivers ``x`` (..., n_years) (see the module docstring)."""
    if f.cv == 0.0:
        return np.ones_like(x)
    s2 = np.log1p(f.cv * f.cv)
    if f.random_walk:
        k = np.arange(1, x.shape[-1] + 1)
        return np.exp(np.sqrt(s2) * x - 0.5 * k * s2)
    if f.law is FactorLaw.LOGNORMAL:
        return np.exp(np.sqrt(s2) * x - 0.5 * s2)
    a = 1.0 / (f.cv * f.cv)
    return stats.gamma.ppf(special.ndtr(x), a, scale=1.0 / a)


_RATES: dict[tuple[str, tuple[int, ...]], np.ndarray] = {}
"""Cache of :func:`effective_rates` (every block of a run asks for the same rates)."""


def effective_rates(scenario: Scenario, years: tuple[int, ...]) -> np.ndarray:
    """``r_y`` for each year of ``years``: ``sum_f E[S_f,y] / E[C_y]``, ``S_f,y`` fund ``f``'s
    claims (yuan) and ``C_y`` the in-policy cost of every claim (yuan), both by the exact method
    with process risk alone (factors at their mean 1), so ``E[C_y]`` is the expected claims of a
    single per-admission layer paying 100% of the in-policy cost of every claim type."""
    from ..scenario.resolve import scenario_for_year
    from ..scenario.schema import Band, Fund, Layer
    from .exact.scenario import ExactCache, exact_claims_distribution

    off = scenario.model_copy(
        update={"systematic": scenario.systematic.model_copy(update={"enabled": False})}
    )
    key = (ExactCache.scenario_key(off), tuple(years))
    if key in _RATES:
        return _RATES[key]
    grid = {"n_grid": 2**12, "n_aggregate": 2**13, "cap_tolerance": math.inf}
    out = np.empty(len(years))
    for i, y in enumerate(years):
        paid = sum(exact_claims_distribution(off, f, y, **grid).mean() for f in off.funds)
        whole = Layer(
            label="in-policy cost", fund="cost", claim_types=list(off.claims),
            base="in_policy", settlement="per_admission", bands=[Band(**{"from": 0.0, "ratio": 1.0})],
        )  # fmt: skip
        cost_only = scenario_for_year(off, y).model_copy(
            update={"layers": {"cost": whole}, "cascade": ["cost"], "changes": {},
                    "funds": {"cost": Fund(label="cost", financing_per_head=0.0)}}
        )  # fmt: skip
        cost = exact_claims_distribution(cost_only, "cost", y, **grid).mean()
        out[i] = paid / cost if cost > 0 else 0.0
    _RATES[key] = out
    return out


def demand_multipliers(scenario: Scenario, years: tuple[int, ...]) -> np.ndarray:
    """The demand-response multipliers ``(n_years, n_claim_types)`` of the frequency (module
    docstring; ``CLAIM_TYPES`` order, 1 for a claim type without an elasticity)."""
    dr = scenario.systematic.demand_response
    m = np.ones((len(years), len(CLAIM_TYPES)))
    if not dr.enabled or not dr.elasticity:
        return m
    r = effective_rates(scenario, tuple(years))
    r_ref = dr.reference_rate
    if r_ref is None:
        r_ref = float(effective_rates(scenario, (scenario.start_year,))[0])
    if (r >= 1.0).any() or r_ref >= 1.0:
        raise FundsimError(
            "systematic.demand_response: the layers pay all of the in-policy cost (expected share "
            f"{max(float(r.max()), r_ref):.4f}), so the price share 1 - r is 0; turn it off"
        )
    for ct, e in dr.elasticity.items():
        m[:, CLAIM_TYPES.index(ct)] = ((1.0 - r) / (1.0 - r_ref)) ** e
    return m


def _needs_levels(sy: Systematic) -> bool:
    return bool(sy.parameters) or any(
        lvl != "all" for ev in sy.events.values() for eff in (ev.frequency, ev.cost)
        for by in eff.values() for lvl in by
    )  # fmt: skip


def draw_factors(plan_or_scenario, seed: int, paths: range | np.ndarray) -> FactorPaths:
    """The factors of the paths ``paths`` of a run plan (or a scenario with its horizon).

    A pure function of (the scenario's ``[systematic]`` section, cells, start year, years, seed,
    path): see the module docstring for the laws and streams.
    """
    if isinstance(plan_or_scenario, Scenario):
        scenario = plan_or_scenario
        years = tuple(scenario.start_year + k for k in range(scenario.horizon_years))
    else:
        scenario = plan_or_scenario.scenario
        years = tuple(plan_or_scenario.year_labels)
    sy = scenario.systematic
    if not sy.enabled:
        return ones(paths, years)
    p = np.asarray(paths, dtype=np.int64)
    n, ny, n_ct = len(p), len(years), len(CLAIM_TYPES)
    n_lev = len(LEVELS) if _needs_levels(sy) else 1
    grouped = any(
        f.groups is not FactorGroups.NONE for f in (*sy.frequency.values(), *sy.cost.values())
    )
    n_cells = len(scenario.population.cells) if grouped else 1
    k_index = np.array([y - scenario.start_year for y in years], dtype=np.float64)
    k_max = int(max(k_index)) + 1 if ny else 0
    freq = np.ones((n, ny, n_ct, n_lev, n_cells))
    cost = np.ones((n, ny, n_ct, n_lev, n_cells))
    named: dict[str, np.ndarray] = {}
    trends: dict[str, np.ndarray] = {}
    ks = k_index.astype(np.int64)
    for kind, target in (("frequency", freq), ("cost", cost)):
        for ct, f in getattr(sy, kind).items():
            t = CLAIM_TYPES.index(ct)
            name = f"{kind}.{ct.value}"
            labels, of_cell = cell_groups(scenario, f.groups)
            if n_cells == 1:
                of_cell = np.zeros(1, dtype=np.int64)
            mult = np.empty((n, len(labels), ny))
            delta = np.zeros(n)
            for i, path in enumerate(p):
                x = level_drivers(f, name, labels, seed, int(path), k_max)
                mult[i] = level_multiplier(f, x)[:, ks]
                if f.trend_sd > 0:
                    delta[i] = (
                        f.trend_sd * factor_stream(seed, path, "trend." + name).standard_normal()
                    )
            m = mult * np.exp(delta[:, None, None] * k_index[None, None, :])
            target[:, :, t, :, :] *= m[:, of_cell, :].transpose(0, 2, 1)[:, :, None, :]
            for gi, lab in enumerate(labels):
                named[name if len(labels) == 1 else f"{name}@{lab}"] = m[:, gi, :]
            if f.trend_sd > 0:
                trends["trend." + name] = delta
    names = tuple(sy.events)
    events = np.zeros((n, ny, len(names)), dtype=bool)
    for e, (ename, ev) in enumerate(sy.events.items()):
        u = np.stack([factor_stream(seed, path, "event." + ename).random(k_max)[ks] for path in p])
        events[:, :, e] = u < ev.probability
        for kind, target in (("frequency", freq), ("cost", cost)):
            for ct, by_level in getattr(ev, kind).items():
                t = CLAIM_TYPES.index(ct)
                eff = np.ones(n_lev)
                for lvl, v in by_level.items():
                    if lvl == "all":
                        eff *= v
                    else:
                        eff[[lv.value for lv in LEVELS].index(lvl)] *= v
                hit = events[:, :, e]
                target[:, :, t] *= np.where(hit[:, :, None, None], eff[None, None, :, None], 1.0)
    params: dict[str, np.ndarray] = {}
    for ct, pu in sy.parameters.items():
        t = CLAIM_TYPES.index(ct)
        cov = np.asarray(pu.covariance, dtype=np.float64)
        w, v = np.linalg.eigh(cov)
        root = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
        theta = np.stack(
            [
                root
                @ factor_stream(seed, path, f"parameter.{ct.value}").standard_normal(len(pu.names))
                for path in p
            ]
        ).reshape(n, len(pu.names))
        for j, pname in enumerate(pu.names):
            params[f"parameter.{ct.value}.{pname}"] = theta[:, j]
            m = np.exp(theta[:, j])[:, None]
            if pname == "frequency.rate":
                freq[:, :, t] *= m[:, :, None, None]
            else:
                lvl = [lv.value for lv in LEVELS].index(pname.split(".")[1])
                cost[:, :, t, lvl] *= m[:, :, None]
    if sy.demand_response.enabled and sy.demand_response.elasticity:
        dm = demand_multipliers(scenario, years)
        freq *= dm[None, :, :, None, None]
        for ct in sy.demand_response.elasticity:
            named[f"demand.{ct.value}"] = np.broadcast_to(dm[:, CLAIM_TYPES.index(ct)], (n, ny))
    return FactorPaths(
        paths=p,
        years=years,
        frequency=freq,
        cost=cost,
        events=events,
        event_names=names,
        enabled=True,
        named=named,
        trends=trends,
        parameters=params,
    )


__all__ = [
    "FACTOR_DOMAIN",
    "FactorPaths",
    "cell_groups",
    "demand_multipliers",
    "draw_factors",
    "effective_rates",
    "factor_stream",
    "ones",
]
