"""Estimates and their standard errors: :class:`Estimate` (a value and its asymptotic SE), the
numerical Hessian and gradient, the inverse observed information of a negative log-likelihood, the
delta method, and the MLE minimiser the fits share. Units are those of the quantity estimated."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from ..errors import FundsimError


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
