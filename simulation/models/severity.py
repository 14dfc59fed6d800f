"""Cost per claim (yuan): a lognormal or gamma body, optionally spliced with a generalized Pareto tail.

A distribution's mean and coefficient of variation (CV) are turned into its parameters and back
in one place, :mod:`simulation.models.laws` (:func:`lognormal_params`, :func:`gamma_params`,
:func:`beta_params` and their inverses, imported here), which also holds the body's and the GPD
tail's functions that this module splices.

The spliced severity (:class:`SplicedSeverity`)
-----------------------------------------------
A *body* B (lognormal or gamma) with CV ``cv`` is cut at its ``q``-quantile ``u = F_B^-1(q)``
(``q`` = ``tail.quantile``). Below ``u`` the cost follows the body (weight ``q``: the body truncated
at ``u``); above ``u`` it is ``u + Y`` with weight ``1 - q``, ``Y`` a generalized Pareto (GPD) of
shape ``xi`` (``tail.shape``) and scale ``beta = (1 - q) / f_B(u)``, the scale that makes the
density continuous at ``u``::

    F(x) = F_B(x)                            0 <= x <= u
    F(x) = q + (1 - q) G(x - u)              x > u,    G(y) = 1 - (1 + xi y / beta) ^ (-1 / xi)

(``G(y) = 1 - exp(-y / beta)`` when ``xi = 0``.) The whole distribution is then scaled (every cost
multiplied by one factor) so that its mean is ``mean_yuan``. The CV given is therefore **the body's
CV before splicing**; the spliced distribution's CV is larger (its tail is heavier). Scaling keeps
``q``, ``xi`` and the body's CV, so the construction is the same at any cost level. Without a tail
the severity is the body itself, with mean ``mean_yuan`` and CV ``cv``.

Raw moments ``E[X^k]`` are finite for ``k xi < 1`` (closed forms below), infinite otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ..scenario.schema import BodyKind, LevelSeverity, Severity
from .laws import (
    _body_cdf,
    _body_moment,
    _body_partial_moment,
    _body_pdf,
    _body_ppf,
    _body_sf,
    _check_mean_cv,
    _gpd_isf,
    _gpd_limited_mean,
    _gpd_moment,
    _gpd_pdf,
    _gpd_sf,
    _scale_body,
    _unit_body,
    beta_mean_sd,
    beta_params,
    gamma_mean_cv,
    gamma_params,
    lognormal_mean_cv,
    lognormal_params,
)

__all__ = [
    "SplicedSeverity",
    "beta_mean_sd",
    "beta_params",
    "cost_trend_factor",
    "gamma_mean_cv",
    "gamma_params",
    "lognormal_mean_cv",
    "lognormal_params",
    "sample_in_policy_share",
    "severity_from_config",
]


# --------------------------------------------------------------------------- the spliced severity


def _as_output(x_in: ArrayLike, out: NDArray) -> float | NDArray:
    """A float for a scalar input, an array of the input's shape otherwise."""
    return float(out) if np.ndim(x_in) == 0 else out


