"""Comparing a variant with its base on common random numbers.

Run with the same seed, paths and years, a variant sees the same simulated people, admissions and
costs as its base (rules never draw random numbers; see ``engine/streams.py``). The difference of a
measure is then estimated path by path::

    D_k = V_k - B_k,   difference = mean(D),   SE = sd(D) / sqrt(K)

and this SE is usually far smaller than the SE of two independent runs,
``sqrt(SE_B^2 + SE_V^2)`` (reported as ``independent_se`` to show the gain). The CLI
(``fundsim compare``, ``fundsim report`` with variants) and the notebook call :func:`compare`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..engine.result import SimulationResult
from ..errors import FundsimError

COMPARE_MEASURES = (
    "premium",
    "claims",
    "p_deficit",
    "insurer_result",
    "clawback",
    "subsidy",
    "balance",
    "catastrophic_share",
)
"""Measures compared by default: fund measures, then the population's catastrophic share."""

STOCKS = ("balance", "insurer_cumulative", "finance_account")
"""Measures that are levels at the end of a year (the horizon takes the last year's value)."""

POPULATION = "population"

COLUMNS = [
    "variant",
    "fund",
    "measure",
    "period",
    "base_mean",
    "variant_mean",
    "difference",
    "difference_se",
    "relative_change",
    "independent_se",
    "paths",
]


def paired_difference(base: np.ndarray, variant: np.ndarray) -> dict[str, float]:
    """Means of ``base`` and ``variant`` (one value per path) and their difference with its
    common-random-numbers SE ``sd(V - B) / sqrt(K)``; ``independent_se = sqrt(SE_B^2 + SE_V^2)``
    and ``relative_change = difference / base_mean`` (NaN when the base mean is 0)."""
    k = base.shape[0]
    d = variant - base

    def se(x: np.ndarray) -> float:
        return float(x.std(ddof=1) / np.sqrt(k)) if k > 1 else float("nan")

    b, v, diff = float(base.mean()), float(variant.mean()), float(d.mean())
    return {
        "base_mean": b,
        "variant_mean": v,
        "difference": diff,
        "difference_se": se(d),
        "relative_change": diff / abs(b) if b != 0 else float("nan"),
        "independent_se": float(np.hypot(se(base), se(variant))),
    }


def check_common_random_numbers(base: SimulationResult, variant: SimulationResult) -> None:
    """Raise a FundsimError unless the two runs share seed, paths and policy years."""
    problems = []
    if base.info.seed != variant.info.seed:
        problems.append(f"seed {base.info.seed} vs {variant.info.seed}")
    if base.n_paths != variant.n_paths:
        problems.append(f"paths {base.n_paths} vs {variant.n_paths}")
    if list(base.years) != list(variant.years):
        problems.append(f"years {base.years} vs {variant.years}")
    if problems:
        raise FundsimError(
            "a comparison on common random numbers needs the same seed, paths and years for base "
            f"and variant; found {', '.join(problems)}"
        )


def _per_path(result: SimulationResult, measure: str, fund: str | None) -> np.ndarray:
    """Values of ``measure`` per path and year, shape (paths, years)."""
    if measure == "catastrophic_share":
        return result.catastrophic_share()
    f = result.plan.funds.index(fund)
    if measure == "p_deficit":
        return (result.money["surplus"][:, :, f] < 0).astype(float)
    if measure not in result.money:
        raise FundsimError(
            f"cannot compare {measure!r}: choose from {', '.join(sorted(result.money))}, "
            "p_deficit, catastrophic_share"
        )
    return result.money[measure][:, :, f]


def _horizon(values: np.ndarray, measure: str) -> np.ndarray:
    """One value per path over all years: flows summed, stocks at the end, ``p_deficit`` as a
    deficit in at least one year, the catastrophic share averaged over years."""
    if measure in STOCKS:
        return values[:, -1]
    if measure == "p_deficit":
        return values.max(axis=1)
    if measure == "catastrophic_share":
        return values.mean(axis=1)
    return values.sum(axis=1)


def period_label(years: list[int]) -> str:
    """The horizon's label, e.g. ``2019-2021`` (the single year when there is one)."""
    return str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"


