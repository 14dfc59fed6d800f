"""The laws a claim's cost is built from: a lognormal or gamma body and a generalized Pareto tail.

This module is the one place where a distribution's mean and coefficient of variation (CV) are
turned into its parameters and back (:func:`lognormal_params`, :func:`gamma_params`,
:func:`beta_params` and their inverses); it also holds the body's and the GPD tail's functions
(cdf, survival, density, quantile, moments) that :class:`~simulation.models.severity.SplicedSeverity`
splices. Public names are imported from :mod:`simulation.models.severity`.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import special

from ..scenario.schema import BodyKind

Values = NDArray | np.floating
"""An array, or one numpy scalar, of costs or probabilities."""


# --------------------------------------------------------------------------- mean/CV <-> parameters


def _check_mean_cv(mean: float, cv: float, what: str) -> None:
    if not (math.isfinite(mean) and mean > 0):
        raise ValueError(f"{what}: expected a mean above 0, found {mean!r}")
    if not (math.isfinite(cv) and cv > 0):
        raise ValueError(f"{what}: expected a coefficient of variation above 0, found {cv!r}")


def lognormal_params(mean: float, cv: float) -> tuple[float, float]:
    """``(mu, sigma)`` of the lognormal with this mean and CV.

    ``sigma^2 = ln(1 + cv^2)``, ``mu = ln(mean) - sigma^2 / 2``.
    """
    _check_mean_cv(mean, cv, "lognormal")
    s2 = math.log1p(cv * cv)
    return math.log(mean) - s2 / 2.0, math.sqrt(s2)


def lognormal_mean_cv(mu: float, sigma: float) -> tuple[float, float]:
    """``(mean, cv)`` of the lognormal ``(mu, sigma)``: ``exp(mu + sigma^2/2)``, ``sqrt(exp(sigma^2) - 1)``."""
    return math.exp(mu + sigma * sigma / 2.0), math.sqrt(math.expm1(sigma * sigma))


def gamma_params(mean: float, cv: float) -> tuple[float, float]:
    """``(shape, scale)`` of the gamma with this mean and CV: ``shape = 1 / cv^2``, ``scale = mean cv^2``."""
    _check_mean_cv(mean, cv, "gamma")
    return 1.0 / (cv * cv), mean * cv * cv


def gamma_mean_cv(shape: float, scale: float) -> tuple[float, float]:
    """``(mean, cv)`` of the gamma ``(shape k, scale theta)``: ``k theta``, ``1 / sqrt(k)``."""
    return shape * scale, 1.0 / math.sqrt(shape)


def beta_params(mean: float, sd: float) -> tuple[float, float]:
    """``(a, b)`` of the beta law on [0, 1] with this mean and standard deviation.

    ``nu = mean (1 - mean) / sd^2 - 1``, ``a = mean nu``, ``b = (1 - mean) nu``; needs
    ``0 < mean < 1`` and ``0 < sd < sqrt(mean (1 - mean))``.
    """
    if not 0.0 < mean < 1.0:
        raise ValueError(
            f"a share with a standard deviation above 0 needs a mean strictly between 0 and 1, "
            f"found mean {mean!r}"
        )
    limit = math.sqrt(mean * (1.0 - mean))
    if not 0.0 < sd < limit:
        raise ValueError(
            f"a share with mean {mean:g} needs a standard deviation above 0 and below "
            f"sqrt(mean (1 - mean)) = {limit:.4g}, found {sd!r}"
        )
    nu = mean * (1.0 - mean) / (sd * sd) - 1.0
    return mean * nu, (1.0 - mean) * nu


def beta_mean_sd(a: float, b: float) -> tuple[float, float]:
    """``(mean, sd)`` of the beta ``(a, b)``: ``a / (a + b)``, ``sqrt(ab / ((a + b)^2 (a + b + 1)))``."""
    n = a + b
    return a / n, math.sqrt(a * b / (n * n * (n + 1.0)))


# --------------------------------------------------------------------------- body functions


def _body_cdf(kind: BodyKind, p1: float, p2: float, x: Values) -> NDArray:
    x = np.maximum(x, 0.0)
    if kind is BodyKind.LOGNORMAL:
        with np.errstate(divide="ignore"):
            return special.ndtr((np.log(x) - p1) / p2)
    return special.gammainc(p1, x / p2)


def _body_sf(kind: BodyKind, p1: float, p2: float, x: Values) -> NDArray:
    x = np.maximum(x, 0.0)
    if kind is BodyKind.LOGNORMAL:
        with np.errstate(divide="ignore"):
            return special.ndtr(-(np.log(x) - p1) / p2)
    return special.gammaincc(p1, x / p2)


def _body_pdf(kind: BodyKind, p1: float, p2: float, x: Values) -> NDArray:
    pos = x > 0
    xs = np.where(pos, x, 1.0)
    if kind is BodyKind.LOGNORMAL:
        z = (np.log(xs) - p1) / p2
        logf = -0.5 * z * z - np.log(xs * p2) - 0.5 * math.log(2.0 * math.pi)
    else:
        logf = (p1 - 1.0) * np.log(xs) - xs / p2 - special.gammaln(p1) - p1 * math.log(p2)
    out = np.where(pos, np.exp(logf), 0.0)
    if kind is BodyKind.GAMMA and p1 <= 1.0:  # density at 0: 1/scale (shape 1), infinite (< 1)
        at0 = 1.0 / p2 if p1 == 1.0 else np.inf
        out = np.where(x == 0, at0, out)
    return out


def _body_ppf(kind: BodyKind, p1: float, p2: float, p: Values) -> NDArray:
    if kind is BodyKind.LOGNORMAL:
        return np.exp(p1 + p2 * special.ndtri(p))
    return p2 * special.gammaincinv(p1, p)


def _body_moment(kind: BodyKind, p1: float, p2: float, k: float) -> float:
    """``E[B^k]``: lognormal ``exp(k mu + k^2 sigma^2 / 2)``, gamma ``theta^k G(a + k) / G(a)``."""
    if kind is BodyKind.LOGNORMAL:
        return math.exp(k * p1 + 0.5 * k * k * p2 * p2)
    return math.exp(k * math.log(p2) + special.gammaln(p1 + k) - special.gammaln(p1))


def _body_partial_moment(kind: BodyKind, p1: float, p2: float, k: float, x: Values) -> NDArray:
    """``E[B^k; B <= x]``: lognormal ``E[B^k] Phi((ln x - mu - k sigma^2) / sigma)``,
    gamma ``E[B^k] P(a + k, x / theta)`` (P the regularised lower incomplete gamma)."""
    full = _body_moment(kind, p1, p2, k)
    x = np.maximum(x, 0.0)
    if kind is BodyKind.LOGNORMAL:
        with np.errstate(divide="ignore"):
            return full * special.ndtr((np.log(x) - p1 - k * p2 * p2) / p2)
    return full * special.gammainc(p1 + k, x / p2)


def _unit_body(kind: BodyKind, cv: float) -> tuple[float, float]:
    """Parameters of the body with mean 1 and this CV."""
    return lognormal_params(1.0, cv) if kind is BodyKind.LOGNORMAL else gamma_params(1.0, cv)


def _scale_body(kind: BodyKind, p1: float, p2: float, factor: float) -> tuple[float, float]:
    """The body of ``factor * B``: lognormal ``mu + ln factor``, gamma ``scale * factor``."""
    if kind is BodyKind.LOGNORMAL:
        return p1 + math.log(factor), p2
    return p1, p2 * factor


# --------------------------------------------------------------------------- GPD tail


_SERIES = 1e-8
"""Below this ``|xi * argument|`` the GPD's ``log1p(x) / xi`` and ``expm1(x) / xi`` are taken from
their series, so a shape of 0 (the exponential) or a tiny shape needs no special case."""


def _log1p_over(xi: float, z: NDArray) -> NDArray:
    """``log(1 + xi z) / xi`` (``z`` for ``xi = 0``), ``z >= 0``."""
    a = xi * z
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a < _SERIES, z * (1.0 - a / 2.0 + a * a / 3.0), np.log1p(a) / xi)


def _gpd_sf(xi: float, beta: float, y: NDArray) -> NDArray:
    """``P(Y > y) = (1 + xi y / beta) ^ (-1 / xi)`` (``exp(-y / beta)`` for ``xi = 0``), ``y >= 0``."""
    return np.exp(-_log1p_over(xi, y / beta))


def _gpd_pdf(xi: float, beta: float, y: NDArray) -> NDArray:
    """``(1 + xi y / beta) ^ (-1 / xi - 1) / beta``."""
    z = y / beta
    return np.exp(-_log1p_over(xi, z) - np.log1p(xi * z)) / beta


def _gpd_isf(xi: float, beta: float, s: NDArray) -> NDArray:
    """The ``y`` with ``P(Y > y) = s``: ``beta / xi (s^-xi - 1)`` (``-beta ln s`` for ``xi = 0``)."""
    minus_log_s = -np.log(s)
    b = xi * minus_log_s
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(b < _SERIES, minus_log_s * (1.0 + b / 2.0 + b * b / 6.0), np.expm1(b) / xi)
    return beta * ratio


def _gpd_limited_mean(xi: float, beta: float, d: NDArray) -> NDArray:
    """``E[min(Y, d)] = beta / (1 - xi) (1 - (1 + xi d / beta)^(1 - 1/xi))`` (``beta (1 - exp(-d/beta))``
    for ``xi = 0``)."""
    return -beta / (1.0 - xi) * np.expm1((xi - 1.0) * _log1p_over(xi, d / beta))


def _gpd_moment(xi: float, beta: float, j: int) -> float:
    """``E[Y^j] = beta^j j! / prod_{i=1..j} (1 - i xi)``, infinite when ``j xi >= 1``."""
    if j * xi >= 1.0:
        return math.inf
    out = 1.0
    for i in range(1, j + 1):
        out *= beta * i / (1.0 - i * xi)
    return out
