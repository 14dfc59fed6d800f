"""The exact method under systematic risk: the law of a fund-year's claims as a mixture over the
year's factors.

Given the factors ``F`` of a policy year (:mod:`simulation.engine.factors`), persons are
independent and the law of the claims is the exact method's one-year law with scaled parameters
(:func:`exact_claims_distribution` on a scenario whose claim rates are multiplied by the frequency
factor and whose level mean costs by the cost factor: scaling a severity's mean at a fixed CV scales
the whole spliced law, tail included). The unconditional law is ``P(S in A) = E_F[P(S in A | F)]``,
computed by quadrature over the law of ``F`` in year index ``k``:

- each level factor's year-``k`` marginal: lognormal ``log M ~ Normal(-s^2/2 (k+1 for a random
  walk), s^2 (k + 1 for a random walk) + (trend_sd k)^2)``, Gauss-Hermite with ``n_nodes`` nodes;
  gamma: Gauss-Hermite on its normal driver (``M = G^-1(Phi(X))``) times, with a trend, a second
  rule on ``delta`` (exact for the year's marginal; persistence only links years);
- each named event: its two outcomes with probabilities ``p`` and ``1 - p``;
- each fitted parameter vector: a tensor Gauss-Hermite rule on ``Normal(0, C)`` (``n_param_nodes``
  per dimension, through the symmetric square root of ``C``).

The components are independent, so the rule is their tensor product; the mixture's masses are the
node laws' masses times the node weights, concatenated and sorted (no interpolation: every
moment and probability of the mixture is the weighted sum of the nodes' own, exact up to the
quadrature error, which shrinks fast in ``n_nodes`` for these smooth laws; compare two values of
``n_nodes`` to estimate it). Demand response to benefits (deterministic,
:func:`simulation.engine.factors.demand_multipliers`) multiplies every node's frequency. Factors by group of cells are not supported (one line says so).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
from scipy import special, stats

from ...errors import FundsimError
from ...scenario.schema import (
    CLAIM_TYPES,
    LEVELS,
    FactorGroups,
    FactorLaw,
    LevelFactor,
    Scenario,
    Systematic,
)
from ..factors import demand_multipliers
from .result import ExactDistribution
from .scenario import exact_claims_distribution


def _hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of ``E[g(Z)]``, ``Z ~ Normal(0, 1)``."""
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return x, w / w.sum()


