"""The fan-chart panel's extension point: a method name to a function giving the fans' data.

A fan method takes the base and the edited scenario and returns :class:`FanData`: per fund, the
quantiles of the balance and of the insurer's cumulative result by year, base and edited. Today the
one method is ``engine`` (:func:`engine_fans`): the full Monte Carlo engine on a few paths
(:data:`ENGINE_PATHS`, common random numbers for base and edited), behind the page's "compute fans"
button, since it takes seconds to tens of seconds on a province-sized roster. The fast method
(issue 17) registers itself here (``FAN_METHODS["fast"] = ...``) and the page then prefers it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import FundsimError
from ..scenario.schema import ContractKind, Scenario

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

ENGINE_PATHS = 32
"""Paths of the ``engine`` fan method: enough for the 25-75% band, rough at 5-95%."""
ENGINE_SEED = 20190101

NOT_YET = (
    f"Multi-year fans by the full Monte Carlo engine on {ENGINE_PATHS} paths (rough 5-95% bands; "
    "a minute or two on a province-sized roster): press 'Compute fans'. Fans that follow "
    "every lever arrive with the fast method (issue 17)."
)


def _quantiles(a: np.ndarray) -> np.ndarray:
    return np.quantile(a, FAN_LEVELS, axis=0)


def engine_fans(
    base: Scenario, edited: Scenario, paths: int = ENGINE_PATHS, seed: int = ENGINE_SEED
) -> FanData:
    """Fans by the engine: ``paths`` paths of the horizon for ``base`` and ``edited`` on the same
    seed (common random numbers). Balance: ``money["balance"]``; the insurer's cumulative result:
    ``money["insurer_cumulative"]`` (funds with an insurer only)."""
    from ..engine.run import run

    out: dict[tuple[str, str, str], np.ndarray] = {}
    years: tuple[int, ...] = ()
    for which, s in (("base", base), ("edited", edited)):
        result = run(s, paths=paths, seed=seed, years=base.horizon_years)
        years = tuple(result.years)
        for f, fund in enumerate(result.plan.funds):
            out[fund, "balance", which] = _quantiles(result.money["balance"][:, :, f])
            if ContractKind(s.funds[fund].contract.kind) is not ContractKind.NONE:
                cum = result.money["insurer_cumulative"][:, :, f]
                out[fund, "insurer_cumulative_result", which] = _quantiles(cum)
    return FanData(years, out, method=f"engine, {paths} paths, seed {seed}")


FAN_METHODS: dict[str, FanMethod] = {"engine": engine_fans}
"""Registered fan methods by name (the fast method adds ``fast``)."""


def best_method() -> str:
    """``fast`` once it is registered, else ``engine``."""
    return "fast" if "fast" in FAN_METHODS else "engine"


def fan_data(method: str, base: Scenario, edited: Scenario) -> FanData:
    """The fans of ``base`` and ``edited`` by the registered ``method``."""
    if method not in FAN_METHODS:
        raise FundsimError(f"no fan method {method!r}; methods: {', '.join(FAN_METHODS)}")
    return FAN_METHODS[method](base, edited)


def fan_figure(data: FanData, labels: dict[str, str]):
    """One row per fund, balance and insurer's cumulative result: median lines and 5-95% bands,
    base and edited (million yuan). ``labels``: fund -> label (plain text, never markup)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    funds = list(dict.fromkeys(k[0] for k in data.quantiles))
    fig = Figure(figsize=(9, 2.4 * max(len(funds), 1)), layout="constrained")
    axes = fig.subplots(max(len(funds), 1), 2, squeeze=False)
    for i, fund in enumerate(funds):
        for j, series in enumerate(("balance", "insurer_cumulative_result")):
            ax = axes[i][j]
            for which, color in (("base", "#555555"), ("edited", "#1f77b4")):
                q = data.quantiles.get((fund, series, which))
                if q is None:
                    continue
                ax.fill_between(data.years, q[0] / 1e6, q[-1] / 1e6, color=color, alpha=0.15)
                ax.plot(data.years, q[2] / 1e6, color=color, marker="o", label=which)
            ax.set_title(f"{labels.get(fund, fund)}: {series.replace('_', ' ')}", fontsize=8)
            ax.set_xticks(list(data.years))
            ax.tick_params(labelsize=7)
            ax.set_ylabel("million yuan", fontsize=7)
            if ax.lines:
                ax.legend(fontsize=7)
            else:  # a fund with no insurer has no insurer's result
                ax.set_visible(False)
    return fig
