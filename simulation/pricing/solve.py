"""The solving machinery shared by every pricing solve: root finder, objectives, standard errors.

:func:`solve_monotone` (bracketing, then :func:`scipy.optimize.brentq`) finds where a monotone
objective meets its target; the objectives are per-path results (yuan per path) against a
:class:`~.targets.Target`. Standard errors: delta method for mean targets
(:func:`mean_target_se`), Siddiqui's sparsity for a probability of loss (:func:`quantile_se`),
batch means as a check. :class:`Solution` is a solved quantity (financing in yuan per head, a
ratio add-on or scale, a threshold in yuan, a management rate) with its error and the measures
at it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from ..errors import FundsimError
from .measures import PriceDistribution
from .targets import Target, TargetKind


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


BOUND_NOTE = (
    "the target is met over the whole allowed range up to its {} end: the solution is that end, "
    "not a root, and has no standard error"
)


def _batches(k: int, n_batches: int, target: Target) -> list[slice]:
    """At most ``n_batches`` consecutive batches of the ``k`` paths for batch-means standard
    errors, each of at least 10 paths and, for a loss-probability target, enough paths to expect
    10 losses and 10 non-losses; none when fewer than 5 such batches fit."""
    p = target.value
    min_size = 10 if target.is_mean else max(10, math.ceil(10 / min(p, 1 - p)))
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
