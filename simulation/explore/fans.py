"""The fan-chart panel's extension point: a method name to a function giving the fans' data.

A fan method takes the base and the edited scenario and returns :class:`FanData`: per fund, the
quantiles of the balance and of the insurer's cumulative result by year, base and edited. Only the
full Monte Carlo engine exists today, which takes minutes on a province-sized roster; the
multi-year fans arrive with the fast method (issue 17), which registers itself here
(``FAN_METHODS["fast"] = ...``). Until then :func:`fan_data` raises a
:class:`~simulation.errors.FundsimError` that says so, and the explorer shows that sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import FundsimError
from ..scenario.schema import Scenario

FAN_LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)
"""Quantile levels of a fan."""


@dataclass(frozen=True)
class FanData:
    """Quantiles (``FAN_LEVELS``, rows) by year (columns), yuan, keyed ``(fund, series, which)``
    with series ``balance`` or ``insurer_cumulative_result`` and which ``base`` or ``edited``."""

    years: tuple[int, ...]
    quantiles: dict[tuple[str, str, str], np.ndarray] = field(default_factory=dict)
    method: str = ""


FanMethod = Callable[[Scenario, Scenario], FanData]

FAN_METHODS: dict[str, FanMethod] = {}
"""Registered fan methods by name (the fast method adds ``fast``)."""

NOT_YET = (
    "Multi-year fan charts arrive with the fast method (issue 17): the full Monte Carlo engine "
    "takes minutes on a province-sized roster, too slow to follow a lever."
)


def fan_data(method: str, base: Scenario, edited: Scenario) -> FanData:
    """The fans of ``base`` and ``edited`` by the registered ``method``."""
    if method not in FAN_METHODS:
        raise FundsimError(NOT_YET if not FAN_METHODS else f"no fan method {method!r}")
    return FAN_METHODS[method](base, edited)
