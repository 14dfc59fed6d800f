"""Fitting illness-cost models to claims data, and writing them as a scenario fragment.

What is fitted, for each claim type in the data (inpatient, chronic), in this order:

1. **Frequency** (claims per person-year). Per group (category x age band, years pooled): Poisson
   and negative binomial by maximum likelihood from the per-person-year counts
   (:func:`~simulation.claims_data.person_year_counts`), with standard errors from the observed
   information, a likelihood-ratio test and AIC. For the scenario: one multiplicative model
   ``rate[category] * age_factor[age_band] * (1 + trend) ** (year - base_year)`` with one common
   dispersion (variance = mean * (1 + dispersion * mean)), the same likelihoods. The negative
   binomial is chosen when the likelihood-ratio test rejects the Poisson at 5% (the Poisson is on
   the boundary dispersion = 0, so the statistic's null law is ``0.5 chi2(0) + 0.5 chi2(1)``).
   Age factors are normalised so that their exposure-weighted mean is 1.
2. **Severity trend**: ``log(cost) = level effect + year * log(1 + trend)`` by least squares;
   costs are deflated to the base year by ``(1 + trend) ** (year - base_year)`` before step 3.
3. **Severity per hospital level** (cost per claim, yuan, in the base year):

   - *Tail threshold from the mean-excess plot.* For candidate quantiles 0.90, 0.91, ..., 0.98 the
     empirical mean excess ``e(u) = mean(x - u | x > u)`` is computed with its delta-method
     covariance (influence functions of the nested means). The mean excess of a generalized Pareto
     tail is linear in ``u``, so the admissible thresholds are the **smallest candidate from which
     the mean excess is linear** (a generalised least-squares line through the points at and above
     it is not rejected by a chi-square test at 5%) and every candidate above it with at least 50
     excesses. Among these, the threshold is the one at which the spliced model (below) has the
     highest likelihood on all claims: a profile likelihood of the splice point. (The linearity test
     alone has little power against a lognormal body, whose mean excess is also nearly linear at
     high quantiles; where the body and tail differ clearly it excludes thresholds inside the body.)
   - *Body* (lognormal or gamma): **truncated MLE on the claims at or below the threshold** (the
     tail does not influence the body): the log-likelihood of ``scipy.stats.lognorm`` /
     ``scipy.stats.gamma`` (evaluated through sufficient statistics, tested equal), maximised
     numerically; the body with the higher likelihood is kept.
   - *Tail*: generalized Pareto by MLE on the excesses over the threshold. A fitted shape below 0
     or from 0.5 up is written as 0 or 0.49 (the scenario's range), with a note.
   - *Standard errors* everywhere: inverse of the observed information (a numerical Hessian of the
     negative log-likelihood at the MLE), and the delta method for derived values (CV, mean).
   - *The written model* is the scenario's: the body truncated at its own ``q``-quantile, where
     ``q`` = the share of claims at or below the threshold, a GPD of the fitted shape above it with
     the scale that makes the density continuous, all scaled so the mean is ``mean_yuan``. Since the
     body below its ``q``-quantile is the fitted body exactly, ``mean_yuan`` is set to the mean of
     that model with the fitted body (not the sample mean), so that the fragment reproduces the
     fitted body; the fitted GPD scale is reported next to the implied one. Goodness of fit (KS,
     Anderson-Darling, QQ) is measured against this written model.
   - With ``tail="auto"`` the spliced model is kept only when its AIC beats the best body alone
     fitted to all claims.
   - *In-policy share* ``in_policy_cost / total_cost``: mean and standard deviation (the scenario's
     beta distribution is given by these two), with delta-method standard errors.
   - *Level mix*: the share of claims by hospital level, by category and overall (``default``).

:func:`to_fragment` writes the fitted parameters in the scenario file's own schema
(``[claims.<type>.frequency]``, ``[claims.<type>.severity.levels.<level>]``) with each standard error
in a comment, so a scenario can ``extends`` the fragment.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from .claims_data import person_year_counts, raise_problems, rows_problem, with_age_bands
from .errors import ClaimsDataError, FundsimError
from .models.severity import gamma_params, lognormal_params
from .scenario.schema import CLAIM_TYPES, LEVELS, BodyKind, FrequencyKind

TAIL_QUANTILES: tuple[float, ...] = tuple(round(0.90 + 0.01 * i, 2) for i in range(9))
"""Candidate tail thresholds (quantiles of the claim costs) for the mean-excess rule."""
LINEARITY_LEVEL = 0.05
"""Significance level of the mean-excess linearity test and of the Poisson-vs-NB test."""
MIN_EXCESS_POINT = 30
"""Fewest excesses behind one point of the mean-excess plot used in the linearity test."""
MIN_TAIL_EXCESSES = 50
"""Fewest excesses over the threshold for a tail to be fitted."""
MIN_LEVEL_CLAIMS = 20
"""Fewest claims at a hospital level for a severity to be fitted."""
MAX_TAIL_SHAPE = 0.49
"""Largest GPD shape the scenario accepts (it needs < 0.5 for a finite variance)."""
MAX_IN_POLICY_SD = 0.5
"""The scenario's bound on the in-policy share's standard deviation (exclusive)."""
LOG_DISPERSION_BOUNDS = (-15.0, 5.0)
"""Search range of log(NB dispersion); near the lower end the NB is the Poisson."""
MAX_QQ_POINTS = 1000
"""QQ data keep at most this many evenly spaced order statistics plus the largest 200."""

TailMode = Literal["auto", "always", "never"]


# --------------------------------------------------------------------------- small helpers


@dataclass(frozen=True)
class Estimate:
    """A fitted value and its (asymptotic) standard error; ``se`` is NaN when not available."""

    value: float
    se: float = math.nan

    def __float__(self) -> float:
        return float(self.value)


def numerical_hessian(
    fun: Callable[[np.ndarray], float], x: np.ndarray, rel_step: float = 1e-4
) -> np.ndarray:
    """Central-difference Hessian of ``fun`` at ``x`` (steps ``rel_step * max(1, |x_i|)``)."""
    x = np.asarray(x, dtype=np.float64)
    k = x.size
    h = rel_step * np.maximum(1.0, np.abs(x))
    hess = np.empty((k, k))
    f0 = fun(x)
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = h[i]
        hess[i, i] = (fun(x + ei) - 2.0 * f0 + fun(x - ei)) / h[i] ** 2
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = h[j]
            hess[i, j] = hess[j, i] = (
                fun(x + ei + ej) - fun(x + ei - ej) - fun(x - ei + ej) + fun(x - ei - ej)
            ) / (4.0 * h[i] * h[j])
    return hess


def covariance_from_nll(nll: Callable[[np.ndarray], float], theta: np.ndarray) -> np.ndarray:
    """Inverse observed information: ``inv(Hessian of the negative log-likelihood)`` at the MLE.

    NaN where the Hessian is not positive definite (the MLE is on a boundary or not identified).
    """
    hess = numerical_hessian(nll, theta)
    try:
        np.linalg.cholesky(hess)
    except np.linalg.LinAlgError:
        return np.full_like(hess, np.nan)
    return np.linalg.inv(hess)


def numerical_gradient(
    fun: Callable[[np.ndarray], float], x: np.ndarray, rel_step: float = 1e-6
) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    h = rel_step * np.maximum(1.0, np.abs(x))
    grad = np.empty(x.size)
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h[i]
        grad[i] = (fun(x + e) - fun(x - e)) / (2.0 * h[i])
    return grad


def delta_se(fun: Callable[[np.ndarray], float], theta: np.ndarray, cov: np.ndarray) -> float:
    """Delta-method standard error of ``fun(theta)``: ``sqrt(g' cov g)``, ``g`` its gradient."""
    g = numerical_gradient(fun, theta)
    var = float(g @ cov @ g)
    return math.sqrt(var) if var >= 0 else math.nan


def _minimize(
    nll: Callable[[np.ndarray], float],
    x0: Sequence[float],
    bounds: Sequence[tuple[float | None, float | None]] | None = None,
    robust: bool = True,
) -> np.ndarray:
    """MLE helper: Nelder-Mead (a robust start, unless ``robust`` is False) then an L-BFGS-B
    polish; the better point is kept."""
    x0 = np.asarray(x0, dtype=np.float64)
    if robust:
        first = optimize.minimize(
            nll,
            x0,
            method="Nelder-Mead",
            bounds=bounds,
            options={"xatol": 1e-6, "fatol": 1e-11, "maxiter": 4000},
        )
    else:
        first = optimize.OptimizeResult(x=x0, fun=nll(x0))
    best = first
    with np.errstate(invalid="ignore", over="ignore"):
        second = optimize.minimize(nll, first.x, method="L-BFGS-B", bounds=bounds)
    if np.isfinite(second.fun) and second.fun < best.fun:
        best = second
    if not np.isfinite(best.fun):
        raise FundsimError(
            "maximum likelihood fit failed: the likelihood is zero at every point tried"
        )
    return np.asarray(best.x, dtype=np.float64)


# --------------------------------------------------------------------------- the spliced severity


def _body(kind: BodyKind, p1: float, p2: float):
    """The frozen scipy distribution of a body: lognormal (mu, sigma) or gamma (shape, scale)."""
    if kind is BodyKind.LOGNORMAL:
        return stats.lognorm(s=p2, scale=math.exp(p1))
    return stats.gamma(a=p1, scale=p2)


def body_cv(kind: BodyKind, p1: float, p2: float) -> float:
    """Coefficient of variation of a body: lognormal ``sqrt(exp(sigma^2) - 1)``, gamma ``1/sqrt(k)``."""
    if kind is BodyKind.LOGNORMAL:
        return math.sqrt(math.expm1(p2**2))
    return 1.0 / math.sqrt(p1)


def body_partial_mean(kind: BodyKind, p1: float, p2: float, u: float) -> float:
    """``E[X; X <= u]`` of a body, yuan: lognormal ``exp(mu + s^2/2) Phi((ln u - mu - s^2)/s)``,
    gamma ``k theta G(u; k + 1, theta)``."""
    if kind is BodyKind.LOGNORMAL:
        mu, s = p1, p2
        return math.exp(mu + s * s / 2) * float(stats.norm.cdf((math.log(u) - mu - s * s) / s))
    k, theta = p1, p2
    return k * theta * float(stats.gamma.cdf(u, k + 1.0, scale=theta))


@dataclass(frozen=True)
class SplicedSeverity:
    """Cost per claim, yuan: a body, and optionally a generalized Pareto tail spliced on it.

    With a tail (``tail_quantile`` q, ``tail_shape`` xi): the body below its q-quantile
    ``u = F_body^-1(q)``, and above ``u`` a GPD of shape xi and scale ``beta = (1 - q) / f_body(u)``
    (so the density is continuous at ``u``), with weight ``1 - q``::

        F(x) = F_body(x)                          x <= u
        F(x) = q + (1 - q) G_{xi, beta}(x - u)    x > u

    This is the scenario's severity model (``[claims.*.severity.levels]``) with the body's
    parameters given directly instead of through ``mean_yuan`` (see :meth:`from_parameters`).
    ``p1, p2`` are ``(mu, sigma)`` of log-cost for a lognormal body, ``(shape, scale)`` for gamma.
    """

    body: BodyKind
    p1: float
    p2: float
    tail_quantile: float | None = None
    tail_shape: float = 0.0

    @classmethod
    def from_parameters(
        cls,
        body: BodyKind,
        mean_yuan: float,
        cv: float,
        tail_quantile: float | None = None,
        tail_shape: float = 0.0,
    ) -> SplicedSeverity:
        """The scenario's parametrisation: body CV ``cv``, the whole distribution's mean ``mean_yuan``.

        A body of mean 1 and CV ``cv`` (``lognormal_params`` / ``gamma_params``) is spliced, then the
        whole is scaled by ``mean_yuan / mean``.
        """
        if body is BodyKind.LOGNORMAL:
            mu, sigma = lognormal_params(1.0, cv)
            unit = cls(body, float(mu), float(sigma), tail_quantile, tail_shape)
            c = mean_yuan / unit.mean()
            return cls(body, float(mu) + math.log(c), float(sigma), tail_quantile, tail_shape)
        k, theta = gamma_params(1.0, cv)
        unit = cls(body, float(k), float(theta), tail_quantile, tail_shape)
        c = mean_yuan / unit.mean()
        return cls(body, float(k), float(theta) * c, tail_quantile, tail_shape)

    @property
    def dist(self):
        return _body(self.body, self.p1, self.p2)

    @property
    def has_tail(self) -> bool:
        return self.tail_quantile is not None

    @property
    def threshold(self) -> float:
        """The splice point ``u = F_body^-1(q)``, yuan (infinite without a tail)."""
        if self.tail_quantile is None:
            return math.inf
        return float(self.dist.ppf(self.tail_quantile))

    @property
    def tail_scale(self) -> float:
        """GPD scale ``beta = (1 - q) / f_body(u)``, yuan (density continuity)."""
        if self.tail_quantile is None:
            return math.nan
        return (1.0 - self.tail_quantile) / float(self.dist.pdf(self.threshold))

    @property
    def cv_body(self) -> float:
        return body_cv(self.body, self.p1, self.p2)

    def mean(self) -> float:
        """``E[X; X <= u] + (1 - q) (u + beta / (1 - xi))``, yuan (the body's mean without a tail)."""
        if self.tail_quantile is None:
            return float(self.dist.mean())
        u, q, xi = self.threshold, self.tail_quantile, self.tail_shape
        return body_partial_mean(self.body, self.p1, self.p2, u) + (1.0 - q) * (
            u + self.tail_scale / (1.0 - xi)
        )

    def cdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.tail_quantile is None:
            return self.dist.cdf(x)
        u, q = self.threshold, self.tail_quantile
        tail = q + (1.0 - q) * stats.genpareto.cdf(
            np.maximum(x - u, 0.0), self.tail_shape, scale=self.tail_scale
        )
        return np.where(x <= u, self.dist.cdf(np.minimum(x, u)), tail)

    def sf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.tail_quantile is None:
            return self.dist.sf(x)
        u, q = self.threshold, self.tail_quantile
        tail = (1.0 - q) * stats.genpareto.sf(
            np.maximum(x - u, 0.0), self.tail_shape, scale=self.tail_scale
        )
        return np.where(x <= u, self.dist.sf(np.minimum(x, u)), tail)

    def ppf(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        if self.tail_quantile is None:
            return self.dist.ppf(p)
        u, q = self.threshold, self.tail_quantile
        body = self.dist.ppf(np.minimum(p, q))
        tail = u + stats.genpareto.ppf(
            np.clip((p - q) / (1.0 - q), 0.0, 1.0), self.tail_shape, scale=self.tail_scale
        )
        return np.where(p <= q, body, tail)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.tail_quantile is None:
            return self.dist.logpdf(x)
        u, q = self.threshold, self.tail_quantile
        tail = math.log1p(-q) + stats.genpareto.logpdf(
            np.maximum(x - u, 0.0), self.tail_shape, scale=self.tail_scale
        )
        return np.where(x <= u, self.dist.logpdf(x), tail)


# --------------------------------------------------------------------------- severity pieces


@dataclass(frozen=True)
class BodyFit:
    """A body fitted by MLE, truncated at ``upper`` (None: fitted to all claims)."""

    kind: BodyKind
    p1: float
    p2: float
    cov: np.ndarray = field(repr=False)
    """Covariance of the internal parameters: (mu, log sigma) lognormal, (log k, log scale) gamma."""
    loglik: float
    n: int
    upper: float | None

    @property
    def theta(self) -> np.ndarray:
        return _body_theta(self.kind, self.p1, self.p2)

    @property
    def cv(self) -> Estimate:
        fun = lambda t: body_cv(self.kind, *_body_params(self.kind, t))  # noqa: E731
        return Estimate(body_cv(self.kind, self.p1, self.p2), delta_se(fun, self.theta, self.cov))


def _body_theta(kind: BodyKind, p1: float, p2: float) -> np.ndarray:
    if kind is BodyKind.LOGNORMAL:
        return np.array([p1, math.log(p2)])
    return np.array([math.log(p1), math.log(p2)])


def _body_params(kind: BodyKind, theta: np.ndarray) -> tuple[float, float]:
    if kind is BodyKind.LOGNORMAL:
        return float(theta[0]), float(math.exp(theta[1]))
    return float(math.exp(theta[0])), float(math.exp(theta[1]))


def _body_nll(kind: BodyKind, x: np.ndarray, upper: float | None) -> Callable[[np.ndarray], float]:
    """Mean negative log-likelihood of a body truncated at ``upper``: ``-mean(log f(x)) + log F(upper)``.

    Through the sufficient statistics (so one evaluation costs O(1)): lognormal
    ``mean log f = -ln(2 pi)/2 - ln s - (m2 - 2 mu m1 + mu^2) / (2 s^2) - m1`` with ``m1, m2`` the
    mean log-cost and mean squared log-cost; gamma ``mean log f = (k - 1) m1 - mean(x) / theta -
    k ln theta - ln Gamma(k)``; the truncation term ``log F(upper)`` is ``log Phi((ln upper - mu) / s)``
    or ``log P(k, upper / theta)`` (regularised incomplete gamma). Tested equal to the sums of
    ``scipy.stats.lognorm`` / ``scipy.stats.gamma`` ``logpdf`` and ``logcdf``.
    """
    lx = np.log(x)
    m1 = float(lx.mean())
    m2 = float(np.mean(lx * lx))
    mx = float(x.mean())
    half_log_2pi = 0.5 * math.log(2.0 * math.pi)

    def nll(theta: np.ndarray) -> float:
        try:
            p1, p2 = _body_params(kind, theta)
        except OverflowError:
            return math.inf
        if (
            not (np.isfinite(p1) and np.isfinite(p2))
            or p2 <= 0
            or (kind is BodyKind.GAMMA and p1 <= 0)
        ):
            return math.inf
        if kind is BodyKind.LOGNORMAL:
            mu, s = p1, p2
            mean_logf = (
                -half_log_2pi - math.log(s) - (m2 - 2 * mu * m1 + mu * mu) / (2 * s * s) - m1
            )
            trunc = (
                float(special.log_ndtr((math.log(upper) - mu) / s)) if upper is not None else 0.0
            )
        else:
            k, th = p1, p2
            mean_logf = (k - 1.0) * m1 - mx / th - k * math.log(th) - float(special.gammaln(k))
            trunc = (
                math.log(max(float(special.gammainc(k, upper / th)), 1e-300))
                if upper is not None
                else 0.0
            )
        value = -mean_logf + trunc
        return value if np.isfinite(value) else math.inf

    return nll


def _body_start(kind: BodyKind, x: np.ndarray) -> np.ndarray:
    if kind is BodyKind.LOGNORMAL:
        lx = np.log(x)
        return np.array([lx.mean(), math.log(max(lx.std(), 1e-3))])
    m, v = x.mean(), x.var()
    k = max(m * m / max(v, 1e-12), 1e-2)
    return np.array([math.log(k), math.log(m / k)])


def fit_body(
    x: np.ndarray,
    kind: BodyKind,
    upper: float | None = None,
    *,
    start: np.ndarray | None = None,
    with_se: bool = True,
) -> BodyFit:
    """Body distribution by maximum likelihood on costs ``x`` (yuan), truncated at ``upper``.

    Truncated log-likelihood ``sum log f(x_i) - n log F(upper)`` over the ``x_i <= upper``; without
    ``upper`` the plain likelihood. Standard errors from the observed information (``with_se``).
    """
    x = np.asarray(x, dtype=np.float64)
    if upper is not None:
        x = x[x <= upper]
    n = x.size
    if n < 2:
        raise ClaimsDataError(f"{n} claim(s) below the tail threshold: too few to fit a body")
    nll = _body_nll(kind, x, upper)
    theta = _minimize(nll, _body_start(kind, x) if start is None else start, robust=start is None)
    cov = covariance_from_nll(lambda t: n * nll(t), theta) if with_se else np.full((2, 2), np.nan)
    p1, p2 = _body_params(kind, theta)
    return BodyFit(kind, p1, p2, cov, -n * nll(theta), n, upper)


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


# --------------------------------------------------------------------------- severity per level


@dataclass(frozen=True)
class LevelFit:
    """The fitted severity at one hospital level (costs in base-year yuan)."""

    claim_type: str
    level: str
    n: int
    model: SplicedSeverity
    """The written model (what the fragment gives the scenario)."""
    mean_yuan: Estimate
    cv: Estimate
    body: BodyFit
    tail: GPDFit | None
    tail_quantile: Estimate | None
    """Share of claims at or below the threshold, SE ``sqrt(q (1 - q) / n)``."""
    threshold_yuan: float | None
    in_policy_mean: Estimate
    in_policy_sd: Estimate
    sample_mean: Estimate
    ks_stat: float
    ks_pvalue: float
    ad_stat: float
    loglik: float
    """Log-likelihood of the written model."""
    aic_body_only: float
    aic_spliced: float
    mean_excess: pd.DataFrame = field(repr=False)
    body_loglik: dict[str, float] = field(default_factory=dict)
    """Log-likelihood of each body kind tried (truncated when there is a tail)."""
    notes: tuple[str, ...] = ()
    data: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    """The (deflated) costs the fit used, for QQ data."""


def anderson_darling(x: np.ndarray, cdf: Callable[[np.ndarray], np.ndarray]) -> float:
    """``A^2 = -n - (1/n) sum_i (2i - 1) [ln F(x_(i)) + ln(1 - F(x_(n+1-i)))]``."""
    xs = np.sort(np.asarray(x, dtype=np.float64))
    n = xs.size
    f = np.clip(cdf(xs), 1e-300, 1.0 - 1e-16)
    i = np.arange(1, n + 1)
    return float(-n - np.sum((2 * i - 1) * (np.log(f) + np.log1p(-f[::-1]))) / n)


def in_policy_moments(share: np.ndarray) -> tuple[Estimate, Estimate]:
    """Mean and standard deviation of the in-policy share, with delta-method standard errors.

    ``se(mean) = sd / sqrt(n)``; ``se(sd) = sqrt((m4 - sd^4) / n) / (2 sd)`` (m4: 4th central moment).
    """
    s = np.asarray(share, dtype=np.float64)
    n = s.size
    m = float(s.mean())
    sd = float(s.std(ddof=1)) if n > 1 else 0.0
    m4 = float(np.mean((s - m) ** 4))
    se_sd = math.sqrt(max(m4 - sd**4, 0.0) / n) / (2 * sd) if sd > 0 else math.nan
    return Estimate(m, sd / math.sqrt(n)), Estimate(sd, se_sd)


def fit_level_severity(
    cost: np.ndarray,
    in_policy_share: np.ndarray,
    *,
    claim_type: str = "inpatient",
    level: str = "",
    tail: TailMode = "auto",
    tail_quantile: float | None = None,
    bodies: Sequence[BodyKind] = (BodyKind.LOGNORMAL, BodyKind.GAMMA),
) -> LevelFit:
    """Fit the severity of one hospital level (see the module docstring for the method).

    ``cost``: positive costs per claim, yuan (already deflated to the base year);
    ``in_policy_share``: in-policy cost / total cost of the same claims. ``tail``: ``auto`` keeps the
    spliced model when its AIC beats the body alone, ``always`` / ``never`` force the choice.
    ``tail_quantile`` fixes the threshold quantile instead of choosing it.
    """
    x = np.asarray(cost, dtype=np.float64)
    n = x.size
    notes: list[str] = []
    ip_mean, ip_sd = in_policy_moments(in_policy_share)
    sd_max = math.sqrt(ip_mean.value * (1.0 - ip_mean.value))
    if ip_sd.value >= min(sd_max, MAX_IN_POLICY_SD):
        written = 0.99 * min(sd_max, MAX_IN_POLICY_SD)
        notes.append(
            f"in-policy share sd {ip_sd.value:.4f} is not a beta distribution's with mean "
            f"{ip_mean.value:.4f} (needs sd < sqrt(mean (1 - mean)) and < 0.5): written as {written:.4f}"
        )
        ip_sd = Estimate(written, ip_sd.se)
    sample_mean = Estimate(float(x.mean()), float(x.std(ddof=1) / math.sqrt(n)))

    # the no-tail candidate: each body on all claims
    full = {k: fit_body(x, k) for k in bodies}
    best_full = max(full.values(), key=lambda b: b.loglik)
    aic_body_only = 2 * 2 - 2 * best_full.loglik

    me_table = choose_threshold(x)[1]
    spliced = None
    if tail != "never":
        spliced = _choose_splice(x, me_table, bodies, tail_quantile, notes)
    if spliced is None and tail == "always":
        raise ClaimsDataError(
            f"{claim_type} claims at level {level!r}: a tail was asked for but the {n} claims leave "
            f"fewer than {MIN_TAIL_EXCESSES} above any candidate threshold"
        )

    aic_spliced = math.nan
    use_tail = False
    if spliced is not None:
        body_t, gpd, q_hat, u, model, body_ll = spliced
        aic_spliced = 2 * 4 - 2 * float(np.sum(model.logpdf(x)))
        use_tail = tail == "always" or aic_spliced < aic_body_only
        if not use_tail:
            notes.append(
                f"tail dropped: AIC {aic_spliced:.1f} with a tail, {aic_body_only:.1f} without"
            )

    if use_tail:
        theta = np.concatenate([body_t.theta, [model.tail_shape, q_hat]])
        cov = np.zeros((4, 4))
        cov[:2, :2] = body_t.cov
        cov[2, 2] = gpd.shape.se**2
        cov[3, 3] = q_hat * (1 - q_hat) / n
        kind = body_t.kind

        def mean_of(t: np.ndarray) -> float:
            p1, p2 = _body_params(kind, t[:2])
            return SplicedSeverity(kind, p1, p2, float(t[3]), float(t[2])).mean()

        mean_est = Estimate(model.mean(), delta_se(mean_of, theta, cov))
        body_fit, tail_fit = body_t, gpd
        tq = Estimate(q_hat, math.sqrt(q_hat * (1 - q_hat) / n))
        threshold = u
        implied = model.tail_scale
        if abs(implied - gpd.scale.value) > 4 * gpd.scale.se:
            notes.append(
                f"the fitted GPD scale {gpd.scale.value:.0f} yuan differs from the scale implied by "
                f"density continuity {implied:.0f} yuan by more than 4 SE: the splice is poor"
            )
    else:
        body_fit, tail_fit, tq, threshold = best_full, None, None, None
        model = SplicedSeverity(best_full.kind, best_full.p1, best_full.p2)
        kind = best_full.kind

        def mean_of(t: np.ndarray) -> float:
            return SplicedSeverity(kind, *_body_params(kind, t)).mean()

        mean_est = Estimate(model.mean(), delta_se(mean_of, best_full.theta, best_full.cov))
        body_ll = {k.value: b.loglik for k, b in full.items()}

    ks = stats.kstest(x, model.cdf)
    return LevelFit(
        claim_type=claim_type,
        level=level,
        n=n,
        model=model,
        mean_yuan=mean_est,
        cv=body_fit.cv,
        body=body_fit,
        tail=tail_fit,
        tail_quantile=tq,
        threshold_yuan=threshold,
        in_policy_mean=ip_mean,
        in_policy_sd=ip_sd,
        sample_mean=sample_mean,
        ks_stat=float(ks.statistic),
        ks_pvalue=float(ks.pvalue),
        ad_stat=anderson_darling(x, model.cdf),
        loglik=float(np.sum(model.logpdf(x))),
        aic_body_only=aic_body_only,
        aic_spliced=aic_spliced,
        mean_excess=me_table,
        body_loglik=body_ll,
        notes=tuple(notes),
        data=x,
    )


def _written_model(
    body: BodyFit, xi: float, q_hat: float, notes: list[str] | None
) -> SplicedSeverity:
    """The scenario's spliced model from a truncated body, a GPD shape and ``q``: shape kept in
    [0, MAX_TAIL_SHAPE] as the scenario requires (with a note)."""
    if xi < 0.0:
        if notes is not None:
            notes.append(
                f"fitted tail shape {xi:.3f} < 0 (a bounded tail) written as 0 (the scenario needs >= 0)"
            )
        xi = 0.0
    elif xi > MAX_TAIL_SHAPE:
        if notes is not None:
            notes.append(
                f"fitted tail shape {xi:.3f} >= 0.5 (infinite variance) written as {MAX_TAIL_SHAPE} "
                "(the scenario needs < 0.5)"
            )
        xi = MAX_TAIL_SHAPE
    return SplicedSeverity(body.kind, body.p1, body.p2, q_hat, xi)


def _choose_splice(
    x: np.ndarray,
    me_table: pd.DataFrame,
    bodies: Sequence[BodyKind],
    tail_quantile: float | None,
    notes: list[str],
):
    """The threshold and the spliced fit at it, or None when no candidate has enough excesses.

    Candidates: the quantiles from which the mean excess is linear (the smallest such and every one
    above it) with at least ``MIN_TAIL_EXCESSES`` excesses, or ``tail_quantile`` alone. At each, the
    body (the kind better at the smallest candidate) is fitted below and the GPD above; the candidate
    whose written spliced model has the highest likelihood on all claims is kept (a profile
    likelihood of the splice point). Records that likelihood in ``me_table["spliced_loglik"]``.
    """
    me_table["spliced_loglik"] = np.nan
    if tail_quantile is not None:
        candidates = [float(tail_quantile)]
    else:
        first = me_table["chosen"].to_numpy().argmax() if me_table["chosen"].any() else None
        if first is None:
            notes.append("too few claims for the mean-excess plot: no tail fitted")
            return None
        candidates = [
            float(q)
            for i, (q, ne) in enumerate(
                zip(me_table["quantile"], me_table["n_excess"], strict=True)
            )
            if i >= first and ne >= MIN_TAIL_EXCESSES
        ]
    usable = []
    for q in candidates:
        u = float(np.quantile(x, q))
        if int((x > u).sum()) >= MIN_TAIL_EXCESSES:
            usable.append((q, u))
    if not usable:
        notes.append(
            f"fewer than {MIN_TAIL_EXCESSES} claims above every candidate threshold: no tail fitted"
        )
        return None
    kind = max(
        (fit_body(x, k, upper=usable[0][1], with_se=False) for k in bodies), key=lambda b: b.loglik
    ).kind
    best = None
    start = None
    gpd_start = None
    for q, u in usable:
        body = fit_body(x, kind, upper=u, start=start, with_se=False)
        start = body.theta
        gpd = fit_gpd(x[x > u] - u, with_se=False, start=gpd_start)
        gpd_start = (gpd.shape.value, gpd.scale.value)
        model = _written_model(body, gpd.shape.value, float(np.mean(x <= u)), None)
        ll = float(np.sum(model.logpdf(x)))
        me_table.loc[np.isclose(me_table["quantile"], q), "spliced_loglik"] = ll
        if best is None or ll > best[0]:
            best = (ll, q, u)
    _, q, u = best
    trunc = {k: fit_body(x, k, upper=u) for k in bodies}
    body_t = max(trunc.values(), key=lambda b: b.loglik)
    gpd = fit_gpd(x[x > u] - u)
    q_hat = float(np.mean(x <= u))
    model = _written_model(body_t, gpd.shape.value, q_hat, notes)
    return body_t, gpd, q_hat, u, model, {k.value: b.loglik for k, b in trunc.items()}


# --------------------------------------------------------------------------- frequency


@dataclass(frozen=True)
class FrequencyFit:
    """The scenario's frequency model fitted to one claim type."""

    claim_type: str
    distribution: FrequencyKind
    rate: dict[str, Estimate]
    """Claims per person-year by category (at age factor 1, in the base year)."""
    default_rate: Estimate
    """The exposure-weighted mean of the category rates (for categories not in the data)."""
    age_factor: dict[str, Estimate]
    dispersion: Estimate | None
    """Negative binomial dispersion (variance = mean (1 + dispersion mean)); None for Poisson."""
    trend: Estimate | None
    """Yearly growth of the rate (None with one year of data)."""
    base_year: int
    loglik_poisson: float
    loglik_nb: float
    lr_stat: float
    lr_pvalue: float
    aic_poisson: float
    aic_nb: float
    pearson_chi2: float
    pearson_dof: int
    groups: pd.DataFrame = field(repr=False)
    """Per category x age band: exposure, claims, Poisson and NB fits, test, fitted claims."""
    notes: tuple[str, ...] = ()


def _nb_logpmf(k: np.ndarray, mean: np.ndarray, dispersion: float) -> np.ndarray:
    """NB log-probability with mean ``m`` and variance ``m (1 + a m)``: ``nbinom(n=1/a, p=1/(1+a m))``."""
    return stats.nbinom.logpmf(k, 1.0 / dispersion, 1.0 / (1.0 + dispersion * mean))


def _log_dispersion_start(moment_estimate: float) -> float:
    """A starting log-dispersion inside LOG_DISPERSION_BOUNDS from a moment estimate."""
    lo, hi = LOG_DISPERSION_BOUNDS
    return min(max(math.log(max(moment_estimate, 1e-3)), lo + 1.0), hi - 1.0)


def lr_pvalue_boundary(lr: float) -> float:
    """p-value of the Poisson-vs-NB LR statistic: null law ``0.5 chi2(0) + 0.5 chi2(1)``."""
    return 1.0 if lr <= 0 else 0.5 * float(stats.chi2.sf(lr, 1))


def fit_group_frequency(k: np.ndarray, weight: np.ndarray) -> dict[str, float]:
    """Poisson and negative binomial fits of one group's counts per person-year.

    ``k``: claims in a person-year; ``weight``: how many person-years had ``k`` claims. Poisson:
    ``rate = sum(w k) / sum(w)``, ``se = sqrt(rate / sum(w))``. NB by MLE on (log rate, log
    dispersion) with observed-information standard errors.
    """
    k = np.asarray(k, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    exposure = float(w.sum())
    total = float(np.sum(w * k))
    rate = total / exposure
    ll_p = float(np.sum(w * stats.poisson.logpmf(k, rate))) if rate > 0 else 0.0
    out = {
        "person_years": exposure,
        "claims": total,
        "claimants": float(w[k > 0].sum()),
        "rate_poisson": rate,
        "rate_poisson_se": math.sqrt(rate / exposure),
        "loglik_poisson": ll_p,
        "aic_poisson": 2 - 2 * ll_p,
    }
    nb = {"rate_nb": rate, "rate_nb_se": math.nan, "dispersion": 0.0, "dispersion_se": math.nan}
    ll_nb = ll_p
    if rate > 0 and np.any(k > 1):
        var = float(np.sum(w * (k - rate) ** 2) / exposure)
        a0 = max((var - rate) / rate**2, 1e-3)

        def nll(t: np.ndarray) -> float:
            v = -float(np.sum(w * _nb_logpmf(k, math.exp(t[0]), math.exp(t[1])))) / exposure
            return v if np.isfinite(v) else math.inf

        t = _minimize(
            nll, [math.log(rate), _log_dispersion_start(a0)], [(None, None), LOG_DISPERSION_BOUNDS]
        )
        ll = -exposure * nll(t)
        if ll > ll_p and t[1] > -12:
            cov = covariance_from_nll(lambda s: exposure * nll(s), t)
            nb = {
                "rate_nb": math.exp(t[0]),
                "rate_nb_se": math.exp(t[0]) * math.sqrt(cov[0, 0]),
                "dispersion": math.exp(t[1]),
                "dispersion_se": math.exp(t[1]) * math.sqrt(cov[1, 1]),
            }
            ll_nb = ll
    out.update(nb)
    lr = max(2 * (ll_nb - ll_p), 0.0)
    out.update(
        {
            "loglik_nb": ll_nb,
            "aic_nb": 4 - 2 * ll_nb,
            "lr_stat": lr,
            "lr_pvalue": lr_pvalue_boundary(lr),
        }
    )
    out["chosen"] = (
        FrequencyKind.NEGATIVE_BINOMIAL.value
        if out["lr_pvalue"] < LINEARITY_LEVEL
        else FrequencyKind.POISSON.value
    )
    return out


def fit_frequency(
    counts: pd.DataFrame, claim_type: str = "inpatient", base_year: int | None = None
) -> FrequencyFit:
    """The multiplicative frequency model for the scenario, by maximum likelihood.

    ``counts``: :func:`~simulation.claims_data.person_year_counts` (category, age_band, year,
    claims, weight). Mean claims per person-year ``r[c] f[a] (1 + trend) ** (year - base_year)``;
    Poisson and NB (common dispersion) fitted, NB kept when the LR test rejects the Poisson at 5%.
    Categories or age bands with no claims get rate / factor 0 (no standard error).
    """
    notes: list[str] = []
    df = counts.copy()
    base_year = int(df["year"].min()) if base_year is None else int(base_year)
    cats = sorted(df["category"].unique())
    bands = sorted(df["age_band"].unique(), key=_band_order)
    years = sorted(df["year"].unique())
    claims_by_cat = df.assign(t=df["claims"] * df["weight"]).groupby("category")["t"].sum()
    claims_by_band = df.assign(t=df["claims"] * df["weight"]).groupby("age_band")["t"].sum()
    live_cats = [c for c in cats if claims_by_cat.get(c, 0) > 0]
    live_bands = [b for b in bands if claims_by_band.get(b, 0) > 0]
    for c in cats:
        if c not in live_cats:
            notes.append(f"category {c!r} has no {claim_type} claims: rate 0")
    for b in bands:
        if b not in live_bands:
            notes.append(f"age band {b!r} has no {claim_type} claims: age factor 0")
    if not live_cats:
        raise ClaimsDataError(f"no {claim_type} claims to fit a frequency to")
    fit_df = df[df["category"].isin(live_cats) & df["age_band"].isin(live_bands)]
    k = fit_df["claims"].to_numpy(dtype=np.float64)
    w = fit_df["weight"].to_numpy(dtype=np.float64)
    ci = fit_df["category"].map({c: i for i, c in enumerate(live_cats)}).to_numpy()
    bi = fit_df["age_band"].map({b: i for i, b in enumerate(live_bands)}).to_numpy()
    ti = (fit_df["year"].to_numpy() - base_year).astype(np.float64)
    with_trend = len(years) > 1
    nc, nb = len(live_cats), len(live_bands)
    n_mean = nc + nb - 1 + int(with_trend)
    total_w = float(w.sum())

    def log_mean(t: np.ndarray) -> np.ndarray:
        eta = t[:nc][ci] + np.concatenate([[0.0], t[nc : nc + nb - 1]])[bi]
        if with_trend:
            eta = eta + t[nc + nb - 1] * ti
        return eta

    def nll_p(t: np.ndarray) -> float:
        return -float(np.sum(w * stats.poisson.logpmf(k, np.exp(log_mean(t))))) / total_w

    def nll_nb(t: np.ndarray) -> float:
        v = -float(np.sum(w * _nb_logpmf(k, np.exp(log_mean(t[:-1])), math.exp(t[-1])))) / total_w
        return v if np.isfinite(v) else math.inf

    # start: crude rates
    start = np.zeros(n_mean)
    exp_c = fit_df.groupby("category")["weight"].sum()
    exp_b = fit_df.groupby("age_band")["weight"].sum()
    crude = claims_by_cat[live_cats].to_numpy() / exp_c[live_cats].to_numpy()
    start[:nc] = np.log(crude)
    band_rate = claims_by_band[live_bands].to_numpy() / exp_b[live_bands].to_numpy()
    start[nc : nc + nb - 1] = np.log(band_rate[1:] / band_rate[0])
    t_p = _minimize(nll_p, start, robust=False)
    ll_p = -total_w * nll_p(t_p)
    cov_p = covariance_from_nll(lambda t: total_w * nll_p(t), t_p)

    mean_p = np.exp(log_mean(t_p))
    resid_var = float(np.sum(w * ((k - mean_p) ** 2 - mean_p)) / np.sum(w * mean_p**2))
    t_nb = _minimize(
        nll_nb,
        np.concatenate([t_p, [_log_dispersion_start(resid_var)]]),
        [(None, None)] * n_mean + [LOG_DISPERSION_BOUNDS],
        robust=False,
    )
    ll_nb = -total_w * nll_nb(t_nb)
    lr = max(2 * (ll_nb - ll_p), 0.0)
    pval = lr_pvalue_boundary(lr)
    use_nb = pval < LINEARITY_LEVEL and t_nb[-1] > -12
    if use_nb:
        theta, cov = t_nb, covariance_from_nll(lambda t: total_w * nll_nb(t), t_nb)
        dispersion = Estimate(math.exp(theta[-1]), math.exp(theta[-1]) * math.sqrt(cov[-1, -1]))
        dist = FrequencyKind.NEGATIVE_BINOMIAL
    else:
        theta, cov, dispersion, dist = t_p, cov_p, None, FrequencyKind.POISSON

    # normalise age factors: exposure-weighted mean 1 (on the log scale a linear shift)
    band_exposure = np.array([exp_b[b] for b in live_bands])
    wts = band_exposure / band_exposure.sum()

    def normalised(t: np.ndarray) -> np.ndarray:
        log_f = np.concatenate([[0.0], t[nc : nc + nb - 1]])
        shift = math.log(float(np.sum(wts * np.exp(log_f))))
        return np.concatenate([t[:nc] + shift, log_f - shift])

    jac = np.array(
        [numerical_gradient(lambda t, j=j: normalised(t)[j], theta) for j in range(nc + nb)]
    )
    logs = normalised(theta)
    cov_n = jac @ cov @ jac.T
    se_log = np.sqrt(np.clip(np.diag(cov_n), 0.0, None))
    rate = {c: Estimate(0.0) for c in cats}
    for i, c in enumerate(live_cats):
        rate[c] = Estimate(math.exp(logs[i]), math.exp(logs[i]) * se_log[i])
    age_factor = {b: Estimate(0.0) for b in bands}
    for j, b in enumerate(live_bands):
        age_factor[b] = Estimate(math.exp(logs[nc + j]), math.exp(logs[nc + j]) * se_log[nc + j])
    trend = None
    if with_trend:
        g = theta[nc + nb - 1]
        trend = Estimate(
            math.expm1(g), math.exp(g) * math.sqrt(max(cov[nc + nb - 1, nc + nb - 1], 0.0))
        )

    # default rate: mean of category rates weighted by standardised exposure E f (1+trend)^t
    fitted = np.exp(log_mean(theta[:n_mean]))
    std_exp = (
        fit_df.assign(m=w * fitted / np.exp(theta[:nc])[ci])
        .groupby("category")["m"]
        .sum()[live_cats]
        .to_numpy()
    )
    std_w = std_exp / std_exp.sum()
    r_live = np.array([rate[c].value for c in live_cats])
    grad = std_w * r_live  # d default / d log r_c
    default = Estimate(
        float(np.sum(std_w * r_live)), float(math.sqrt(max(grad @ cov_n[:nc, :nc] @ grad, 0.0)))
    )

    vague = [f"rate[{c}]" for c in live_cats if not rate[c].se < rate[c].value]
    vague += [f"age_factor[{b}]" for b in live_bands if not age_factor[b].se < age_factor[b].value]
    if dispersion is not None and not dispersion.se < dispersion.value:
        vague.append("dispersion")
    if vague:
        notes.append(
            f"poorly determined by the data (standard error above the value): {', '.join(vague)}"
        )
    groups = _group_table(df, fit_df, fitted, dispersion.value if dispersion else 0.0)
    pearson = float(np.nansum(groups["pearson"] ** 2))
    dof = int(groups["pearson"].notna().sum()) - n_mean - int(use_nb)
    return FrequencyFit(
        claim_type=claim_type,
        distribution=dist,
        rate=rate,
        default_rate=default,
        age_factor=age_factor,
        dispersion=dispersion,
        trend=trend,
        base_year=base_year,
        loglik_poisson=ll_p,
        loglik_nb=ll_nb,
        lr_stat=lr,
        lr_pvalue=pval,
        aic_poisson=2 * n_mean - 2 * ll_p,
        aic_nb=2 * (n_mean + 1) - 2 * ll_nb,
        pearson_chi2=pearson,
        pearson_dof=dof,
        groups=groups,
        notes=tuple(notes),
    )


def _band_order(label: str) -> int:
    m = re.match(r"^\s*(\d+)", str(label))
    return int(m.group(1)) if m else 0


def _group_table(
    df: pd.DataFrame, fit_df: pd.DataFrame, fitted: np.ndarray, dispersion: float
) -> pd.DataFrame:
    rows = []
    expected = (
        fit_df.assign(e=fit_df["weight"] * fitted).groupby(["category", "age_band"])["e"].sum()
    )
    for (c, b), g in df.groupby(["category", "age_band"], sort=True):
        row = {"category": c, "age_band": b}
        row.update(fit_group_frequency(g["claims"].to_numpy(), g["weight"].to_numpy()))
        e = float(expected.get((c, b), 0.0))
        row["expected_claims"] = e
        var = e * (1 + dispersion * e / row["person_years"]) if e > 0 else math.nan
        row["pearson"] = (row["claims"] - e) / math.sqrt(var) if e > 0 else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- severity per claim type


@dataclass(frozen=True)
class SeverityFit:
    claim_type: str
    base_year: int
    trend: Estimate | None
    """Yearly growth of cost per claim (None: one year of data, or fixed by the caller)."""
    trend_fixed: bool
    levels: dict[str, LevelFit]
    level_mix: dict[str, dict[str, Estimate]]
    """Share of claims by level, by category, and ``default`` for all categories together."""
    notes: tuple[str, ...] = ()


def severity_trend(log_cost: np.ndarray, years: np.ndarray, levels: np.ndarray) -> Estimate:
    """Yearly cost growth from ``log cost = level effect + year * log(1 + g)`` (least squares).

    Returns ``g`` with the delta-method standard error ``(1 + g) se(log(1 + g))``.
    """
    y = np.asarray(log_cost, dtype=np.float64)
    lv = pd.Categorical(levels)
    x = np.column_stack(
        [np.asarray(years, dtype=np.float64), pd.get_dummies(lv).to_numpy(dtype=np.float64)]
    )
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    dof = max(y.size - x.shape[1], 1)
    s2 = float(resid @ resid) / dof
    cov = s2 * np.linalg.pinv(x.T @ x)
    b = float(coef[0])
    return Estimate(math.expm1(b), math.exp(b) * math.sqrt(max(cov[0, 0], 0.0)))


def fit_severity(
    claims: pd.DataFrame,
    claim_type: str = "inpatient",
    base_year: int | None = None,
    *,
    trend: float | None = None,
    tail: TailMode = "auto",
    tail_quantile: float | None = None,
) -> SeverityFit:
    """Severity by hospital level for one claim type (``claims`` holds only that type).

    ``trend``: yearly cost growth used to deflate costs to ``base_year``; None estimates it (when the
    data span more than one year).
    """
    path = claims.attrs.get("path", "claims table")
    lines = claims["line"].to_numpy()
    total = claims["total_cost"].to_numpy(dtype=np.float64)
    raise_problems(
        path,
        [
            rows_problem(
                f"total_cost is 0: a {claim_type} cost model needs positive costs (remove these claims "
                "or give them a cost)",
                total <= 0,
                lines,
                total,
            )
        ],
    )
    notes: list[str] = []
    years = claims["year"].to_numpy()
    base_year = int(years.min()) if base_year is None else int(base_year)
    trend_est: Estimate | None
    if trend is not None:
        trend_est, fixed = Estimate(float(trend)), True
    elif np.unique(years).size > 1:
        trend_est, fixed = (
            severity_trend(np.log(total), years, claims["hospital_level"].to_numpy()),
            False,
        )
    else:
        trend_est, fixed = None, False
    g = trend_est.value if trend_est is not None else 0.0
    deflated = total / (1.0 + g) ** (years - base_year)
    share = claims["in_policy_cost"].to_numpy(dtype=np.float64) / total
    level_col = claims["hospital_level"].to_numpy()

    levels: dict[str, LevelFit] = {}
    for lv in LEVELS:
        sel = level_col == lv.value
        n = int(sel.sum())
        if n == 0:
            notes.append(f"no {claim_type} claims at level {lv.value!r}: not fitted")
            continue
        if n < MIN_LEVEL_CLAIMS:
            notes.append(
                f"{n} {claim_type} claims at level {lv.value!r} (< {MIN_LEVEL_CLAIMS}): not fitted"
            )
            continue
        levels[lv.value] = fit_level_severity(
            deflated[sel],
            share[sel],
            claim_type=claim_type,
            level=lv.value,
            tail=tail,
            tail_quantile=tail_quantile,
        )

    mix: dict[str, dict[str, Estimate]] = {}
    for cat, sub in [("default", claims), *sorted(claims.groupby("category"), key=lambda t: t[0])]:
        n = len(sub)
        counts = sub["hospital_level"].value_counts()
        mix[str(cat)] = {
            lv.value: Estimate(
                float(counts.get(lv.value, 0)) / n,
                math.sqrt(counts.get(lv.value, 0) / n * (1 - counts.get(lv.value, 0) / n) / n),
            )
            for lv in LEVELS
        }
    return SeverityFit(claim_type, base_year, trend_est, fixed, levels, mix, tuple(notes))


# --------------------------------------------------------------------------- the whole fit


@dataclass(frozen=True)
class ClaimTypeFit:
    claim_type: str
    frequency: FrequencyFit
    severity: SeverityFit


@dataclass(frozen=True)
class FitResult:
    """Everything fitted from a claims table and its exposure table."""

    claim_types: dict[str, ClaimTypeFit]
    base_year: int
    years: tuple[int, ...]
    claims_source: str = ""
    exposure_source: str = ""
    n_claims: int = 0


def fit_claims(
    claims: pd.DataFrame,
    exposure: pd.DataFrame,
    *,
    base_year: int | None = None,
    severity_trend: float | None = None,
    tail: TailMode = "auto",
    tail_quantile: float | None = None,
) -> FitResult:
    """Fit frequency and severity for every claim type in ``claims`` (see the module docstring).

    ``claims`` from :func:`~simulation.claims_data.read_claims`, ``exposure`` from
    :func:`~simulation.claims_data.read_exposure`. ``base_year`` (default: the first year of the
    exposure table) is the year the fitted rates and costs refer to. ``severity_trend`` fixes the
    yearly cost growth instead of estimating it.
    """
    if "age_band" not in claims.columns:
        claims = with_age_bands(claims, exposure)
    years = tuple(sorted(int(y) for y in exposure["year"].unique()))
    base = years[0] if base_year is None else int(base_year)
    out: dict[str, ClaimTypeFit] = {}
    for ct in CLAIM_TYPES:
        sub = claims[claims["claim_type"] == ct.value]
        if sub.empty:
            continue
        sub.attrs.update(claims.attrs)
        counts = person_year_counts(sub, exposure)
        freq = fit_frequency(counts, ct.value, base)
        sev = fit_severity(
            sub, ct.value, base, trend=severity_trend, tail=tail, tail_quantile=tail_quantile
        )
        out[ct.value] = ClaimTypeFit(ct.value, freq, sev)
    if not out:
        raise ClaimsDataError(f"{claims.attrs.get('path', 'claims table')}: no claims to fit")
    return FitResult(
        out,
        base,
        years,
        claims.attrs.get("path", ""),
        exposure.attrs.get("path", ""),
        len(claims),
    )


# --------------------------------------------------------------------------- goodness of fit


def goodness_of_fit_table(result: FitResult) -> pd.DataFrame:
    """One row per claim type x hospital level: the written model and its fit statistics.

    KS p-values ignore that the parameters were estimated from the same data (so they are too
    large); read them as a ranking, the statistics as distances.
    """
    rows = []
    for ct, f in result.claim_types.items():
        for lv, lf in f.severity.levels.items():
            rows.append(
                {
                    "claim_type": ct,
                    "level": lv,
                    "n": lf.n,
                    "body": lf.model.body.value,
                    "mean_yuan": lf.mean_yuan.value,
                    "sample_mean": lf.sample_mean.value,
                    "cv": lf.cv.value,
                    "tail_q": lf.model.tail_quantile if lf.model.has_tail else math.nan,
                    "tail_shape": lf.model.tail_shape if lf.model.has_tail else math.nan,
                    "ks": lf.ks_stat,
                    "ks_p": lf.ks_pvalue,
                    "ad": lf.ad_stat,
                }
            )
    return pd.DataFrame(rows)


def _pearson_text(fr: FrequencyFit) -> str:
    if fr.pearson_dof <= 0:
        return f"Pearson chi2 {fr.pearson_chi2:.1f} (no degrees of freedom left: too few groups)"
    return f"Pearson chi2 {fr.pearson_chi2:.1f} on {fr.pearson_dof} df"


def format_report(result: FitResult) -> str:
    """The fit summary the CLI prints: frequency per claim type, then the severity goodness of fit."""
    lines = []
    for ct, f in result.claim_types.items():
        fr = f.frequency
        disp = (
            f", dispersion {fr.dispersion.value:.3f} (SE {fr.dispersion.se:.3f})"
            if fr.dispersion
            else ""
        )
        lines.append(
            f"{ct} frequency: {fr.distribution.value}{disp}; Poisson vs NB LR {fr.lr_stat:.1f} "
            f"(p {fr.lr_pvalue:.3g}); {_pearson_text(fr)}"
        )
        for note in (*fr.notes, *f.severity.notes):
            lines.append(f"  note: {note}")
    table = goodness_of_fit_table(result)
    if not table.empty:
        formats = {
            "mean_yuan": "{:.0f}".format,
            "sample_mean": "{:.0f}".format,
            "cv": "{:.3f}".format,
            "tail_q": "{:.3f}".format,
            "tail_shape": "{:.3f}".format,
            "ks": "{:.4f}".format,
            "ks_p": "{:.3f}".format,
            "ad": "{:.2f}".format,
        }
        lines.append(
            "severity goodness of fit (KS p-values ignore that parameters were estimated):"
        )
        lines.append(table.to_string(index=False, formatters=formats, na_rep="-"))
    for ct, f in result.claim_types.items():
        for lv, lf in f.severity.levels.items():
            for note in lf.notes:
                lines.append(f"  note: {ct}/{lv}: {note}")
    return "\n".join(lines)


def qq_data(result: FitResult) -> pd.DataFrame:
    """QQ points per claim type x level: ``probability`` (plotting position (i - 0.5)/n), the
    ``empirical`` order statistic and the ``model`` quantile (base-year yuan)."""
    frames = []
    for ct, f in result.claim_types.items():
        for lv, lf in f.severity.levels.items():
            xs = np.sort(lf.data)
            n = xs.size
            if n > MAX_QQ_POINTS:
                idx = np.unique(
                    np.concatenate(
                        [
                            np.linspace(0, n - 1, MAX_QQ_POINTS).round().astype(np.int64),
                            np.arange(max(n - 200, 0), n),
                        ]
                    )
                )
            else:
                idx = np.arange(n)
            p = (idx + 0.5) / n
            frames.append(
                pd.DataFrame(
                    {
                        "claim_type": ct,
                        "level": lv,
                        "probability": p,
                        "empirical": xs[idx],
                        "model": lf.model.ppf(p),
                    }
                )
            )
    return (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["claim_type", "level", "probability", "empirical", "model"])
    )


def _atomic_savefig(fig, path: str | Path) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, format="png", dpi=100)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def plot_qq(result: FitResult, path: str | Path) -> None:
    """Write a QQ plot (log-log, one panel per claim type x level) as PNG (matplotlib, Agg)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    data = qq_data(result)
    panels = list(data.groupby(["claim_type", "level"], sort=False))
    ncol = min(3, max(len(panels), 1))
    nrow = max(1, math.ceil(len(panels) / ncol))
    fig = Figure(figsize=(4 * ncol, 3.6 * nrow))
    FigureCanvasAgg(fig)
    for i, ((ct, lv), d) in enumerate(panels):
        ax = fig.add_subplot(nrow, ncol, i + 1)
        ax.loglog(d["model"], d["empirical"], ".", ms=2)
        lo = float(min(d["model"].min(), d["empirical"].min()))
        hi = float(max(d["model"].max(), d["empirical"].max()))
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
        lf = result.claim_types[ct].severity.levels[lv]
        if lf.threshold_yuan is not None:
            ax.axvline(lf.model.threshold, color="grey", ls=":", lw=0.8)
        ax.set_title(f"{ct} / {lv} (n={lf.n})", fontsize=9)
        ax.set_xlabel("model quantile, yuan", fontsize=8)
        ax.set_ylabel("claim cost, yuan", fontsize=8)
    fig.tight_layout()
    _atomic_savefig(fig, path)


def plot_mean_excess(result: FitResult, path: str | Path) -> None:
    """Write the mean-excess plots as PNG: one panel per claim type x level, the empirical mean
    excess at the quantiles 0.50, 0.51, ..., 0.99 with 2-SE bars, the candidate thresholds shaded
    and the chosen one dotted."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = [
        (ct, lv, lf) for ct, f in result.claim_types.items() for lv, lf in f.severity.levels.items()
    ]
    grid = tuple(round(0.50 + 0.01 * i, 2) for i in range(50))
    ncol = min(3, max(len(panels), 1))
    nrow = max(1, math.ceil(len(panels) / ncol))
    fig = Figure(figsize=(4 * ncol, 3.6 * nrow))
    FigureCanvasAgg(fig)
    for i, (ct, lv, lf) in enumerate(panels):
        ax = fig.add_subplot(nrow, ncol, i + 1)
        t, _ = mean_excess(lf.data, grid)
        t = t[t["n_excess"] >= MIN_EXCESS_POINT]
        ax.errorbar(t["threshold"], t["mean_excess"], yerr=2 * t["se"], fmt="o", ms=2, lw=0.8)
        cand = lf.mean_excess["threshold"]
        ax.axvspan(float(cand.min()), float(cand.max()), color="grey", alpha=0.15, lw=0)
        if lf.threshold_yuan is not None:
            ax.axvline(lf.threshold_yuan, color="k", ls=":", lw=0.8)
        ax.set_title(f"{ct} / {lv}", fontsize=9)
        ax.set_xlabel("threshold, yuan", fontsize=8)
        ax.set_ylabel("mean excess, yuan", fontsize=8)
    fig.tight_layout()
    _atomic_savefig(fig, path)