@dataclass(frozen=True)
class SplicedSeverity:
    """Cost per claim, yuan: a body spliced with a GPD tail, scaled to a mean (see the module doc).

    ``cv`` is the body's coefficient of variation *before splicing*; ``tail_quantile`` ``q`` and
    ``tail_shape`` ``xi`` (``0 <= xi < 1``) define the tail, ``tail_quantile=None`` for none.
    The derived attributes give the distribution in yuan: ``p1, p2`` the body's parameters
    (``(mu, sigma)`` of log-cost, or gamma ``(shape, scale)``), ``threshold`` ``u`` (``inf`` without a
    tail) and ``gpd_scale`` ``beta``.
    """

    body: BodyKind
    mean_yuan: float
    cv: float
    tail_quantile: float | None = None
    tail_shape: float = 0.0
    p1: float = field(init=False, compare=False)
    p2: float = field(init=False, compare=False)
    threshold: float = field(init=False, compare=False)
    gpd_scale: float = field(init=False, compare=False)

    def __post_init__(self) -> None:
        body = BodyKind(self.body)
        object.__setattr__(self, "body", body)
        _check_mean_cv(self.mean_yuan, self.cv, f"{body.value} severity")
        q, xi = self.tail_quantile, self.tail_shape
        if q is not None and not 0.0 < q < 1.0:
            raise ValueError(
                f"tail quantile: expected a number strictly between 0 and 1, found {q!r}"
            )
        if not 0.0 <= xi < 1.0:
            raise ValueError(
                f"tail shape: expected a number from 0 to below 1 (so the mean is finite), found {xi!r}"
            )
        p1, p2 = _unit_body(body, self.cv)
        if q is None:
            u, beta, unit_mean = math.inf, math.nan, 1.0
        else:
            u = float(_body_ppf(body, p1, p2, np.float64(q)))
            beta = (1.0 - q) / float(_body_pdf(body, p1, p2, np.float64(u)))
            below = float(_body_partial_moment(body, p1, p2, 1.0, np.float64(u)))
            unit_mean = below + (1.0 - q) * (u + beta / (1.0 - xi))
        factor = self.mean_yuan / unit_mean
        p1, p2 = _scale_body(body, p1, p2, factor)
        object.__setattr__(self, "p1", p1)
        object.__setattr__(self, "p2", p2)
        object.__setattr__(self, "threshold", u * factor)
        object.__setattr__(self, "gpd_scale", beta * factor)

    # ----------------------------------------------------------- moments

    @property
    def _q(self) -> float:
        """The tail's starting quantile (only called when :attr:`has_tail`)."""
        if self.tail_quantile is None:
            raise ValueError("this severity has no tail")
        return self.tail_quantile

    @property
    def has_tail(self) -> bool:
        return self.tail_quantile is not None

    def mean(self) -> float:
        """``E[X]`` = ``mean_yuan``, yuan."""
        return self.mean_yuan

    def moment(self, k: int) -> float:
        """Raw moment ``E[X^k]`` (yuan^k) for an integer ``k >= 0``; ``inf`` when ``k xi >= 1``.

        With a tail: ``E[B^k; B <= u] + (1 - q) sum_{j=0..k} C(k, j) u^(k-j) E[Y^j]``.
        """
        if int(k) != k or k < 0:
            raise ValueError(f"moment order: expected a whole number of at least 0, found {k!r}")
        k = int(k)
        if k == 0:
            return 1.0
        if not self.has_tail:
            return _body_moment(self.body, self.p1, self.p2, k)
        q, xi, u, beta = self._q, self.tail_shape, self.threshold, self.gpd_scale
        if k * xi >= 1.0:
            return math.inf
        below = float(_body_partial_moment(self.body, self.p1, self.p2, k, np.float64(u)))
        above = sum(math.comb(k, j) * u ** (k - j) * _gpd_moment(xi, beta, j) for j in range(k + 1))
        return below + (1.0 - q) * above

    def var(self) -> float:
        """``Var X = E[X^2] - E[X]^2``, yuan^2 (``inf`` when ``xi >= 1/2``)."""
        m2 = self.moment(2)
        return m2 - self.mean_yuan**2 if math.isfinite(m2) else math.inf

    # ----------------------------------------------------------- distribution functions

    def pdf(self, x: ArrayLike) -> float | NDArray:
        """Density, per yuan: ``f_B(x)`` up to ``u``, ``(1 - q) g(x - u)`` above."""
        xa = np.asarray(x, dtype=np.float64)
        out = _body_pdf(self.body, self.p1, self.p2, xa)
        if self.has_tail:
            u = self.threshold
            tail = (1.0 - self._q) * _gpd_pdf(
                self.tail_shape, self.gpd_scale, np.maximum(xa - u, 0.0)
            )
            out = np.where(xa > u, tail, out)
        return _as_output(x, out)

    def cdf(self, x: ArrayLike) -> float | NDArray:
        """``P(X <= x)``: ``F_B(x)`` up to ``u``, ``1 - (1 - q) S_GPD(x - u)`` above."""
        xa = np.asarray(x, dtype=np.float64)
        out = _body_cdf(self.body, self.p1, self.p2, xa)
        if self.has_tail:
            u = self.threshold
            tail = 1.0 - (1.0 - self._q) * _gpd_sf(
                self.tail_shape, self.gpd_scale, np.maximum(xa - u, 0.0)
            )
            out = np.where(xa > u, tail, out)
        return _as_output(x, out)

    def sf(self, x: ArrayLike) -> float | NDArray:
        """``P(X > x)``: ``S_B(x)`` up to ``u``, ``(1 - q) S_GPD(x - u)`` above (accurate far out)."""
        xa = np.asarray(x, dtype=np.float64)
        out = _body_sf(self.body, self.p1, self.p2, xa)
        if self.has_tail:
            u = self.threshold
            tail = (1.0 - self._q) * _gpd_sf(
                self.tail_shape, self.gpd_scale, np.maximum(xa - u, 0.0)
            )
            out = np.where(xa > u, tail, out)
        return _as_output(x, out)

    def ppf(self, p: ArrayLike) -> float | NDArray:
        """Quantile, yuan: ``F_B^-1(p)`` for ``p <= q``, ``u + G^-1((p - q) / (1 - q))`` above."""
        pa = np.asarray(p, dtype=np.float64)
        return _as_output(p, self._ppf(pa))

    def _ppf(self, p: NDArray) -> NDArray:
        if not self.has_tail:
            return _body_ppf(self.body, self.p1, self.p2, p)
        q = self._q
        out = np.empty(p.shape)
        body = p <= q
        out[body] = _body_ppf(self.body, self.p1, self.p2, p[body])
        tail = ~body
        with np.errstate(divide="ignore"):
            s = (1.0 - p[tail]) / (1.0 - q)  # the GPD's survival probability
            out[tail] = self.threshold + _gpd_isf(self.tail_shape, self.gpd_scale, s)
        return out

    def limited_expectation(self, x: ArrayLike) -> float | NDArray:
        """``E[min(X, x)]``, yuan.

        ``x <= 0``: ``x``. ``0 < x <= u``: ``E[B; B <= x] + x S_B(x)``. ``x > u``:
        ``E[B; B <= u] + (1 - q) (u + E[min(Y, x - u)])`` with the GPD's limited mean
        ``beta / (1 - xi) (1 - (1 + xi d / beta)^(1 - 1/xi))``.
        """
        xa = np.asarray(x, dtype=np.float64)
        kind, p1, p2 = self.body, self.p1, self.p2
        xb = np.minimum(xa, self.threshold)
        finite = np.isfinite(xb)
        out = _body_partial_moment(kind, p1, p2, 1.0, xb) + np.where(
            finite, np.where(finite, xb, 0.0) * _body_sf(kind, p1, p2, xb), 0.0
        )
        if not self.has_tail:
            out = np.where(np.isinf(xa) & (xa > 0), self.mean_yuan, out)
        else:
            q, u = self._q, self.threshold
            below = float(_body_partial_moment(kind, p1, p2, 1.0, np.float64(u)))
            d = np.maximum(xa - u, 0.0)
            with np.errstate(invalid="ignore"):
                tail = below + (1.0 - q) * (
                    u + _gpd_limited_mean(self.tail_shape, self.gpd_scale, d)
                )
            tail = np.where(np.isinf(xa), self.mean_yuan, tail)
            out = np.where(xa > u, tail, out)
        out = np.where(xa <= 0, xa, out)
        return _as_output(x, out)

    # ----------------------------------------------------------- sampling and trend

    def sample(self, rng: np.random.Generator, n: int) -> NDArray[np.float64]:
        """``n`` independent costs, yuan.

        Without a tail: numpy's lognormal (``exp(mu + sigma Z)``) or gamma generator. With a tail,
        one uniform ``U`` per draw decides the part: ``U >= q`` gives the tail cost by inversion,
        ``u + G^-1((U - q) / (1 - q))``; ``U < q`` gives a body cost truncated at ``u``: lognormal by
        inversion ``exp(mu + sigma Phi^-1(U))`` (``U`` is uniform on ``[0, q)`` there), gamma by
        numpy's gamma generator with rejection of draws above ``u`` (acceptance rate ``q``; by
        inversion when ``q < 0.2``, where rejection would cost more than ``gammaincinv``).
        """
        n = int(n)
        kind, p1, p2 = self.body, self.p1, self.p2
        if not self.has_tail:
            if kind is BodyKind.LOGNORMAL:
                out = rng.standard_normal(n)
                out *= p2
                out += p1
                return np.exp(out, out=out)
            return rng.gamma(p1, p2, n)
        q = self._q
        u = rng.random(n)
        tail = np.flatnonzero(u >= q)
        s = (1.0 - u[tail]) / (1.0 - q)  # the GPD's survival probability, in (0, 1]
        tail_cost = self.threshold + _gpd_isf(self.tail_shape, self.gpd_scale, s)
        if kind is BodyKind.LOGNORMAL:
            out = special.ndtri(u, out=u)  # every position by inversion; the tail's is replaced
            out *= p2
            out += p1
            np.exp(out, out=out)
        elif q < 0.2:
            out = _body_ppf(kind, p1, p2, np.minimum(u, q))
        else:
            out = np.empty(n)
            body = np.ones(n, dtype=bool)
            body[tail] = False
            out[body] = self._truncated_gamma(rng, n - tail.size)
        out[tail] = tail_cost
        return out

    def _truncated_gamma(self, rng: np.random.Generator, m: int) -> NDArray[np.float64]:
        """``m`` draws of the gamma body given ``B <= u``, by rejection (acceptance rate ``q``)."""
        q, u = self._q, self.threshold
        parts: list[NDArray] = []
        need = m
        while need > 0:
            draw = rng.gamma(self.p1, self.p2, int(need / q * 1.02) + 16)
            kept = draw[draw <= u][:need]
            parts.append(kept)
            need -= kept.size
        return np.concatenate(parts) if parts else np.empty(0)

    def scaled(self, factor: float) -> SplicedSeverity:
        """The severity of ``factor * X`` (a cost trend: every cost multiplied by ``factor``)."""
        if not (math.isfinite(factor) and factor > 0):
            raise ValueError(f"cost factor: expected a number above 0, found {factor!r}")
        return replace(self, mean_yuan=self.mean_yuan * factor)


