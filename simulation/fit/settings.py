"""The fitting's fixed settings: candidate tail thresholds (quantiles), significance levels,
fewest claims or excesses for a fit, and the bounds the scenario puts on fitted values."""

from __future__ import annotations

from typing import Literal

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