# --------------------------------------------------------------------------- the TOML fragment


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else json.dumps(name, ensure_ascii=False)


def _num(value: float, digits: int = 6) -> str:
    if not math.isfinite(value):
        raise FundsimError(
            f"cannot write a non-finite fitted value ({value}) to a scenario fragment"
        )
    text = f"{value:.{digits}g}"
    return text if any(ch in text for ch in ".en") else text + ".0"


def _se(est: Estimate, digits: int = 3) -> str:
    return f"SE {est.se:.{digits}g}" if math.isfinite(est.se) else "SE n/a"


def format_level_mix(mix: dict[str, Estimate]) -> str:
    """A level mix as a TOML inline table of shares with 4 decimals that sum to exactly 1 (the
    scenario checks the sum): shares rounded down to 1/10,000, the units left over given to the
    largest remainders."""
    names = [lv.value for lv in LEVELS]
    raw = np.array([max(mix[n].value, 0.0) for n in names])
    units = raw / raw.sum() * 10_000
    whole = np.floor(units).astype(np.int64)
    for i in np.argsort(-(units - whole), kind="stable")[: 10_000 - int(whole.sum())]:
        whole[i] += 1
    return (
        "{ "
        + ", ".join(f"{n} = {_num(w / 10_000, 6)}" for n, w in zip(names, whole, strict=True))
        + " }"
    )


