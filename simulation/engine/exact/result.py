"""The exact method's result and what is read from it.

:class:`ExactDistribution` is the law of one fund's total claims paid in one year (masses on
amounts in yuan, with its moments, cdf, quantiles), :class:`CellSummary` one roster group's persons
and payment per person (yuan); :func:`value_at_risk` gives VaR and TVaR of a result as positive
losses (yuan) and :func:`exact_contract_measures` the one-year contract measures (the contract
settled on every grid amount). "Module docstring" below means the package's,
:mod:`simulation.engine.exact`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ...rules.contract import settle_year
from ...scenario.schema import Contract


@dataclass(frozen=True)
class CellSummary:
    """One roster group's part of the fund's claims (or one segment's, for a group approximated
    per segment, named ``key[category]``): persons and the payment per person."""

    name: str
    category: str
    persons: int
    mean: float
    """Expected payment per person, yuan."""
    var: float
    """Variance of the payment per person, yuan**2."""


@dataclass(frozen=True, eq=False)
class ExactDistribution:
    """The law of a fund's total claims paid in one year: masses ``p`` at the amounts ``x`` (yuan).

    ``x`` increases; it is equally spaced with step ``step`` (the aggregate step; ``person_step``
    is the step of the per-claim and per-person grids) except for at most a few far point masses
    appended at the end (total probability ``far_mass``: some person paid beyond the per-person
    grid; module docstring). Diagnostics: ``far_mean`` (yuan) is the part of the expected claims
    carried by payments beyond the per-person grid (represented to first order: matching the
    cost tail's mass, mean and second moment); ``ignored_cap_bound`` (yuan) bounds the error of
    the expected claims from applying per-admission caps claim by claim; ``rebin_variance``
    (yuan**2) is the variance added by rebinning (0 unless ``method == "rebinned"``).
    """

    fund: str
    year: int
    x: NDArray[np.float64]
    p: NDArray[np.float64]
    step: float
    person_step: float
    n_persons: int
    """Persons the fund covers at some time of the year (stayers, exits and entrants)."""
    per_person_mean: float
    """Expected payment per person the fund covers at some time of the year, yuan."""
    per_person_var: float
    """Variance of the payment of a person drawn at random from those persons, yuan**2."""
    cells: tuple[CellSummary, ...] = ()
    method: str = "convolution"
    far_mass: float = 0.0
    far_mean: float = 0.0
    ignored_cap_bound: float = 0.0
    rebin_variance: float = 0.0
    notes: tuple[str, ...] = field(default=())

    def mean(self) -> float:
        """Expected total claims, yuan: ``sum_i x_i p_i``."""
        return float(np.dot(self.x, self.p))

    def var(self) -> float:
        """Variance of the total claims, yuan**2."""
        m = self.mean()
        return float(np.dot((self.x - m) ** 2, self.p))

    def sd(self) -> float:
        """Standard deviation of the total claims, yuan."""
        return math.sqrt(self.var())

    def cdf(self, x: ArrayLike) -> NDArray[np.float64]:
        """``P(T <= x)`` (vectorised over ``x``, yuan)."""
        cum = _cumsum(self.p)
        i = np.searchsorted(self.x, np.asarray(x, dtype=np.float64), side="right")
        return np.where(i > 0, cum[np.maximum(i - 1, 0)], 0.0)

    def sf(self, x: ArrayLike) -> NDArray[np.float64]:
        """``P(T > x)``, computed from the right so that small tail probabilities keep precision."""
        tail = _cumsum(self.p[::-1])[::-1]  # tail[i] = P(T >= x_i)
        i = np.searchsorted(self.x, np.asarray(x, dtype=np.float64), side="right")
        return np.where(i < len(self.p), tail[np.minimum(i, len(self.p) - 1)], 0.0)

    def quantile(self, q: ArrayLike) -> NDArray[np.float64]:
        """The smallest grid amount ``x`` with ``P(T <= x) >= q`` (vectorised over ``q``), yuan."""
        q = np.asarray(q, dtype=np.float64)
        if np.any((q < 0) | (q > 1)):
            raise ValueError(f"quantile levels must be in [0, 1], found {q!r}")
        cum = _cumsum(self.p)
        i = np.searchsorted(cum, q * cum[-1] * (1.0 - 1e-15), side="left")
        return self.x[np.minimum(i, len(self.x) - 1)]

    def expected(self, f: Callable[[NDArray], ArrayLike]) -> float:
        """``E[f(T)] = sum_i f(x_i) p_i`` for a vectorised function ``f`` of the total (yuan)."""
        return float(np.dot(np.asarray(f(self.x), dtype=np.float64), self.p))


def _cumsum(a: NDArray, block: int = 512) -> NDArray:
    """Cumulative sum in two levels (within blocks, then of block totals): rounding error about
    ``2 * block`` ulps instead of ``len(a)`` ulps for the plain running sum."""
    n = len(a)
    pad = (-n) % block
    rows = np.concatenate([a, np.zeros(pad)]).reshape(-1, block)
    within = np.cumsum(rows, axis=1)
    offsets = np.concatenate([[0.0], np.cumsum(rows.sum(axis=1))[:-1]])
    return (within + offsets[:, None]).ravel()[:n]


def value_at_risk(
    values: ArrayLike, masses: ArrayLike, level: float = 0.995
) -> tuple[float, float]:
    """``(VaR, TVaR)`` at ``level`` of a result (profit positive, yuan), as losses (positive).

    ``VaR = -q`` with ``q`` the lower ``1 - level`` quantile of the result; ``TVaR = -E[result in its
    worst 1 - level of probability]`` (an atom at the quantile is split so the tail has exactly that
    probability).
    """
    v = np.asarray(values, dtype=np.float64)
    w = np.asarray(masses, dtype=np.float64)
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order] / w.sum()
    alpha = 1.0 - level
    cum = _cumsum(w)
    i = int(min(np.searchsorted(cum, alpha, side="left"), len(v) - 1))
    before = cum[i - 1] if i > 0 else 0.0
    tail_sum = float(np.dot(v[:i], w[:i]) + v[i] * (alpha - before))
    return -float(v[i]), -tail_sum / alpha


def exact_contract_measures(
    dist: ExactDistribution, premium: float, contract: Contract
) -> dict[str, float]:
    """One-year contract measures from the exact law of the claims ``S`` (yuan).

    :func:`simulation.rules.contract.settle_year` is applied to every grid amount; then
    ``expected_<key>`` for every key it returns (``insurer_result`` R, ``insurer_result_net``
    R - O, ``clawback``, ``fund_loss_share``, ``management_payment``, ``operating_cost``,
    ``fund_retained``), ``expected_claims`` and ``sd_claims``, ``p_deficit = P(S > P)``,
    ``p_insurer_loss = P(R - O < 0)``, and VaR/TVaR at 99.5% of the insurer's result before
    (``var_995_insurer_result``) and after its operating cost (``var_995_insurer_result_net``),
    stated as losses (positive = a loss).
    """
    x, p = dist.x, dist.p
    settled = settle_year(contract, premium, x)
    out: dict[str, float] = {
        "premium": float(premium),
        "expected_claims": dist.mean(),
        "sd_claims": dist.sd(),
        "p_deficit": float(p[x > premium].sum()),
    }
    for key, values in settled.items():
        out[f"expected_{key}"] = float(np.dot(np.broadcast_to(values, x.shape), p))
    net = np.broadcast_to(settled["insurer_result_net"], x.shape)
    out["p_insurer_loss"] = float(p[net < 0.0].sum())
    for key in ("insurer_result", "insurer_result_net"):
        var, tvar = value_at_risk(np.broadcast_to(settled[key], x.shape), p, 0.995)
        out[f"var_995_{key}"] = var
        out[f"tvar_995_{key}"] = tvar
    return out
