"""The cash-flow model linked to the engine: same paths, same claims, timing added.

For each path, :func:`simulation.engine.simulate.path_claims` returns the admissions of every policy
year exactly as the engine drew and paid them; this module gives each a discharge date (seasonal,
within the person's cover), a reporting date and a payment date (:func:`.timing.claim_times`, on a
stream of its own keyed by path and year), and runs the account model (:mod:`.account`). The
claims of a policy year therefore total what the engine reports for that path, year and fund,
whatever the lags: only their dates differ.

Financing of fund ``f`` in policy year ``y`` (yuan), from the run plan (RULES.md section 2):

- ``base_y``: persons covered at the start of the year x this year's financing per head (by tier);
- ``late_y = premium_y - base_y``: last year's entrants, financed a year late at last year's
  standard (in the first year the plan takes this year's entrants: a roster in steady state);
- pre-allocation ``share_i * base_{y-1}`` on each installment day (in the first year
  ``base_{y-1}`` is taken as ``base_y``, the same steady-state assumption); true-up
  ``base_y - sum_i share_i * base_{y-1}``; entrant financing ``late_y``. They add up to the plan's
  premium ``P_y``, the contract's funds raised.

Order of steps: the deterministic financing and roster schedule; every path's claim dates; at each
settlement date, the triangles of all paths and their chain-ladder estimates; the account model of
every path (whose settlement transfer uses the configured basis); the measures.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..engine.plan import RunPlan, build_plan
from ..engine.simulate import block_claims, path_claims
from ..engine.streams import n_blocks
from ..errors import FundsimError
from ..rules.contract import settle_year
from ..scenario.schema import ContractKind, Scenario
from .account import (
    FINANCING_FLOWS,
    AccountRun,
    ClaimPayments,
    Flow,
    SettlementTerms,
    simulate_account,
)
from .config import CashflowConfig, SettlementBasis
from .financing import FinancingYear, financing_per_head, fund_financing
from .ibnr import Development, SettlementEstimates, development, settlement_estimates
from .timing import (
    DAYS_PER_YEAR,
    cashflow_rng,
    claim_times,
    date_label,
    date_labels,
    month_end,
    month_label,
    segment_bounds,
)

NEGATIVE_TOLERANCE = 0.005
"""A balance below ``-0.005`` yuan (half a fen) counts as negative (rounding is not a deficit)."""


# --------------------------------------------------------------------------- claims


def path_developments(
    plan: RunPlan,
    seed: int,
    path: int,
    fund: str,
    config: CashflowConfig,
    years: list[dict[str, np.ndarray]] | None = None,
) -> list[Development]:
    """The dated claims of ``fund`` on ``path``, one :class:`~.ibnr.Development` per policy year.

    Lags are drawn for every admission of the year (whichever fund pays it), so an admission has the
    same dates in the analysis of every fund. ``years``: the path's admissions when already drawn
    (:func:`~simulation.engine.simulate.block_claims`), else they are drawn here.
    """
    if years is None:
        years = path_claims(plan, seed, path)
    out = []
    for index, (yp, claims) in enumerate(zip(plan.years, years, strict=True)):
        if not claims or claims["time"].size == 0:
            empty = np.zeros(0)
            out.append(development(index, empty, empty, empty, empty))
            continue
        lo, hi = segment_bounds(
            claims["time"],
            claims["group"],
            [g.seg_start for g in yp.groups],
            [g.seg_end for g in yp.groups],
        )
        rng = cashflow_rng(seed, path, yp.year)
        times = claim_times(rng, index, claims["time"], lo, hi, config)
        amount = claims[f"paid_{fund}"]
        keep = amount > 0
        out.append(
            development(
                index, times.incurred[keep], times.reported[keep], times.paid[keep], amount[keep]
            )
        )
    return out


# --------------------------------------------------------------------------- measures


def balance_at(ledger: pd.DataFrame, opening: float, times: np.ndarray) -> np.ndarray:
    """The account's balance at each of ``times`` (after every transfer at or before it), yuan."""
    t = ledger["time"].to_numpy()
    after = ledger["account_after"].to_numpy()
    idx = np.searchsorted(t, np.asarray(times, dtype=float), side="right") - 1
    return np.where(idx >= 0, after[np.maximum(idx, 0)], opening)