def to_fragment(result: FitResult) -> str:
    """A TOML scenario fragment with the fitted parameters, in the scenario file's own schema.

    It holds only ``[claims.<type>.frequency]`` and ``[claims.<type>.severity]`` tables (no
    ``name`` or ``start_year``): a scenario uses it with ``extends = "fragment.toml"`` and states
    everything else; its own keys override the fragment's. Each value's standard error is in a
    comment.
    """
    years = result.years
    span = f"{years[0]}" if len(years) == 1 else f"{years[0]}-{years[-1]}"
    out = [
        "# Illness-cost parameters fitted by `fundsim fit` (simulation.fit).",
        f"# Claims: {result.claims_source or 'n/a'} ({result.n_claims} claims); "
        f"exposure: {result.exposure_source or 'n/a'}; years {span}.",
        f"# Rates and costs refer to {result.base_year} (use it as the scenario's start_year).",
        '# A fragment, not a whole scenario: a scenario says extends = "<this file>" and adds the rest.',
        "# SE = asymptotic standard error (observed information, delta method).",
        "",
    ]
    for ct, f in result.claim_types.items():
        out += _frequency_lines(ct, f.frequency)
        out += _severity_lines(ct, f.severity)
    return "\n".join(out).rstrip() + "\n"


def _frequency_lines(ct: str, fr: FrequencyFit) -> list[str]:
    lines = [f"[claims.{ct}.frequency]"]
    verdict = (
        "Poisson rejected at 5%"
        if fr.distribution is FrequencyKind.NEGATIVE_BINOMIAL
        else "NB not significantly better at 5%"
    )
    lines.append(
        f'distribution = "{fr.distribution.value}"   # LR test of Poisson vs NB: {fr.lr_stat:.2f}, '
        f"p = {fr.lr_pvalue:.3g} ({verdict}); AIC Poisson {fr.aic_poisson:.1f}, NB {fr.aic_nb:.1f}"
    )
    if fr.dispersion is not None:
        lines.append(
            f"dispersion = {_num(fr.dispersion.value, 5)}   # {_se(fr.dispersion)}; variance = mean * (1 + dispersion * mean)"
        )
    if fr.trend is not None:
        lines.append(
            f"trend = {_num(fr.trend.value, 4)}   # {_se(fr.trend)}; yearly growth of the rate"
        )
    lines.append(f"# Goodness of fit by category x age band: {_pearson_text(fr)}.")
    for note in fr.notes:
        lines.append(f"# Note: {note}")
    lines.append("")
    lines.append(
        f"[claims.{ct}.frequency.rate]   # claims per person-year at age factor 1, {fr.base_year}"
    )
    lines.append(
        f"default = {_num(fr.default_rate.value, 5)}   # {_se(fr.default_rate)}; "
        "exposure-weighted mean of the categories below"
    )
    groups = fr.groups.groupby("category")[["person_years", "claims"]].sum()
    for cat, est in fr.rate.items():
        py, cl = groups.loc[cat, "person_years"], groups.loc[cat, "claims"]
        lines.append(
            f"{_key(cat)} = {_num(est.value, 5)}   # {_se(est)}; {cl:.0f} claims in {py:.0f} person-years"
        )
    lines.append("")
    lines.append(f"[claims.{ct}.frequency.age_factor]   # exposure-weighted mean 1")
    for band, est in fr.age_factor.items():
        lines.append(f"{_key(band)} = {_num(est.value, 5)}   # {_se(est)}")
    lines.append("")
    return lines