def _level_nodes(f: LevelFactor, k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (multipliers) and weights of a level factor's year-``k`` marginal."""
    if f.cv == 0.0 and f.trend_sd == 0.0:
        return np.ones(1), np.ones(1)
    s2 = math.log1p(f.cv * f.cv)
    z, w = _hermite(n)
    if f.law is FactorLaw.LOGNORMAL:
        steps = (k + 1) if f.random_walk else 1
        var = steps * s2 + (f.trend_sd * k) ** 2
        return np.exp(-0.5 * steps * s2 + math.sqrt(var) * z), w
    a = 1.0 / (f.cv * f.cv)
    m = stats.gamma.ppf(special.ndtr(z), a, scale=1.0 / a)
    if f.trend_sd == 0.0 or k == 0:
        return m, w
    t = np.exp(f.trend_sd * k * z)
    return np.outer(m, t).ravel(), np.outer(w, w).ravel()


def factor_nodes(
    sy: Systematic, k: int, n_nodes: int = 7, n_param_nodes: int = 3
) -> list[tuple[float, dict[str, np.ndarray]]]:
    """The quadrature rule of year index ``k``'s factors: ``(weight, {"frequency": (n_ct_names...)})``
    as a list of ``(weight, multipliers)`` with ``multipliers[(kind, claim type value)]`` an array
    by level (``LEVELS`` order)."""
    comps: list[list[tuple[float, dict[tuple[str, str], np.ndarray]]]] = []
    n_lev = len(LEVELS)
    for kind in ("frequency", "cost"):
        for ct, f in getattr(sy, kind).items():
            if f.groups is not FactorGroups.NONE:
                raise FundsimError(
                    f"systematic.{kind}.{ct.value}: the exact method does not support factors by "
                    'group of cells; use groups = "none" or the Monte Carlo engine'
                )
            m, w = _level_nodes(f, k, n_nodes)
            comps.append(
                [(wi, {(kind, ct.value): np.full(n_lev, mi)}) for mi, wi in zip(m, w, strict=True)]
            )
    for ev in sy.events.values():
        hit: dict[tuple[str, str], np.ndarray] = {}
        for kind in ("frequency", "cost"):
            for ct, by_level in getattr(ev, kind).items():
                eff = np.ones(n_lev)
                for lvl, v in by_level.items():
                    if lvl == "all":
                        eff *= v
                    else:
                        eff[[lv.value for lv in LEVELS].index(lvl)] *= v
                hit[(kind, ct.value)] = eff
        comps.append([(ev.probability, hit), (1.0 - ev.probability, {})])
    for ct, pu in sy.parameters.items():
        d = len(pu.names)
        cov = np.asarray(pu.covariance, dtype=np.float64)
        vals, vecs = np.linalg.eigh(cov)
        root = (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T
        z, w = _hermite(n_param_nodes)
        rule = []
        for idx in itertools.product(range(n_param_nodes), repeat=d):
            theta = root @ z[list(idx)]
            mult: dict[tuple[str, str], np.ndarray] = {}
            for j, name in enumerate(pu.names):
                if name == "frequency.rate":
                    key = ("frequency", ct.value)
                    mult[key] = mult.get(key, np.ones(n_lev)) * math.exp(theta[j])
                else:
                    key = ("cost", ct.value)
                    e = np.ones(n_lev)
                    e[[lv.value for lv in LEVELS].index(name.split(".")[1])] = math.exp(theta[j])
                    mult[key] = mult.get(key, np.ones(n_lev)) * e
            rule.append((float(np.prod(w[list(idx)])), mult))
        comps.append(rule)
    out = []
    for combo in itertools.product(*comps) if comps else [()]:
        weight = 1.0
        mult: dict[tuple[str, str], np.ndarray] = {}
        for wi, mi in combo:
            weight *= wi
            for key, v in mi.items():
                mult[key] = mult.get(key, np.ones(n_lev)) * v
        if weight > 0:
            out.append((weight, mult))
    return out


def scaled_scenario(scenario: Scenario, mult: dict[tuple[str, str], np.ndarray]) -> Scenario:
    """The scenario with each claim type's rates and level mean costs multiplied (``mult`` as in
    :func:`factor_nodes`), systematic risk off. A frequency multiplier by level scales the rate of
    each category by ``sum_l mix_l m_l`` and reweights its level mix by ``m_l``."""
    claims = dict(scenario.claims)
    levels = [lv.value for lv in LEVELS]
    for ct, model in scenario.claims.items():
        fm = mult.get(("frequency", ct.value))
        cm = mult.get(("cost", ct.value))
        freq, sev = model.frequency, model.severity
        if fm is not None:
            mix = sev.level_mix
            cats = list(scenario.categories)
            rate = {}
            new_mix = {}
            for cat in cats:
                r = freq.rate.get(cat, freq.rate.get("default"))
                mx = mix.get(cat, mix.get("default", {}))
                shares = np.array([mx.get(lv, 0.0) for lv in LEVELS])
                scale = float(shares @ fm)
                rate[cat] = r * scale
                if scale > 0:
                    new_mix[cat] = {
                        lv: float(s * m / scale)
                        for lv, s, m in zip(LEVELS, shares, fm, strict=True)
                    }
                else:
                    new_mix[cat] = dict(mx)
            freq = freq.model_copy(update={"rate": rate})
            sev = sev.model_copy(update={"level_mix": new_mix})
        if cm is not None:
            lv_models = {
                lv: sev.levels[lv].model_copy(
                    update={
                        "mean_yuan": sev.levels[lv].mean_yuan * float(cm[levels.index(lv.value)])
                    }
                )
                for lv in sev.levels
            }
            sev = sev.model_copy(update={"levels": lv_models})
        claims[ct] = model.model_copy(update={"frequency": freq, "severity": sev})
    off = scenario.systematic.model_copy(update={"enabled": False})
    return scenario.model_copy(update={"claims": claims, "systematic": off})


def exact_mixture_distribution(
    scenario: Scenario,
    fund: str,
    year: int,
    *,
    n_nodes: int = 7,
    n_param_nodes: int = 3,
    **exact_options,
) -> ExactDistribution:
    """The exact law of ``fund``'s claims in ``year`` under the scenario's systematic factors (the
    module docstring); with systematic risk off, :func:`exact_claims_distribution` itself."""
    if not scenario.systematic.enabled:
        return exact_claims_distribution(scenario, fund, year, **exact_options)
    k = year - scenario.start_year
    rule = factor_nodes(scenario.systematic, k, n_nodes, n_param_nodes)
    dr = scenario.systematic.demand_response
    dm = demand_multipliers(scenario, (year,))[0]  # deterministic: every node's frequency
    for ct in dr.elasticity if dr.enabled else ():
        for _, mult in rule:
            key = ("frequency", ct.value)
            mult[key] = mult.get(key, np.ones(len(LEVELS))) * dm[CLAIM_TYPES.index(ct)]
    # the bound on the ignored per-admission caps is checked on the mixture, not node by node
    cap_tolerance = float(exact_options.pop("cap_tolerance", 1e-3))
    xs, ps, first = [], [], None
    cap_bound = far = 0.0
    for weight, mult in rule:
        d = exact_claims_distribution(
            scaled_scenario(scenario, mult), fund, year, cap_tolerance=math.inf, **exact_options
        )
        first = first or d
        xs.append(d.x)
        ps.append(d.p * weight)
        cap_bound += weight * d.ignored_cap_bound
        far += weight * d.far_mass
    x = np.concatenate(xs)
    p = np.concatenate(ps)
    order = np.argsort(x, kind="stable")
    mean = float(np.dot(x, p))
    if cap_bound > cap_tolerance * mean:
        raise FundsimError(
            f"exact method: the annual caps of per-admission layers are not applied; over the "
            f"systematic factors they may change fund {fund!r}'s expected claims in {year} by up "
            f"to {cap_bound:,.0f} yuan ({cap_bound / max(mean, 1e-300):.3%}), above "
            f"cap_tolerance={cap_tolerance:g}; raise cap_tolerance or use the Monte Carlo engine"
        )
    note = f"mixture over the systematic factors: {len(rule)} quadrature nodes"
    return replace(
        first,
        x=x[order],
        p=p[order],
        cells=(),
        method="mixture",
        ignored_cap_bound=cap_bound,
        far_mass=far,
        notes=(*first.notes, note),
    )


__all__ = ["exact_mixture_distribution", "factor_nodes", "scaled_scenario"]
