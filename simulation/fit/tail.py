"""The generalized Pareto tail and its threshold: GPD fits to excesses (probability-weighted
moments, maximum likelihood), the mean-excess plot with its delta-method covariance, and the
threshold quantile from the linearity test of the mean excess. Costs and excesses in yuan."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ClaimsDataError
from .estimates import Estimate, _minimize, covariance_from_nll
from .settings import LINEARITY_LEVEL, MIN_EXCESS_POINT, TAIL_QUANTILES


@dataclass(frozen=True)
class GPDFit:
    """Generalized Pareto fitted by MLE to excesses over a threshold."""

    shape: Estimate
    scale: Estimate
    cov: np.ndarray = field(repr=False)
    """Covariance of (shape, log scale)."""
    n: int
    loglik: float


def gpd_pwm(excess: np.ndarray) -> tuple[float, float]:
    """Probability-weighted-moment estimates (Hosking and Wallis 1987) of the GPD (shape, scale).

    With ``a0 = mean(e)``, ``a1 = mean(e_(i) (n - i) / (n - 1))`` (ascending order, i = 1..n):
    ``xi = 2 - a0 / (a0 - 2 a1)``, ``beta = 2 a0 a1 / (a0 - 2 a1)``. A starting point for the MLE.
    """
    e = np.sort(np.asarray(excess, dtype=np.float64))
    n = e.size
    a0 = float(e.mean())
    a1 = float(np.mean(e * (n - np.arange(1, n + 1)) / (n - 1)))
    d = a0 - 2 * a1
    if d <= 0:
        return 0.0, a0
    return 2.0 - a0 / d, 2.0 * a0 * a1 / d


def gpd_logpdf(e: np.ndarray, xi: float, beta: float) -> np.ndarray:
    """``log g(e) = -ln beta - (1 + 1/xi) ln(1 + xi e / beta)`` (``-ln beta - e / beta`` at xi = 0);
    ``-inf`` outside the support. Equal to ``scipy.stats.genpareto.logpdf(e, xi, scale=beta)``."""
    z = np.asarray(e, dtype=np.float64) / beta
    with np.errstate(divide="ignore", invalid="ignore"):
        if abs(xi) < 1e-12:
            out = -math.log(beta) - z
        else:
            t = 1.0 + xi * z
            out = np.where(
                t > 0, -math.log(beta) - (1.0 + 1.0 / xi) * np.log(np.where(t > 0, t, 1.0)), -np.inf
            )
    return np.where(z >= 0, out, -np.inf)


def _gpd_nll(e: np.ndarray) -> Callable[[np.ndarray], float]:
    """Mean negative log-likelihood of GPD(xi, exp(log beta)) on excesses ``e``."""

    def nll(theta: np.ndarray) -> float:
        value = -float(np.mean(gpd_logpdf(e, float(theta[0]), math.exp(theta[1]))))
        return value if np.isfinite(value) else math.inf

    return nll


def fit_gpd(
    excess: np.ndarray, *, with_se: bool = True, start: Sequence[float] | None = None
) -> GPDFit:
    """GPD(shape xi, scale beta) by maximum likelihood on excesses (yuan, > 0).

    Log-density :func:`gpd_logpdf`, started from :func:`gpd_pwm` (or ``start`` = (xi, beta));
    standard errors from the observed information (asymptotically ``var(xi) = (1 + xi)^2 / n`` for xi > -1/2, Smith 1987).
    """
    e = np.asarray(excess, dtype=np.float64)
    n = e.size
    if n < 3:
        raise ClaimsDataError(f"{n} claim(s) above the tail threshold: too few to fit a tail")
    xi0, beta0 = gpd_pwm(e)
    xi0 = min(max(xi0, -0.4), 0.9)

    nll = _gpd_nll(e)

    theta0 = [xi0, math.log(beta0)] if start is None else [start[0], math.log(start[1])]
    if not np.isfinite(nll(np.array(theta0))):
        theta0 = [0.1, math.log(float(e.mean()))]
    theta = _minimize(nll, theta0, robust=start is None)
    cov = covariance_from_nll(lambda t: n * nll(t), theta) if with_se else np.full((2, 2), np.nan)
    xi, beta = float(theta[0]), math.exp(theta[1])
    return GPDFit(
        Estimate(xi, math.sqrt(cov[0, 0]) if cov[0, 0] >= 0 else math.nan),
        Estimate(beta, beta * math.sqrt(cov[1, 1]) if cov[1, 1] >= 0 else math.nan),
        cov,
        n,
        -n * nll(theta),
    )


def mean_excess(
    x: np.ndarray, quantiles: Sequence[float] = TAIL_QUANTILES
) -> tuple[pd.DataFrame, np.ndarray]:
    """The mean-excess plot's points and their covariance.

    For each quantile ``p``: threshold ``u`` (the empirical p-quantile, yuan), ``e(u) = mean(x - u |
    x > u)`` and the number of excesses. The covariance of the ``e(u)`` comes from their influence
    functions ``1{x > u} (x - u - e(u)) / P(X > u)``: ``cov = mean(IF_i IF_j) / n``.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    qs = np.asarray(quantiles, dtype=np.float64)
    us = np.quantile(x, qs)
    ex = x[x > us.min()]
    above = ex[:, None] > us[None, :]
    counts = above.sum(axis=0)
    excess = np.where(above, ex[:, None] - us[None, :], 0.0)
    me = excess.sum(axis=0) / np.maximum(counts, 1)
    p = counts / n
    infl = np.where(above, (excess - me) / np.where(p > 0, p, 1.0), 0.0)
    cov = infl.T @ infl / n / n
    table = pd.DataFrame(
        {
            "quantile": qs,
            "threshold": us,
            "mean_excess": me,
            "se": np.sqrt(np.diag(cov)),
            "n_excess": counts.astype(np.int64),
        }
    )
    return table, cov


