"""The report's cash-flow section (issue 8): when money moves, and the year-end settlement.

For the funds chosen (by default the first fund run by an insurer), :func:`run_cashflows` calls
:func:`simulation.cashflow.simulate_cashflow` on the first ``k`` paths of the report's base run
(its plan and seed, so the same people, admissions and costs; the scenario's ``[cashflow]``
settings, defaults where it has none). It is slow (seconds per path on a provincial roster), so
``k`` is small and the bands of the fan chart are coarse.

Tables (money in yuan), each written as a CSV and a workbook sheet:

- ``cashflow_balance``: fund, month, mean, q05, q25, q50, q75, q95 of the month-end balance of the
  special account over the paths, and p_negative (share of paths below zero at that month end)
  (:func:`simulation.cashflow.output.balance_quantiles`);
- ``cashflow_liquidity``: per fund and policy year, the lowest balance at any moment (mean and SE
  over paths, 5% quantile, the lowest of all paths and its date, the median date of the lowest),
  ``P(balance < 0)`` = the share of paths with a day ending below zero (and its binomial SE
  ``sqrt(p (1 - p) / k)``), days below zero, balance at year end;
- ``cashflow_settlement``: per fund, year and claims basis (true incurred, paid, paid + chain
  ladder on the paid triangle, reported + chain ladder on the reported triangle): the claims on
  that basis, the clawback computed on them and its error ``clawback_basis - clawback_true``
  (positive: the finance account claws back too much); means and SEs as in
  :meth:`~simulation.cashflow.CashflowResult.summary`;
- ``cashflow_summary``: :meth:`~simulation.cashflow.CashflowResult.summary` of each fund, stacked.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..engine.result import SimulationResult
from ..errors import FundsimError
from . import tables as T
from .html import Cell, Formatter, HtmlTable, Row, cell_data, fmt_number, fmt_pct
from .i18n import Translator

log = logging.getLogger("fundsim.report")

DEFAULT_CASHFLOW_PATHS = 4
"""Paths of the cash-flow section by default (a few seconds each on a provincial roster)."""

BASES = ("true", "paid", "paid_cl", "reported_cl")
"""Claims bases of the settlement table: true incurred, paid, paid + chain ladder (paid triangle),
reported + chain ladder (reported triangle)."""

CONFIG_BASIS = {
    "paid": "paid",
    "paid_chain_ladder": "paid_cl",
    "reported_chain_ladder": "reported_cl",
}
"""The settlement table's basis of each :class:`~simulation.cashflow.SettlementBasis` value."""

LIQUIDITY_COLUMNS = [
    "fund",
    "year",
    "paths",
    "lowest_balance_mean",
    "lowest_balance_se",
    "lowest_balance_q05",
    "lowest_balance_min",
    "lowest_balance_min_date",
    "lowest_balance_median_date",
    "p_negative",
    "p_negative_se",
    "days_negative_mean",
    "balance_year_end_mean",
    "balance_year_end_se",
]
SETTLEMENT_COLUMNS = [
    "fund",
    "year",
    "basis",
    "used_by_contract",
    "claims_mean",
    "claims_se",
    "clawback_mean",
    "clawback_se",
    "error_mean",
    "error_se",
]


def cashflow_funds(result: SimulationResult, funds: Sequence[str] | None = None) -> list[str]:
    """The funds of the cash-flow section: ``funds`` (checked against the run), or by default the
    first fund run by an insurer (none if no fund is)."""
    if funds is None:
        return T.insurer_funds(result)[:1]
    unknown = [f for f in funds if f not in result.plan.funds]
    if unknown:
        raise FundsimError(
            f"cash-flow fund {unknown[0]!r} is not in the scenario; its funds are "
            f"{', '.join(result.plan.funds)}"
        )
    return list(dict.fromkeys(funds))


