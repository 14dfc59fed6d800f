"""Benefit changes an insurer can offer at a bid: ratios raised or scaled, a lower threshold.

:func:`with_ratio_addon`, :func:`with_ratio_scale` and :func:`with_threshold` (yuan) modify a fund's
layers in a scenario; :func:`max_ratio_addon`, :func:`max_ratio_scale` and :func:`min_threshold`
solve for the most generous change that still meets a target at a financing per head (yuan per
head). A benefit change changes the claims, so each trial runs the engine again on the same seed and
paths (common random numbers) and settles the claims per path, yuan.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..engine.plan import build_plan
from ..engine.run import BlockRunner, in_process
from ..engine.run import run as run_engine
from ..errors import FundsimError
from ..params import Dated
from ..scenario.schema import Band, ContractKind, Layer, LevelRule, Scenario
from .basis import FinancingBasis, _check_fund, premium_basis
from .measures import DEFAULT_LEVELS, price_distribution
from .sample import ClaimsSample, _sample_from_result, net_result
from .solve import (
    BOUND_NOTE,
    Solution,
    _achieved,
    _linearised_sparsity,
    _objective,
    loss_probability_bandwidth,
    mean_target_se,
    quantile_se,
    solve_monotone,
)
from .targets import Target, _target


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


@dataclass(frozen=True)
class _Trials:
    """The keywords every benefit solver takes for its engine runs and for pricing their claims."""

    financing: float | None
    paths: int
    seed: int
    years: int | None
    basis: FinancingBasis | str
    tier: str | None
    runner: BlockRunner
    levels: Sequence[float]


def _solve_benefit(
    spec: _Benefit,
    scenario: Scenario,
    fund: str,
    target: Target | str | None,
    trials: _Trials,
) -> Solution:
    target = _target(target)
    financing, paths, seed, years = trials.financing, trials.paths, trials.seed, trials.years
    basis, tier, runner, levels = trials.basis, trials.tier, trials.runner, trials.levels
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
    trials = _Trials(financing, paths, seed, years, basis, tier, runner, levels)
    return _solve_benefit(spec, scenario, fund, target, trials)


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
    trials = _Trials(financing, paths, seed, years, basis, tier, runner, levels)
    return _solve_benefit(spec, scenario, fund, target, trials)


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
    trials = _Trials(financing, paths, seed, years, basis, tier, runner, levels)
    return _solve_benefit(spec, scenario, fund, target, trials)
