"""Household disposable income per person (yuan a year), for the catastrophic out-of-pocket measure."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..scenario.schema import Income
from .severity import lognormal_params

__all__ = ["sample_income"]


def sample_income(rng: np.random.Generator, n: int, income: Income) -> NDArray[np.float64]:
    """``n`` incomes, yuan a year: lognormal with mean ``income.mean_yuan`` and CV ``income.cv``
    (``mu, sigma`` from :func:`~simulation.models.severity.lognormal_params`)."""
    mu, sigma = lognormal_params(income.mean_yuan, income.cv)
    return rng.lognormal(mu, sigma, int(n))
