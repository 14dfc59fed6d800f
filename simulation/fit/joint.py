"""The written spliced severity fitted jointly to all claims at a hospital level: the body's two
parameters and the GPD shape by maximum likelihood (:func:`fit_spliced`), with the tail quantile
fixed and the tail's start and scale implied by the body (:func:`spliced_nll`). Costs in yuan."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from ..scenario.schema import BodyKind
from .body import BodyFit, _body_params
from .estimates import Estimate, _minimize, covariance_from_nll
from .settings import MAX_TAIL_SHAPE
from .spliced import SplicedSeverity
from .tail import gpd_logpdf

_SHAPE_SEARCH = (-0.5, 0.95)
"""Range searched for the joint fit's GPD shape (below -0.5 the MLE is irregular, from 1 the mean
is infinite); a shape outside the scenario's [0, MAX_TAIL_SHAPE] is written at the nearer bound."""


@dataclass(frozen=True)
class JointFit:
    """The written spliced model fitted jointly to all claims (:func:`fit_spliced`)."""

    model: SplicedSeverity
    body: BodyFit
    """The body's parameters and their covariance (the joint one's body block); ``loglik`` is the
    spliced model's on all claims."""
    shape: Estimate
    theta: np.ndarray = field(repr=False)
    """Internal parameters: the body's two, then the GPD shape (left out when it was clamped)."""
    cov: np.ndarray = field(repr=False)
    loglik: float
    clamped: str | None = None
    """A note when the shape was outside [0, MAX_TAIL_SHAPE] and the model was refitted with it
    fixed at the nearer bound."""


def spliced_nll(kind: BodyKind, x: np.ndarray, q: float) -> Callable[[np.ndarray], float]:
    """Mean negative log-likelihood of the written spliced model (:class:`SplicedSeverity` with body
    ``kind``, tail quantile ``q``) on costs ``x``, in ``(body theta, xi)``.

    The body's log-density summed over the claims at or below its ``q``-quantile ``u`` through the
    sufficient statistics of the sorted claims (prefix sums of ``ln x``, ``ln^2 x``, ``x``), and
    ``ln(1 - q) + ln g(x - u; xi, beta)`` above it with the continuity scale ``beta = (1 - q) /
    f_body(u)`` (:func:`~simulation.fit.tail.gpd_logpdf`). Tested equal to the sum of
    ``SplicedSeverity.logpdf``.
    """
    xs = np.sort(np.asarray(x, dtype=np.float64))
    n = xs.size
    lx = np.log(xs)
    c1 = np.concatenate([[0.0], np.cumsum(lx)])
    c2 = np.concatenate([[0.0], np.cumsum(lx * lx)])
    cx = np.concatenate([[0.0], np.cumsum(xs)])
    log1mq = math.log1p(-q)
    half_log_2pi = 0.5 * math.log(2.0 * math.pi)
    z = float(special.ndtri(q))

    def nll(theta: np.ndarray) -> float:
        try:
            p1, p2 = _body_params(kind, theta[:2])
        except OverflowError:
            return math.inf
        xi = float(theta[2])
        if not (np.isfinite(p1) and np.isfinite(p2) and p2 > 0) or xi >= 1.0:
            return math.inf
        if kind is BodyKind.LOGNORMAL:
            mu, s = p1, p2
            u = math.exp(mu + s * z)
            log_fu = -math.log(u) - math.log(s) - half_log_2pi - z * z / 2
        else:
            a, th = p1, p2
            if a <= 0:
                return math.inf
            u = th * float(special.gammaincinv(a, q))
            if not u > 0:
                return math.inf
            log_fu = (a - 1) * math.log(u) - u / th - a * math.log(th) - float(special.gammaln(a))
        k = int(np.searchsorted(xs, u, side="right"))
        if kind is BodyKind.LOGNORMAL:
            body = (
                -k * (half_log_2pi + math.log(s))
                - (c2[k] - 2 * mu * c1[k] + k * mu * mu) / (2 * s * s)
                - c1[k]
            )
        else:
            body = (a - 1) * c1[k] - cx[k] / th - k * (a * math.log(th) + float(special.gammaln(a)))
        beta = (1.0 - q) / math.exp(log_fu)
        tail = (n - k) * log1mq + float(np.sum(gpd_logpdf(xs[k:] - u, xi, beta)))
        value = -(body + tail) / n
        return value if np.isfinite(value) else math.inf

    return nll


def fit_spliced(
    x: np.ndarray, kind: BodyKind, q: float, body_start: np.ndarray, shape_start: float
) -> JointFit:
    """The written spliced model by maximum likelihood on all claims ``x`` (yuan): the body's two
    parameters and the GPD shape, with ``q`` fixed (the share of claims at or below the threshold)
    and the tail start and scale implied by the body. Started from the two-stage estimates (body
    truncated at the threshold, GPD on the excesses); covariance from the observed information of
    the joint likelihood :func:`spliced_nll`. A shape outside ``[0, MAX_TAIL_SHAPE]`` is moved to the
    nearer bound and the body refitted with it fixed (the shape's SE is then the unconstrained
    one, NaN when that is on the search range's bound).
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    nll = spliced_nll(kind, x, q)
    xi0 = min(max(shape_start, 0.0), MAX_TAIL_SHAPE)
    bounds = [(None, None), (None, None), _SHAPE_SEARCH]
    theta = _minimize(nll, np.concatenate([body_start, [xi0]]), bounds=bounds)
    xi = float(theta[2])
    if _SHAPE_SEARCH[0] < xi < _SHAPE_SEARCH[1]:
        cov = covariance_from_nll(lambda t: n * nll(t), theta)
    else:  # on the search bound: no information-based SE
        cov = np.full((3, 3), np.nan)
    shape = Estimate(xi, math.sqrt(cov[2, 2]) if cov[2, 2] >= 0 else math.nan)
    clamped = None
    if not 0.0 <= xi <= MAX_TAIL_SHAPE:
        fixed = 0.0 if xi < 0.0 else MAX_TAIL_SHAPE
        clamped = (
            f"fitted tail shape {xi:.3f} < 0 (a bounded tail) written as 0 (the scenario needs >= 0)"
            if xi < 0.0
            else f"fitted tail shape {xi:.3f} >= 0.5 (infinite variance) written as {MAX_TAIL_SHAPE} "
            "(the scenario needs < 0.5)"
        )
        nll2 = lambda t: nll(np.array([t[0], t[1], fixed]))  # noqa: E731
        theta = _minimize(nll2, theta[:2])
        cov = covariance_from_nll(lambda t: n * nll2(t), theta)
        full = np.concatenate([theta, [fixed]])
        loglik = -n * nll2(theta)
        xi = fixed
    else:
        full = theta
        loglik = -n * nll(theta)
    p1, p2 = _body_params(kind, full[:2])
    body = BodyFit(kind, p1, p2, cov[:2, :2], loglik, n, None)
    model = SplicedSeverity(kind, p1, p2, q, xi)
    return JointFit(model, body, Estimate(xi, shape.se), theta, cov, loglik, clamped)