def year_measures(ledger: pd.DataFrame, opening: float, index: int) -> dict[str, float]:
    """Calendar year ``index`` of the account: balance at year end, the lowest balance at any
    moment and when, the days ending with a negative balance, and money in and out (yuan)."""
    start, end = DAYS_PER_YEAR * index, DAYS_PER_YEAR * (index + 1)
    t = ledger["time"].to_numpy()
    inside = (t > start) & (t <= end)
    opening_year = float(balance_at(ledger, opening, np.array([start]))[0])
    after = ledger["account_after"].to_numpy()[inside]
    if after.size and after.min() < opening_year:
        k = int(np.argmin(after))
        lowest, when = float(after[k]), float(t[inside][k])
    else:  # the balance carried into the year (its first instant)
        lowest, when = opening_year, float(start) + 1e-6
    days = np.arange(start + 1, end + 1, dtype=float)
    daily = balance_at(ledger, opening, days)
    flows = ledger[inside]
    amount = flows["amount"].to_numpy()
    is_financing = flows["flow"].isin([f.value for f in FINANCING_FLOWS]).to_numpy()
    into = (flows["target"] == "account").to_numpy()
    signed = np.where(into, amount, -amount)
    return {
        "balance_year_end": float(daily[-1]),
        "lowest_balance": lowest,
        "lowest_balance_time": when,
        "days_negative": int(np.count_nonzero(daily < -NEGATIVE_TOLERANCE)),
        "financing_received": float(signed[is_financing].sum()),
        "claims_paid_in_year": float(amount[(flows["flow"] == Flow.CLAIMS.value).to_numpy()].sum()),
    }


def clawback_by_basis(
    scenario: Scenario, fund: str, premium: float, claims: np.ndarray
) -> np.ndarray:
    """The clawback (yuan) the fund's contract sets on ``claims`` (an array over paths)."""
    contract = scenario.funds[fund].contract
    if ContractKind(contract.kind) is ContractKind.NONE:
        return np.zeros_like(claims)
    return settle_year(contract, premium, claims)["clawback"]


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class CashflowResult:
    """The cash flows of one fund over a run's paths (money in yuan)."""

    fund: str
    seed: int
    paths: int
    start_year: int
    years: tuple[int, ...]
    config: CashflowConfig
    financing: tuple[FinancingYear, ...]
    months: tuple[str, ...]
    monthly_balance: np.ndarray
    """Account balance at each month end, shape (paths, months): the policy years and the
    ``runoff_years`` after them."""
    by_year: pd.DataFrame
    """One row per path and policy (= calendar) year; see :func:`simulate_cashflow`."""
    estimates: tuple[SettlementEstimates, ...]
    ledger: pd.DataFrame
    """Every transfer of every path: path, time, date, flow, source, target, amount, year,
    account_after."""
    roster: pd.DataFrame
    """The roster updates (the same on every path)."""
    scenario: Scenario = field(repr=False)

    def financing_table(self) -> pd.DataFrame:
        """The financing transfers of every policy year: year, date, flow, amount."""
        rows = [
            {
                "year": fy.year,
                "date": date_label(s.time, self.start_year),
                "flow": s.flow.value,
                "amount": s.amount,
            }
            for fy in self.financing
            for s in fy.schedule
        ]
        return pd.DataFrame(rows, columns=["year", "date", "flow", "amount"])

    def summary(self) -> pd.DataFrame:
        """One row per year: means with standard errors (sd / sqrt(paths)) and a few quantiles."""
        k = self.paths
        rows = []
        for year, df in self.by_year.groupby("year"):
            row: dict[str, float | int] = {"fund": self.fund, "year": int(year), "paths": k}
            for col in SUMMARY_MEANS:
                v = df[col].to_numpy(dtype=float)
                row[f"{col}_mean"] = float(v.mean())
                row[f"{col}_se"] = float(v.std(ddof=1) / np.sqrt(k)) if k > 1 else float("nan")
            low = df["lowest_balance"].to_numpy(dtype=float)
            row["lowest_balance_q05"] = float(np.quantile(low, 0.05))
            p = float(np.mean(df["days_negative"].to_numpy() > 0))
            row["p_negative"] = p
            row["p_negative_se"] = float(np.sqrt(p * (1 - p) / k))
            rows.append(row)
        return pd.DataFrame(rows)