def run_cashflows(
    result: SimulationResult, paths: int, funds: Sequence[str] | None = None
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """:func:`~simulation.cashflow.simulate_cashflow` of each fund of :func:`cashflow_funds` on
    the first ``min(paths, result.n_paths)`` paths of ``result`` (its plan and seed; the
    scenario's ``[cashflow]`` settings). Returns the results by fund and the funds that failed
    with the reason (``(fund, reason)``: the report shows them instead of failing)."""
    from ..cashflow import simulate_cashflow

    k = min(paths, result.n_paths)
    config = result.plan.scenario.cashflow
    out: dict[str, Any] = {}
    failures: list[tuple[str, str]] = []
    for fund in cashflow_funds(result, funds):
        t0 = time.perf_counter()
        try:
            out[fund] = simulate_cashflow(result.plan, fund, k, result.info.seed, config)
        except FundsimError as e:
            failures.append((fund, str(e)))
            continue
        except (ValueError, ArithmeticError) as e:  # a numerical failure (e.g. chain ladder)
            failures.append((fund, f"{type(e).__name__}: {e}"))
            continue
        log.info("cash flows of %s: %d paths in %.1f s", fund, k, time.perf_counter() - t0)
    return out, failures


def _mean_se(v: np.ndarray) -> tuple[float, float]:
    k = v.size
    return float(v.mean()), (float(v.std(ddof=1) / np.sqrt(k)) if k > 1 else float("nan"))


def balance_fan(cashflows: dict[str, Any]) -> pd.DataFrame:
    """Month-end balance quantiles of every fund's account (yuan), stacked by fund."""
    from ..cashflow.output import balance_quantiles

    frames = []
    for fund, cf in cashflows.items():
        q = balance_quantiles(cf)
        q.insert(0, "fund", fund)
        frames.append(q)
    cols = ["fund", "month", "mean", "q05", "q25", "q50", "q75", "q95", "p_negative"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


def liquidity_table(cashflows: dict[str, Any]) -> pd.DataFrame:
    """Per fund and policy year: the lowest balance and when, P(balance < 0), days below zero,
    balance at year end (see the module docstring)."""
    rows = []
    for fund, cf in cashflows.items():
        summary = cf.summary().set_index("year")
        for year, d in cf.by_year.groupby("year", sort=True):
            s = summary.loc[year]
            low = d["lowest_balance"].to_numpy(dtype=float)
            dates = d["lowest_balance_date"].astype(str).to_numpy()
            worst = int(np.argmin(low))
            rows.append(
                {
                    "fund": fund,
                    "year": int(year),
                    "paths": int(cf.paths),
                    "lowest_balance_mean": float(s["lowest_balance_mean"]),
                    "lowest_balance_se": float(s["lowest_balance_se"]),
                    "lowest_balance_q05": float(s["lowest_balance_q05"]),
                    "lowest_balance_min": float(low[worst]),
                    "lowest_balance_min_date": str(dates[worst]),
                    "lowest_balance_median_date": str(np.sort(dates)[(dates.size - 1) // 2]),
                    "p_negative": float(s["p_negative"]),
                    "p_negative_se": float(s["p_negative_se"]),
                    "days_negative_mean": float(s["days_negative_mean"]),
                    "balance_year_end_mean": float(s["balance_year_end_mean"]),
                    "balance_year_end_se": float(s["balance_year_end_se"]),
                }
            )
    return pd.DataFrame(rows, columns=LIQUIDITY_COLUMNS)


def basis_claims(by_year: pd.DataFrame, basis: str) -> np.ndarray:
    """The claims (yuan) the clawback of ``basis`` is computed on, per row of ``by_year``:
    incurred; paid at settlement; paid + chain-ladder unpaid; reported + chain-ladder IBNR."""
    if basis == "true":
        return by_year["claims_incurred"].to_numpy(dtype=float)
    paid = by_year["paid_at_settlement"].to_numpy(dtype=float)
    if basis == "paid":
        return paid
    if basis == "paid_cl":
        return paid + by_year["unpaid_paid_cl"].to_numpy(dtype=float)
    if basis == "reported_cl":
        return by_year["reported_at_settlement"].to_numpy(dtype=float) + by_year[
            "ibnr_reported_cl"
        ].to_numpy(dtype=float)
    raise ValueError(f"unknown claims basis {basis!r}; bases: {', '.join(BASES)}")


def settlement_table(cashflows: dict[str, Any]) -> pd.DataFrame:
    """Per fund, year and claims basis: claims, clawback and its error against the clawback on
    the true incurred claims (see the module docstring)."""
    rows = []
    for fund, cf in cashflows.items():
        summary = cf.summary().set_index("year")
        used = CONFIG_BASIS.get(str(cf.config.settlement_basis.value), "")
        for year, d in cf.by_year.groupby("year", sort=True):
            s = summary.loc[year]
            for basis in BASES:
                claims_mean, claims_se = _mean_se(basis_claims(d, basis))
                if basis == "true":
                    err_mean, err_se = 0.0, 0.0
                else:
                    err_mean = float(s[f"clawback_error_{basis}_mean"])
                    err_se = float(s[f"clawback_error_{basis}_se"])
                rows.append(
                    {
                        "fund": fund,
                        "year": int(year),
                        "basis": basis,
                        "used_by_contract": basis == used,
                        "claims_mean": claims_mean,
                        "claims_se": claims_se,
                        "clawback_mean": float(s[f"clawback_{basis}_mean"]),
                        "clawback_se": float(s[f"clawback_{basis}_se"]),
                        "error_mean": err_mean,
                        "error_se": err_se,
                    }
                )
    return pd.DataFrame(rows, columns=SETTLEMENT_COLUMNS)


def summary_table(cashflows: dict[str, Any]) -> pd.DataFrame:
    """:meth:`~simulation.cashflow.CashflowResult.summary` of every fund, stacked."""
    frames = [cf.summary() for cf in cashflows.values()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["fund"])


# --------------------------------------------------------------------------- HTML


ROUNDING_YUAN = 1e-6
"""Amounts below this (yuan) are rounding noise of sums of floats: shown as 0."""


def _money_se(fmt: Formatter, mean: float, se: float) -> str:
    """``mean ± se`` in the money unit (``mean`` alone without an SE); rounding noise as 0."""
    mean = 0.0 if abs(mean) < ROUNDING_YUAN else mean
    se = 0.0 if abs(se) < ROUNDING_YUAN else se
    return fmt.money(mean) if not math.isfinite(se) else fmt.money_se(mean, se)


def liquidity_html_table(
    t: Translator, fmt: Formatter, table: pd.DataFrame, names: dict[str, dict[str, str]]
) -> HtmlTable:
    header = [
        t("col_year"),
        t("col_lowest"),
        t("col_lowest_q05"),
        t("col_lowest_min"),
        t("col_lowest_date"),
        t("col_lowest_median_date"),
        t("col_p_negative"),
        t("col_days_negative"),
        t("col_balance_end"),
    ]
    rows: list[Row] = []
    for fund, d in table.groupby("fund", sort=False):
        rows.append(Row(group=names["fund"].get(str(fund), str(fund))))
        for r in d.itertuples():
            p = (
                fmt_pct(r.p_negative)
                if not math.isfinite(r.p_negative_se)
                else fmt.prob_se(r.p_negative, r.p_negative_se)
            )
            rows.append(
                Row(
                    (
                        Cell(str(r.year)),
                        Cell(
                            _money_se(fmt, r.lowest_balance_mean, r.lowest_balance_se),
                            num=True,
                            data=cell_data(
                                fund=fund,
                                year=r.year,
                                cashflow="lowest_balance",
                                value=float(r.lowest_balance_mean),
                                se=float(r.lowest_balance_se),
                            ),
                        ),
                        Cell(fmt.money(r.lowest_balance_q05), num=True),
                        Cell(fmt.money(r.lowest_balance_min), num=True),
                        Cell(r.lowest_balance_min_date),
                        Cell(r.lowest_balance_median_date),
                        Cell(
                            p,
                            num=True,
                            data=cell_data(
                                fund=fund,
                                year=r.year,
                                cashflow="p_negative",
                                value=float(r.p_negative),
                                se=float(r.p_negative_se),
                            ),
                        ),
                        Cell(fmt_number(r.days_negative_mean, 1), num=True),
                        Cell(
                            _money_se(fmt, r.balance_year_end_mean, r.balance_year_end_se),
                            num=True,
                        ),
                    )
                )
            )
    return HtmlTable("cashflow-liquidity", header, rows)


def settlement_html_table(
    t: Translator, fmt: Formatter, table: pd.DataFrame, names: dict[str, dict[str, str]]
) -> HtmlTable:
    header = [
        t("col_year"),
        t("col_basis"),
        t("col_claims_basis"),
        t("col_clawback"),
        t("col_error"),
    ]
    rows: list[Row] = []
    for fund, d in table.groupby("fund", sort=False):
        rows.append(Row(group=names["fund"].get(str(fund), str(fund))))
        for r in d.itertuples():
            error = "—" if r.basis == "true" else _money_se(fmt, r.error_mean, r.error_se)
            rows.append(
                Row(
                    (
                        Cell(str(r.year)),
                        Cell(
                            t(f"basis_{r.basis}"), sub=t("basis_used") if r.used_by_contract else ""
                        ),
                        Cell(_money_se(fmt, r.claims_mean, r.claims_se), num=True),
                        Cell(
                            _money_se(fmt, r.clawback_mean, r.clawback_se),
                            num=True,
                            data=cell_data(
                                fund=fund,
                                year=r.year,
                                cashflow=f"clawback_{r.basis}",
                                value=float(r.clawback_mean),
                                se=float(r.clawback_se),
                            ),
                        ),
                        Cell(error, num=True),
                    )
                )
            )
    return HtmlTable("cashflow-settlement", header, rows)


def cashflow_leads(
    t: Translator,
    fmt: Formatter,
    cashflows: dict[str, Any],
    names: dict[str, dict[str, str]],
) -> list[str]:
    """One sentence per fund: the lowest balance of all paths and its date, the share of
    path-years with a negative balance, and the mean yearly clawback error of settling on paid
    claims and on paid + chain ladder (per path averaged over the years, then mean ± SE over
    paths)."""
    out = []
    unit = t(fmt.unit.key)
    for fund, cf in cashflows.items():
        d = cf.by_year
        low = d["lowest_balance"].to_numpy(dtype=float)
        worst = int(np.argmin(low))
        per_path = d.groupby("path")[["clawback_error_paid", "clawback_error_paid_cl"]].mean()
        errors = [
            _money_se(fmt, *_mean_se(per_path[c].to_numpy(dtype=float)))
            for c in ("clawback_error_paid", "clawback_error_paid_cl")
        ]
        out.append(
            t(
                "cashflow_lead",
                fund=names["fund"].get(fund, fund),
                k=cf.paths,
                low=fmt.money(float(low[worst]) if abs(low[worst]) >= ROUNDING_YUAN else 0.0),
                unit=unit,
                date=str(d["lowest_balance_date"].iloc[worst]),
                p_neg=fmt_pct(float(np.mean(d["days_negative"].to_numpy() > 0))),
                err_paid=errors[0],
                err_cl=errors[1],
            )
        )
    return out


__all__ = [
    "BASES",
    "DEFAULT_CASHFLOW_PATHS",
    "balance_fan",
    "basis_claims",
    "cashflow_funds",
    "cashflow_leads",
    "liquidity_html_table",
    "liquidity_table",
    "run_cashflows",
    "settlement_html_table",
    "settlement_table",
    "summary_table",
]