def _severity_lines(ct: str, sv: SeverityFit) -> list[str]:
    lines = [f"[claims.{ct}.severity]"]
    if sv.trend is not None:
        how = "given" if sv.trend_fixed else f"fitted, {_se(sv.trend)}"
        lines.append(
            f"trend = {_num(sv.trend.value, 4)}   # yearly growth of cost per claim ({how}); "
            f"costs deflated to {sv.base_year}"
        )
    else:
        lines.append(f"# trend: not fitted (one year of data, {sv.base_year})")
    for note in sv.notes:
        lines.append(f"# Note: {note}")
    lines.append("")
    lines.append(f"[claims.{ct}.severity.level_mix]   # share of claims by hospital level")
    for cat, mix in sv.level_mix.items():
        ses = ", ".join(f"{lv} {mix[lv].se:.2g}" for lv in mix)
        lines.append(f"{_key(cat)} = {format_level_mix(mix)}   # SE {ses}")
    lines.append("")
    for lv, lf in sv.levels.items():
        lines += _level_lines(ct, lv, lf)
    return lines


def _level_lines(ct: str, lv: str, lf: LevelFit) -> list[str]:
    m = lf.model
    head = f"[claims.{ct}.severity.levels.{lv}]   # {lf.n} claims; sample mean {lf.sample_mean.value:.1f} yuan ({_se(lf.sample_mean)})"
    tried = ", ".join(f"{k} {v:.1f}" for k, v in lf.body_loglik.items())
    lines = [
        head,
        f'body = "{m.body.value}"   # log-likelihood {"below the threshold" if m.has_tail else "of all claims"}: {tried}',
        f"mean_yuan = {_num(lf.mean_yuan.value, 7)}   # {_se(lf.mean_yuan)}; mean of the fitted model",
        f"cv = {_num(lf.cv.value, 5)}   # {_se(lf.cv)}; CV of the body",
        f"in_policy_mean = {_num(lf.in_policy_mean.value, 5)}   # {_se(lf.in_policy_mean)}",
        f"in_policy_sd = {_num(lf.in_policy_sd.value, 5)}   # {_se(lf.in_policy_sd)}",
        f"# Fit: KS {lf.ks_stat:.4f} (p {lf.ks_pvalue:.3g}, parameters estimated), Anderson-Darling {lf.ad_stat:.3f}; "
        f"AIC body alone {lf.aic_body_only:.1f}, with tail {lf.aic_spliced:.1f}.",
    ]
    for note in lf.notes:
        lines.append(f"# Note: {note}")
    if m.has_tail and lf.tail is not None and lf.tail_quantile is not None:
        lines += [
            "",
            f"[claims.{ct}.severity.levels.{lv}.tail]   # threshold {lf.threshold_yuan:.0f} yuan from the "
            f"mean-excess plot; {lf.tail.n} excesses",
            f"quantile = {_num(m.tail_quantile, 6)}   # {_se(lf.tail_quantile)}; share of claims below the threshold",
            f"shape = {_num(m.tail_shape, 4)}   # {_se(lf.tail.shape)}; GPD scale fitted {lf.tail.scale.value:.0f} "
            f"yuan ({_se(lf.tail.scale)}), implied by continuity {m.tail_scale:.0f} yuan",
        ]
    lines.append("")
    return lines
