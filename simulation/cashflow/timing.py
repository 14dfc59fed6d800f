"""When things happen: the 365-day calendar, seasonal admission dates and claim lags.

Time is measured in days from January 1, 00:00 of the run's first policy year (a float). Day ``d``
of the run (1, 2, ...) is the interval ``(d - 1, d]``; a payment made on day ``d`` is booked at
``d`` (its end), a transfer on day ``d`` at ``d - 0.5`` (midday). Years have 365 days, so year
``k`` (0 = the first policy year) is ``(365 k, 365 (k + 1)]`` and its month ``m`` (0 = January)
ends at ``365 k + MONTH_START[m + 1]``.

Every stochastic function takes a ``numpy.random.Generator``; :func:`cashflow_rng` makes the one for
a path and a policy year, a stream of its own (never the engine's, so adding timing does not move
any claim the engine drew).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import CashflowConfig, Lag, LagDistribution

DAYS_PER_YEAR = 365
DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
MONTH_START = np.concatenate([[0], np.cumsum(DAYS_IN_MONTH)])
"""Day of the year on which each month starts (0-based), and 365 at the end."""
CASHFLOW_STREAM = 0xCA5F
"""Third element of the spawn key of the cash-flow streams (distinct from the engine's)."""


def cashflow_rng(seed: int, path: int, year: int) -> np.random.Generator:
    """The generator for the claim lags of ``path`` in policy ``year`` (calendar year):
    ``PCG64DXSM(SeedSequence(seed, spawn_key=(path, year, 0xCA5F)))``."""
    ss = np.random.SeedSequence(entropy=seed, spawn_key=(path, year, CASHFLOW_STREAM))
    return np.random.Generator(np.random.PCG64DXSM(ss))


# --------------------------------------------------------------------------- calendar


def month_end(month: np.ndarray | int) -> np.ndarray:
    """Time (days) at which run month ``month`` ends (0 = January of the first year)."""
    k = np.asarray(month)
    return (k // 12) * DAYS_PER_YEAR + MONTH_START[k % 12 + 1]


def month_of(time: np.ndarray | float) -> np.ndarray:
    """Run month (0 = January of the first year) of ``time``: month ``k`` holds
    ``(month_end(k - 1), month_end(k)]``, and time 0 is in month 0."""
    t = np.asarray(time, dtype=float)
    year = np.maximum(np.ceil(t / DAYS_PER_YEAR) - 1, 0).astype(np.int64)
    within = t - year * DAYS_PER_YEAR
    m = np.searchsorted(MONTH_START[1:], within, side="left")
    return year * 12 + np.minimum(m, 11)


def day_of(time: np.ndarray | float) -> np.ndarray:
    """Run day (1-based) holding ``time``: ``max(ceil(time), 1)``."""
    return np.maximum(np.ceil(np.asarray(time, dtype=float)), 1).astype(np.int64)


def date_labels(times: np.ndarray, start_year: int) -> np.ndarray:
    """``YYYY-MM-DD`` of the day holding each of ``times`` in the 365-day calendar."""
    d = day_of(times) - 1
    if d.size == 0:
        return np.zeros(d.shape, dtype="<U10")
    year, doy = np.divmod(d, DAYS_PER_YEAR)
    m = np.searchsorted(MONTH_START[1:], doy, side="right")
    y = np.char.zfill((start_year + year).astype(str), 4)
    mm = np.char.zfill((m + 1).astype(str), 2)
    dd = np.char.zfill((doy - MONTH_START[m] + 1).astype(str), 2)
    return np.char.add(np.char.add(np.char.add(np.char.add(y, "-"), mm), "-"), dd)


def date_label(time: float, start_year: int) -> str:
    """``YYYY-MM-DD`` of the day holding ``time`` in the 365-day calendar."""
    return str(date_labels(np.array([time]), start_year)[0])


def month_label(month: int, start_year: int) -> str:
    """``YYYY-MM`` of run month ``month``."""
    return f"{start_year + month // 12:04d}-{month % 12 + 1:02d}"


def transfer_time(year_index: int, day: int) -> float:
    """Time of a transfer made on ``day`` (1..365) of policy year ``year_index``: midday."""
    return DAYS_PER_YEAR * year_index + day - 0.5


# --------------------------------------------------------------------------- admission dates


def seasonal_time(
    time: np.ndarray, seg_start: np.ndarray, seg_end: np.ndarray, weights: tuple[float, ...]
) -> np.ndarray:
    """Admission dates (fraction of the year) following the monthly ``weights``, kept in cover.

    The engine draws each admission uniformly in the person's segment of cover ``[a, b]`` (fractions
    of the year). With ``G`` the cumulative seasonal intensity (piecewise linear in the day of the
    year, slope ``weights[m]`` in month ``m``, ``G(0) = 0``, ``G(1) = 1``) the new date is

        ``t' = G^-1(G(a) + (t - a) / (b - a) * (G(b) - G(a)))``,

    which is distributed with density proportional to the weights within ``[a, b]``, stays in
    ``[a, b]`` (no cover before verification, none after exit) and keeps the order of a person's
    admissions. Equal weights return ``time`` unchanged.
    """
    t = np.asarray(time, dtype=float)
    w = np.asarray(weights, dtype=float)
    if np.all(w == w[0]):
        return t.copy()
    knots = MONTH_START / DAYS_PER_YEAR
    cum = np.concatenate([[0.0], np.cumsum(w * DAYS_IN_MONTH)])
    cum /= cum[-1]
    a = np.asarray(seg_start, dtype=float)
    b = np.asarray(seg_end, dtype=float)
    ga, gb = np.interp(a, knots, cum), np.interp(b, knots, cum)
    width = b - a
    u = np.divide(t - a, width, out=np.zeros_like(t), where=width > 0)
    out = np.interp(ga + u * (gb - ga), cum, knots)
    return np.clip(out, a, b)


# --------------------------------------------------------------------------- lags


def sample_lag(rng: np.random.Generator, lag: Lag, n: int) -> np.ndarray:
    """``n`` delays in days (see :class:`~simulation.cashflow.config.Lag` for the parameters)."""
    if lag.mean_days == 0.0 or lag.cv == 0.0 or lag.distribution is LagDistribution.FIXED:
        return np.full(n, float(lag.mean_days))
    if lag.distribution is LagDistribution.GAMMA:
        shape = 1.0 / lag.cv**2
        return rng.gamma(shape, lag.mean_days / shape, n)
    sigma2 = np.log1p(lag.cv**2)
    return rng.lognormal(np.log(lag.mean_days) - sigma2 / 2, np.sqrt(sigma2), n)


def hospital_billing_time(discharge: np.ndarray, billing_day: int | None) -> np.ndarray:
    """When the insurer pays the hospital for one-stop claims discharged at ``discharge`` (days):
    the end of day ``billing_day`` of the next month, ``month_end(month_of(t)) + billing_day``;
    at discharge when ``billing_day`` is None."""
    t = np.asarray(discharge, dtype=float)
    if billing_day is None:
        return t.copy()
    return (month_end(month_of(t)) + billing_day).astype(float)


@dataclass(frozen=True)
class ClaimTimes:
    """The dates of a set of claims, in days of the run (see the module docstring)."""

    incurred: np.ndarray
    """Discharge: the date the claim is incurred (continuous)."""
    reported: np.ndarray
    """End of the day the insurer learns of the claim and its amount (>= incurred)."""
    paid: np.ndarray
    """End of the day the insurer pays it (>= reported)."""
    one_stop: np.ndarray
    """Settled one-stop at discharge (bool)."""


def claim_times(
    rng: np.random.Generator,
    year_index: int,
    time: np.ndarray,
    seg_start: np.ndarray,
    seg_end: np.ndarray,
    config: CashflowConfig,
) -> ClaimTimes:
    """Dates of the admissions of one policy year of one path.

    ``time`` is the engine's date of each admission (fraction of the year) and ``[seg_start,
    seg_end]`` the segment of cover it was drawn in. Order of steps and draws (fixed, so a path's
    timing depends only on its stream): seasonal date (no draw, :func:`seasonal_time`); one
    uniform per admission, one-stop when below ``one_stop_share``; a reporting lag and a payment lag
    per admission (drawn for all, used for the others). Reported and paid dates are rounded up to
    the end of their day:

    - one-stop: ``reported = ceil(incurred)``, ``paid = ceil(hospital billing date)``;
    - by application: ``reported = ceil(incurred + L_r)``, ``paid = ceil(incurred + L_r + L_p)``.
    """
    t = seasonal_time(time, seg_start, seg_end, config.monthly_weights)
    incurred = DAYS_PER_YEAR * (year_index + t)
    n = incurred.size
    one_stop = rng.random(n) < config.one_stop_share
    report_lag = sample_lag(rng, config.reporting_lag, n)
    pay_lag = sample_lag(rng, config.payment_lag, n)
    applied = incurred + report_lag
    reported = np.where(one_stop, incurred, applied)
    paid = np.where(
        one_stop, hospital_billing_time(incurred, config.hospital_billing_day), applied + pay_lag
    )
    reported = np.ceil(reported)
    paid = np.maximum(np.ceil(paid), reported)
    return ClaimTimes(incurred=incurred, reported=reported, paid=paid, one_stop=one_stop)


def segment_bounds(
    time: np.ndarray, group: np.ndarray, seg_starts: list[np.ndarray], seg_ends: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The segment of cover ``[start, end]`` holding each admission, from its group's segments
    (fractions of the year; the segments of a group follow each other)."""
    t = np.asarray(time, dtype=float)
    lo = np.empty_like(t)
    hi = np.empty_like(t)
    for g in np.unique(group):
        idx = np.flatnonzero(group == g)
        starts, ends = np.asarray(seg_starts[g]), np.asarray(seg_ends[g])
        k = np.clip(np.searchsorted(ends, t[idx], side="left"), 0, len(ends) - 1)
        lo[idx], hi[idx] = starts[k], ends[k]
    return lo, hi


__all__ = [
    "CASHFLOW_STREAM",
    "DAYS_IN_MONTH",
    "DAYS_PER_YEAR",
    "MONTH_START",
    "ClaimTimes",
    "cashflow_rng",
    "claim_times",
    "date_label",
    "date_labels",
    "day_of",
    "hospital_billing_time",
    "month_end",
    "month_label",
    "month_of",
    "sample_lag",
    "seasonal_time",
    "segment_bounds",
]
