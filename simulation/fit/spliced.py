"""The spliced severity as the fits use it: a lognormal or gamma body, optionally with a generalized
Pareto tail above the body's ``q``-quantile (:class:`SplicedSeverity`), and the body's CV and
partial mean. Costs per claim in yuan."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..models.severity import gamma_params, lognormal_params
from ..scenario.schema import BodyKind


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