def severity_from_config(cfg: LevelSeverity, trend_factor: float = 1.0) -> SplicedSeverity:
    """The severity of one hospital level, its costs multiplied by ``trend_factor``
    (mean ``cfg.mean_yuan * trend_factor``; ``cfg.cv`` is the body's CV before splicing)."""
    if not (math.isfinite(trend_factor) and trend_factor > 0):
        raise ValueError(f"cost trend factor: expected a number above 0, found {trend_factor!r}")
    tail = cfg.tail
    return SplicedSeverity(
        body=cfg.body,
        mean_yuan=cfg.mean_yuan * trend_factor,
        cv=cfg.cv,
        tail_quantile=None if tail is None else tail.quantile,
        tail_shape=0.0 if tail is None else tail.shape,
    )


def cost_trend_factor(severity_cfg: Severity, start_year: int, year: int) -> float:
    """Cost level of ``year`` relative to ``start_year``: ``prod_{k=start+1..year} (1 + trend(k))``
    (1 in the start year; the trend of year ``k`` is the growth from ``k - 1`` to ``k``)."""
    if year < start_year:
        raise ValueError(f"cost trend: year {year} is before the start year {start_year}")
    factor = 1.0
    for k in range(start_year + 1, year + 1):
        factor *= 1.0 + severity_cfg.trend.at(k)
    return factor


def sample_in_policy_share(
    rng: np.random.Generator, n: int, mean: float, sd: float
) -> NDArray[np.float64]:
    """``n`` in-policy shares of a claim's total cost: beta with this mean and standard deviation
    (:func:`beta_params`); ``sd == 0`` gives the constant ``mean`` (no random number drawn)."""
    if sd == 0:
        return np.full(int(n), float(mean))
    a, b = beta_params(mean, sd)
    return rng.beta(a, b, int(n))
