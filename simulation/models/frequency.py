"""Numbers of claims per person: Poisson or negative binomial, and the rate of a population cell.

A person whose expected number of claims over its exposure is ``m`` has ``N`` claims:

- Poisson: ``P(N = n) = exp(-m) m^n / n!``, ``Var N = m``;
- negative binomial with dispersion ``d`` (shape ``r = 1 / d``): ``Var N = m (1 + d m)``,
  ``P(N = n) = G(n + r) / (G(r) n!) (1 + d m)^(-r) (d m / (1 + d m))^n``
  (``d = 0`` is the Poisson limit).

The Monte Carlo engine never draws a count for a person without claims: it draws how many persons of
a group have at least one claim (:func:`sample_claimants`, binomial) and then each claimant's number
of claims from the zero-truncated law (:func:`sample_positive_counts`). Together these reproduce the
per-person law exactly, since persons are independent and exchangeable.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ..errors import ParameterError
from ..scenario.schema import Frequency, FrequencyKind

__all__ = [
    "cell_rate",
    "claim_probability",
    "count_moments",
    "count_pmf",
    "count_sf",
    "sample_claimants",
    "sample_positive_counts",
    "zero_truncated_moments",
]


def _is_poisson(kind: FrequencyKind, dispersion: float) -> bool:
    """Whether the law is Poisson (a negative binomial with dispersion 0 is its Poisson limit)."""
    if FrequencyKind(kind) is FrequencyKind.POISSON:
        return True
    if dispersion < 0:
        raise ValueError(f"negative binomial dispersion: expected at least 0, found {dispersion!r}")
    return dispersion == 0


def _scalar_or_array(x_in: ArrayLike, out: NDArray) -> float | NDArray:
    return float(out) if np.ndim(x_in) == 0 else out


def claim_probability(
    mean: ArrayLike, kind: FrequencyKind, dispersion: float = 0.0
) -> float | NDArray[np.float64]:
    """``P(N >= 1)`` for expected claims ``mean``: Poisson ``1 - exp(-m)``, negative binomial
    ``1 - (1 + d m)^(-1/d)`` (computed with ``expm1``/``log1p``, accurate for small ``m``)."""
    m = np.asarray(mean, dtype=np.float64)
    if _is_poisson(kind, dispersion):
        out = -np.expm1(-m)
    else:
        out = -np.expm1(-np.log1p(dispersion * m) / dispersion)
    return _scalar_or_array(mean, out)


def count_moments(mean: float, kind: FrequencyKind, dispersion: float = 0.0) -> tuple[float, float]:
    """``(E[N], Var N)``: Poisson ``(m, m)``, negative binomial ``(m, m (1 + d m))``."""
    if _is_poisson(kind, dispersion):
        return mean, mean
    return mean, mean * (1.0 + dispersion * mean)


def zero_truncated_moments(
    mean: float, kind: FrequencyKind, dispersion: float = 0.0
) -> tuple[float, float]:
    """``(E[N | N >= 1], Var(N | N >= 1))``: ``m / P``, ``(Var N + m^2) / P - (m / P)^2``,
    ``P = P(N >= 1)``."""
    m, v = count_moments(mean, kind, dispersion)
    p = float(claim_probability(m, kind, dispersion))
    first = m / p
    return first, (v + m * m) / p - first * first


def count_pmf(
    n: ArrayLike, mean: float, kind: FrequencyKind, dispersion: float = 0.0
) -> NDArray[np.float64]:
    """``P(N = n)`` for whole numbers ``n >= 0`` (closed forms in the module docstring)."""
    k = np.asarray(n, dtype=np.float64)
    if _is_poisson(kind, dispersion):
        log_p = special.xlogy(k, mean) - mean - special.gammaln(k + 1.0)
    else:
        r = 1.0 / dispersion
        dm = dispersion * mean
        log_p = (
            special.gammaln(k + r)
            - special.gammaln(r)
            - special.gammaln(k + 1.0)
            - r * math.log1p(dm)
            + special.xlogy(k, dm)
            - k * math.log1p(dm)
        )
    return np.exp(log_p)


def count_sf(
    n: ArrayLike, mean: ArrayLike, kind: FrequencyKind, dispersion: float = 0.0
) -> NDArray[np.float64]:
    """``P(N > n)``, accurate far in the tail: Poisson ``P(n + 1, m)`` (regularised lower incomplete
    gamma), negative binomial ``I_{dm/(1+dm)}(n + 1, 1/d)`` (regularised incomplete beta)."""
    k = np.asarray(n, dtype=np.float64)
    m = np.asarray(mean, dtype=np.float64)
    if _is_poisson(kind, dispersion):
        return special.gammainc(k + 1.0, m)
    dm = dispersion * m
    return special.betainc(k + 1.0, 1.0 / dispersion, dm / (1.0 + dm))


def sample_claimants(
    rng: np.random.Generator,
    n_persons: int | ArrayLike,
    mean: ArrayLike,
    kind: FrequencyKind,
    dispersion: float = 0.0,
    size: int | tuple[int, ...] | None = None,
) -> NDArray[np.int64]:
    """Number of persons with at least one claim among ``n_persons``: ``Binomial(n, P(N >= 1))``.

    ``n_persons`` and ``mean`` broadcast (e.g. one entry per path); ``size`` as in numpy.
    """
    p = claim_probability(mean, kind, dispersion)
    return np.asarray(rng.binomial(np.asarray(n_persons), np.asarray(p), size), dtype=np.int64)


def _first_at_or_below(sf_table: NDArray, w: NDArray) -> NDArray[np.int64]:
    """``1 + #{n >= 1: S(n) > w}`` for a decreasing table ``S(1), S(2), ...``."""
    ascending = sf_table[::-1]
    above = sf_table.size - np.searchsorted(ascending, w, side="right")
    return (1 + above).astype(np.int64)


