"""Intra-year cash flows of a fund, and the year-end settlement on incurred claims (issue 8).

The annual engine answers "how much"; this package answers "when". It takes the claims of the
engine's paths (same seed, same people, same amounts), gives each a discharge, reporting and payment
date, and runs a discrete-event model (SimPy) of the fund's special account: financing transfers,
quarterly roster updates, payments to hospitals and patients, and the year-end settlement, on the
claims paid by then or on paid plus a chain-ladder estimate of the rest.

Modules: :mod:`.config` (``CashflowConfig``: lags, seasonality, financing dates), :mod:`.timing`
(calendar, seasonal dates, lags), :mod:`.account` (the SimPy model on plain arrays), :mod:`.ibnr`
(triangles and chain ladder), :mod:`.simulate` (linked to the engine), :mod:`.output` (tables, fan
chart, report section). Typical use::

    from simulation.cashflow import run_cashflow, save_cashflow
    result = run_cashflow(scenario, fund="supplementary", paths=200, seed=1)
    result.summary(); save_cashflow(result, "out/cashflow")
"""

from __future__ import annotations

from typing import Any

from .account import (
    AccountRun,
    ClaimPayments,
    Flow,
    Party,
    RosterUpdate,
    ScheduledFinancing,
    Settlement,
    SettlementTerms,
    Transfer,
    simulate_account,
)
from .config import (
    CashflowConfig,
    Installment,
    Lag,
    LagDistribution,
    SettlementBasis,
    TriangleGrain,
    load_cashflow_config,
)
from .ibnr import (
    Development,
    SettlementEstimates,
    development,
    settlement_estimates,
    settlement_time,
)
from .timing import ClaimTimes, cashflow_rng, claim_times, sample_lag, seasonal_time

_LAZY = {
    "CashflowResult": "simulate",
    "FinancingYear": "financing",
    "fund_financing": "financing",
    "path_developments": "simulate",
    "run_cashflow": "simulate",
    "simulate_cashflow": "simulate",
    "fan_chart": "output",
    "report_section": "output",
    "save_cashflow": "output",
}


def __getattr__(name: str) -> Any:
    """The engine-linked names load on first use (they import the engine, chainladder and
    matplotlib, which the plain-array model does not need)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AccountRun",
    "CashflowConfig",
    "CashflowResult",
    "ClaimPayments",
    "ClaimTimes",
    "Development",
    "FinancingYear",
    "Flow",
    "Installment",
    "Lag",
    "LagDistribution",
    "Party",
    "RosterUpdate",
    "ScheduledFinancing",
    "Settlement",
    "SettlementBasis",
    "SettlementEstimates",
    "SettlementTerms",
    "Transfer",
    "TriangleGrain",
    "cashflow_rng",
    "claim_times",
    "development",
    "fan_chart",
    "fund_financing",
    "load_cashflow_config",
    "path_developments",
    "report_section",
    "run_cashflow",
    "sample_lag",
    "save_cashflow",
    "seasonal_time",
    "settlement_estimates",
    "settlement_time",
    "simulate_account",
    "simulate_cashflow",
]
