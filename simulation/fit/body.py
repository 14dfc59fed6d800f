"""The body of a severity (lognormal or gamma) by maximum likelihood on the claims at or below a
threshold (truncated) or on all claims: :class:`BodyFit` and :func:`fit_body`. Costs in yuan;
internal parameters (mu, log sigma) for a lognormal, (log shape, log scale) for a gamma."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from ..errors import ClaimsDataError
from ..scenario.schema import BodyKind
from .estimates import Estimate, _minimize, covariance_from_nll, delta_se
from .spliced import body_cv


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