def sample_positive_counts(
    rng: np.random.Generator,
    k: int,
    mean: ArrayLike,
    kind: FrequencyKind,
    dispersion: float = 0.0,
) -> NDArray[np.int64]:
    """``k`` draws of the zero-truncated count ``N | N >= 1`` (each >= 1), by inversion.

    With ``W = P(N >= 1) (1 - V)``, ``V`` uniform on [0, 1) (so ``1 - W`` is uniform on
    ``(P(N = 0), 1]``), the draw is ``min {n >= 1: P(N > n) <= W}``. ``mean`` is a scalar or an array
    of length ``k``. For a scalar the survival table ``P(N > n)`` is computed once and looked up
    (``searchsorted``); for an array the claimants not yet placed are tested ``n = 1, 2, ...``.
    A mean of 0 gives 1 (the limit of the truncated law).
    """
    k = int(k)
    if np.ndim(mean) != 0 and np.shape(mean) != (k,):
        raise ValueError(
            f"expected a scalar mean or one mean per draw ({k}), found shape {np.shape(mean)}"
        )
    s0 = np.asarray(claim_probability(mean, kind, dispersion))
    w = s0 * (1.0 - rng.random(k))
    if np.ndim(mean) == 0:
        return _first_at_or_below(_sf_table(float(np.asarray(mean)), kind, dispersion), w)
    m = np.asarray(mean, dtype=np.float64)
    values, which = np.unique(m, return_inverse=True)
    if values.size <= 64:  # a few distinct means: one table each
        out = np.empty(k, dtype=np.int64)
        for i, v in enumerate(values):
            sel = np.flatnonzero(which == i)
            out[sel] = _first_at_or_below(_sf_table(float(v), kind, dispersion), w[sel])
        return out
    out = np.ones(k, dtype=np.int64)
    active = np.flatnonzero(count_sf(1, m, kind, dispersion) > w)
    n = 1
    while active.size:
        n += 1
        out[active] = n
        still = count_sf(n, m[active], kind, dispersion) > w[active]
        active = active[still]
    return out


def _sf_table(mean: float, kind: FrequencyKind, dispersion: float) -> NDArray[np.float64]:
    """``P(N > n)`` for ``n = 1, 2, ...`` until it is below ``1e-17 P(N >= 1)`` (finer than any
    uniform draw resolves)."""
    if not (math.isfinite(mean) and mean >= 0):
        raise ValueError(f"expected claims: expected a number of at least 0, found {mean!r}")
    s0 = claim_probability(mean, kind, dispersion)
    size = 16
    while True:
        table = count_sf(np.arange(1, size + 1), mean, kind, dispersion)
        if table[-1] <= s0 * 1e-17 or size >= 1 << 24:
            return table
        size *= 4


def cell_rate(freq: Frequency, category: str, age_band: str, start_year: int, year: int) -> float:
    """Claims per person-year of a category and age band in ``year``:
    ``rate[category] (or rate['default']) * age_factor[age_band] (1 if absent)
    * (1 + trend) ** (year - start_year)``."""
    rate = freq.rate.get(category, freq.rate.get("default"))
    if rate is None:
        raise ParameterError(
            f"claim frequency: no rate for category {category!r} and no 'default' rate; "
            f"rates given for: {', '.join(freq.rate) or 'none'}"
        )
    factor = freq.age_factor.get(age_band, 1.0)
    return float(rate * factor * (1.0 + freq.trend) ** (year - start_year))