def choose_threshold(
    x: np.ndarray,
    quantiles: Sequence[float] = TAIL_QUANTILES,
    level: float = LINEARITY_LEVEL,
    min_excess_point: int = MIN_EXCESS_POINT,
) -> tuple[float | None, pd.DataFrame]:
    """The tail threshold quantile from the mean-excess plot, and the plot's table.

    The smallest candidate quantile from which the mean excess is linear: for each candidate, a
    generalised-least-squares line ``e(u) = a + b u`` through the points at and above it (the points'
    delta-method covariance, see :func:`mean_excess`) gives ``T = r' C^-1 r``, chi-square with
    (points - 2) degrees of freedom under linearity; the first candidate with p-value above
    ``level`` is chosen. Only points with at least ``min_excess_point`` excesses are used, and a
    candidate needs 3 points. If no candidate passes, the highest usable candidate is chosen. Returns
    ``(None, table)`` when fewer than 3 points are usable. The table has columns ``linear_pvalue``
    and ``chosen`` (True on the chosen row).
    """
    table, cov = mean_excess(x, quantiles)
    usable = (table["n_excess"] >= min_excess_point).to_numpy()
    idx = np.flatnonzero(usable)
    pvalues = np.full(len(table), np.nan)
    if idx.size < 3:
        table["linear_pvalue"] = pvalues
        table["chosen"] = False
        return None, table
    us = table["threshold"].to_numpy()
    me = table["mean_excess"].to_numpy()
    for pos in range(idx.size - 2):
        sel = idx[pos:]
        c = cov[np.ix_(sel, sel)]
        ci = np.linalg.pinv(c, rcond=1e-12, hermitian=True)
        a = np.column_stack([np.ones(sel.size), us[sel]])
        coef = np.linalg.lstsq(a.T @ ci @ a, a.T @ ci @ me[sel], rcond=None)[0]
        r = me[sel] - a @ coef
        stat = float(r @ ci @ r)
        dof = max(np.linalg.matrix_rank(c, hermitian=True) - 2, 1)
        pvalues[sel[0]] = float(stats.chi2.sf(stat, dof))
    table["linear_pvalue"] = pvalues
    passing = [i for i in idx[:-2] if pvalues[i] > level]
    chosen = passing[0] if passing else idx[-3]
    table["chosen"] = np.arange(len(table)) == chosen
    return float(table["quantile"].iloc[chosen]), table
