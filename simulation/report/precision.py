"""What a number of Monte Carlo paths can support, and how the report shows what it cannot.

A sample quantile at level ``q`` from ``K`` paths rests on the ``K (1 - q)`` paths beyond it; with
fewer than :data:`TAIL_PATHS` of them it is little more than the sample's extreme (at 16 paths the
95%, 99% and 99.5% quantiles are all the maximum). So a quantile, VaR, TVaR or interval at level
``q`` needs ``ceil(TAIL_PATHS / (1 - q))`` paths (:func:`paths_needed`: 200 for 95%, 1,000 for
99%, 2,000 for 99.5%); below that the report shows it greyed with "needs N paths" instead of a
number.

A probability estimated as 0 or 1 (every path agrees) has a standard error of 0 that says nothing:
with ``K`` paths the truth can be anywhere below about ``1/K``. The report shows it as ``< 1/K`` or
``> 1 − 1/K`` (:func:`bounded_probability`).
"""

from __future__ import annotations

import math

TAIL_PATHS = 10
"""Paths beyond a quantile for it to be shown (so 2,000 paths for a 99.5% quantile)."""


def paths_needed(level: float, tail_paths: int = TAIL_PATHS) -> int:
    """Paths a quantile at ``level`` (upper tail, e.g. 0.995) or ``1 - level`` (lower tail, e.g.
    0.05) needs: ``ceil(tail_paths / min(level, 1 - level))``."""
    tail = min(level, 1.0 - level)
    if not tail > 0:
        raise ValueError(f"a quantile level must be strictly between 0 and 1, found {level}")
    return math.ceil(tail_paths / tail - 1e-9)


def supports(level: float, paths: int) -> bool:
    """Whether ``paths`` paths support a quantile at ``level`` (:func:`paths_needed`)."""
    return paths >= paths_needed(level)


def bounded_probability(p: float, se: float, paths: int) -> str | None:
    """``"< 1/K"`` or ``"> 1 − 1/K"`` for a probability every path agrees on (0 or 1 with an SE
    of 0, K = ``paths``); None otherwise (the estimate is shown with its SE)."""
    if paths <= 0 or not math.isfinite(p) or (math.isfinite(se) and se > 0):
        return None
    if p <= 0:
        return f"< 1/{paths:,}"
    if p >= 1:
        return f"> 1 − 1/{paths:,}"
    return None