def compare(
    base: SimulationResult,
    variant: SimulationResult,
    measures: tuple[str, ...] = COMPARE_MEASURES,
    *,
    by_year: bool = True,
    name: str | None = None,
) -> pd.DataFrame:
    """The variant against the base on common random numbers, one row per fund, measure and period.

    Periods: each policy year (with ``by_year``) and the whole horizon (``2019-2021``: flows summed
    over the years, end-of-horizon balances, a deficit in at least one year; skipped when there is
    one year). Funds are those of the base that the variant also has; ``catastrophic_share`` is a
    population measure (``fund = "population"``). Columns: :data:`COLUMNS` (money in yuan,
    probabilities and shares as fractions).
    """
    check_common_random_numbers(base, variant)
    label = name or variant.plan.scenario.name
    years = list(base.years)
    rows: list[dict[str, Any]] = []
    funds = [f for f in base.plan.funds if f in variant.plan.funds]
    for measure in measures:
        targets: list[str | None] = [None] if measure == "catastrophic_share" else list(funds)
        for fund in targets:
            b = _per_path(base, measure, fund)
            v = _per_path(variant, measure, fund)
            periods: list[tuple[str, np.ndarray, np.ndarray]] = []
            if by_year or len(years) == 1:
                periods += [(str(year), b[:, y], v[:, y]) for y, year in enumerate(years)]
            if len(years) > 1:
                periods.append((period_label(years), _horizon(b, measure), _horizon(v, measure)))
            for period, bb, vv in periods:
                rows.append(
                    {
                        "variant": label,
                        "fund": POPULATION if fund is None else fund,
                        "measure": measure,
                        "period": period,
                        **paired_difference(bb, vv),
                        "paths": base.n_paths,
                    }
                )
    return pd.DataFrame(rows, columns=COLUMNS)


def compare_all(
    base: SimulationResult,
    variants: list[SimulationResult],
    names: list[str] | None = None,
    measures: tuple[str, ...] = COMPARE_MEASURES,
    *,
    by_year: bool = True,
) -> pd.DataFrame:
    """:func:`compare` for each variant, stacked (the ``variant`` column tells them apart)."""
    names = names or unique_names([v.plan.scenario.name for v in variants])
    frames = [
        compare(base, v, measures, by_year=by_year, name=n)
        for v, n in zip(variants, names, strict=True)
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)


def unique_names(names: list[str]) -> list[str]:
    """Names made unique by a suffix (``x``, ``x (2)``)."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return out


PROBABILITY_MEASURES = ("p_deficit", "catastrophic_share")
"""Measures that are probabilities or shares: their differences are in percentage points."""

MATERIAL_SHARE = 0.01
"""A money base is material when at least this share of the fund's financing in the period; a
relative change is shown only against a material base."""


def _financing(comparison: pd.DataFrame) -> pd.Series:
    """The base's financing of each row's variant, fund and period (NaN for the population)."""
    premium = comparison[comparison["measure"] == "premium"].set_index(
        ["variant", "fund", "period"]
    )["base_mean"]
    keys = pd.MultiIndex.from_frame(comparison[["variant", "fund", "period"]])
    return pd.Series(premium.reindex(keys).to_numpy(), index=comparison.index, dtype=float)


def material_relative_change(comparison: pd.DataFrame) -> pd.Series:
    """``relative_change`` where it means something, NaN elsewhere: never for a probability (its
    change is in percentage points), and for money only when ``|base| >=`` :data:`MATERIAL_SHARE`
    of the fund's financing in the period (a change against a near-zero base, e.g. +820% of a
    clawback of almost nothing, says nothing)."""
    fin = _financing(comparison)
    material = comparison["base_mean"].abs() >= MATERIAL_SHARE * fin.abs()
    money = ~comparison["measure"].isin(PROBABILITY_MEASURES)
    return comparison["relative_change"].where(money & material & fin.notna())


def what_changed_most(comparison: pd.DataFrame, period: str, top: int = 10) -> pd.DataFrame:
    """The ``top`` largest changes over ``period``, on one scale: a probability's difference in
    percentage points, a money difference as percentage points of the fund's financing
    (``impact_pp``; financing itself is left out). Sorted by ``|impact_pp|``, largest first;
    rows with no change are left out."""
    d = comparison[comparison["period"] == period].copy()
    fin = _financing(d)
    prob = d["measure"].isin(PROBABILITY_MEASURES)
    d["impact_pp"] = np.where(prob, 100 * d["difference"], 100 * d["difference"] / fin)
    d = d[(d["measure"] != "premium") & np.isfinite(d["impact_pp"]) & (d["difference"] != 0)]
    d = d.reindex(d["impact_pp"].abs().sort_values(ascending=False, kind="stable").index)
    return d.head(top).reset_index(drop=True)