SUMMARY_MEANS = (
    "premium",
    "financing_received",
    "claims_incurred",
    "claims_paid_in_year",
    "paid_at_settlement",
    "unpaid_true",
    "unpaid_paid_cl",
    "unpaid_error_paid_cl",
    "ibnr_true",
    "ibnr_reported_cl",
    "ibnr_error_reported_cl",
    "clawback_true",
    "clawback_paid",
    "clawback_paid_cl",
    "clawback_reported_cl",
    "clawback_error_paid",
    "clawback_error_paid_cl",
    "clawback_error_reported_cl",
    "clawback_transferred",
    "subsidy_transferred",
    "balance_year_end",
    "lowest_balance",
    "days_negative",
    "late_financing",
    "receivable_year_end",
)


def _unpaid_estimate(est: SettlementEstimates, basis: SettlementBasis) -> np.ndarray:
    if basis is SettlementBasis.PAID:
        return np.zeros_like(est.paid)
    if basis is SettlementBasis.PAID_CHAIN_LADDER:
        return est.paid_cl_unpaid
    return est.reported_cl - est.paid


def simulate_cashflow(
    plan: RunPlan,
    fund: str,
    paths: int,
    seed: int,
    config: CashflowConfig | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> CashflowResult:
    """Simulate the cash flows of ``fund`` on paths ``0..paths-1`` of the run ``(plan, seed)``.

    ``by_year`` columns (yuan unless stated), for path ``p`` and policy year ``y``: ``premium``
    (P, funds raised), ``financing_received`` (transfers in calendar year ``y``),
    ``late_financing`` (last year's entrants' financing received in ``y``),
    ``receivable_year_end`` (this year's entrants' financing still owed on December 31),
    ``claims_incurred`` (the engine's claims of ``y``), ``claims_paid_in_year`` (payments in
    calendar year ``y``, any policy year), ``paid_at_settlement``, ``reported_at_settlement``,
    ``unpaid_true`` (incurred - paid), ``unpaid_paid_cl`` and its error, ``ibnr_true`` (incurred -
    reported), ``ibnr_reported_cl`` and its error ``ibnr_error_reported_cl``,
    ``clawback_<basis>`` for basis true / paid / paid_cl / reported_cl with
    ``clawback_error_<basis> = clawback_<basis> - clawback_true``, ``clawback_transferred``,
    ``fund_loss_share_transferred`` and ``subsidy_transferred`` (the policy-change subsidy from
    finance) by the account model, on ``config.settlement_basis``, ``balance_year_end``, ``lowest_balance``
    with ``lowest_balance_date``, ``days_negative`` (days ending below zero).
    """
    if fund not in plan.funds:
        raise FundsimError(
            f"fund {fund!r} is not in the scenario; its funds are {', '.join(plan.funds)}"
        )
    if paths < 1:
        raise FundsimError(f"paths must be at least 1, found {paths}")
    config = config or CashflowConfig()
    scenario = plan.scenario
    start_year = scenario.start_year
    years = tuple(plan.year_labels)
    n_years = len(years)
    financing = fund_financing(plan, fund, config)

    f = plan.funds.index(fund)
    developments = []
    change_effect = np.zeros((paths, n_years))  # claims under the old rules - under the new
    for block in range(n_blocks(paths)):  # each block's streams drawn once, a path at a time
        for p, claims, sums in block_claims(plan, seed, block, paths):
            developments.append(path_developments(plan, seed, p, fund, config, claims))
            change_effect[p] = sums["fund_claims_old"][:, f] - sums["fund_claims"][:, f]
            if progress is not None:
                progress(1)
    changed = [yp.packed_old is not None for yp in plan.years]
    estimates = tuple(
        settlement_estimates(developments, y, config, start_year) for y in range(n_years)
    )

    contract = scenario.funds[fund].contract
    opening = scenario.funds[fund].opening_balance_yuan
    n_months = 12 * (n_years + config.runoff_years)
    month_ends = month_end(np.arange(n_months)).astype(float)
    monthly = np.zeros((paths, n_months))
    runs: list[AccountRun] = []
    ledgers = []
    for p in range(paths):
        terms = [
            SettlementTerms(
                year=fy.year,
                time=est.time,
                premium=fy.premium,
                unpaid_estimate=float(_unpaid_estimate(est, config.settlement_basis)[p]),
                change_effect=float(change_effect[p, y]) if changed[y] else None,
            )
            for y, (fy, est) in enumerate(zip(financing, estimates, strict=True))
        ]
        run = simulate_account(
            opening_balance=opening,
            contract=contract,
            financing=[s for fy in financing for s in fy.schedule],
            payments=[
                ClaimPayments(fy.year, d.paid_day, d.paid_amount)
                for fy, d in zip(financing, developments[p], strict=True)
            ],
            settlements=terms,
            roster=[u for fy in financing for u in fy.roster],
            opening_receivable=financing[0].late,
        )
        runs.append(run)
        monthly[p] = balance_at(run.ledger, opening, month_ends)
        ledger = run.ledger.copy()
        ledger.insert(0, "path", p)
        ledgers.append(ledger)

    rows = []
    for y, (fy, est) in enumerate(zip(financing, estimates, strict=True)):
        premium = fy.premium
        cb = {
            "true": clawback_by_basis(scenario, fund, premium, est.incurred),
            "paid": clawback_by_basis(scenario, fund, premium, est.paid),
            "paid_cl": clawback_by_basis(scenario, fund, premium, est.paid_cl),
            "reported_cl": clawback_by_basis(scenario, fund, premium, est.reported_cl),
        }
        receivable_end = math.fsum(u.receivable for u in fy.roster)
        for p in range(paths):
            m = year_measures(runs[p].ledger, opening, y)
            settled = runs[p].settlements[y]
            row = {
                "path": p,
                "year": fy.year,
                "premium": premium,
                "financing_received": m["financing_received"],
                "late_financing": fy.late,
                "receivable_year_end": receivable_end,
                "claims_incurred": est.incurred[p],
                "claims_paid_in_year": m["claims_paid_in_year"],
                "paid_at_settlement": est.paid[p],
                "reported_at_settlement": est.reported[p],
                "unpaid_true": est.unpaid[p],
                "unpaid_paid_cl": est.paid_cl_unpaid[p],
                "unpaid_error_paid_cl": est.paid_cl_unpaid[p] - est.unpaid[p],
                "ibnr_true": est.ibnr[p],
                "ibnr_reported_cl": est.reported_cl_ibnr[p],
                "ibnr_error_reported_cl": est.reported_cl_ibnr[p] - est.ibnr[p],
            }
            for basis, values in cb.items():
                row[f"clawback_{basis}"] = float(values[p])
            for basis in ("paid", "paid_cl", "reported_cl"):
                row[f"clawback_error_{basis}"] = float(cb[basis][p] - cb["true"][p])
            row["clawback_transferred"] = settled.clawback
            row["fund_loss_share_transferred"] = settled.fund_loss_share
            row["subsidy_transferred"] = settled.subsidy
            row["balance_year_end"] = m["balance_year_end"]
            row["lowest_balance"] = m["lowest_balance"]
            row["lowest_balance_date"] = date_label(m["lowest_balance_time"], start_year)
            row["days_negative"] = m["days_negative"]
            rows.append(row)
    by_year = pd.DataFrame(rows)
    ledger = pd.concat(ledgers, ignore_index=True)
    ledger.insert(2, "date", date_labels(ledger["time"].to_numpy(), start_year))
    roster = runs[0].roster.copy()
    # a roster update takes effect at the start of its day: time d - 1 belongs to day d here
    roster.insert(1, "date", date_labels(roster["time"].to_numpy() + 1e-6, start_year))
    return CashflowResult(
        fund=fund,
        seed=seed,
        paths=paths,
        start_year=start_year,
        years=years,
        config=config,
        financing=financing,
        months=tuple(month_label(m, start_year) for m in range(n_months)),
        monthly_balance=monthly,
        by_year=by_year,
        estimates=estimates,
        ledger=ledger,
        roster=roster,
        scenario=scenario,
    )


def run_cashflow(
    scenario: Scenario,
    fund: str,
    paths: int = 100,
    seed: int = 0,
    years: int | None = None,
    config: CashflowConfig | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> CashflowResult:
    """Build the run plan of ``scenario`` and simulate the cash flows of ``fund``."""
    return simulate_cashflow(
        build_plan(scenario, years), fund, paths, seed, config, progress=progress
    )


__all__ = [
    "NEGATIVE_TOLERANCE",
    "SUMMARY_MEANS",
    "CashflowResult",
    "FinancingYear",
    "balance_at",
    "clawback_by_basis",
    "financing_per_head",
    "fund_financing",
    "path_developments",
    "run_cashflow",
    "simulate_cashflow",
    "year_measures",
]
