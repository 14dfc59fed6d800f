"""The numbers of a report, computed before anything is rendered.

:func:`compute_numbers` runs every computation a report needs on a base run and its variants (the
director's summary, fans, the insurer's result, tender pricing, cash flows, claims by layer and
category, the comparison, Monte Carlo errors and the exact method's check) and returns them as a
:class:`ReportNumbers` of tidy DataFrames (money in yuan, probabilities as fractions). Rendering
(:mod:`.page`, :mod:`.sections`) only formats these numbers; it computes none.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..engine.result import SimulationResult
from ..errors import FundsimError
from ..scenario.schema import ContractKind
from . import bidcurve as BC
from . import cashflows as CF
from . import tables as T
from . import tender
from .compare import compare_all
from .keyfacts import key_figures

log = logging.getLogger("fundsim.report")

TABLE_ORDER = (
    "overview",
    "director_summary",
    "key_figures",
    "balance_fan",
    "insurer_cumulative_fan",
    "insurer_result_distribution",
    "tender_pricing",
    "tender_bid_curve",
    "cashflow_balance",
    "cashflow_liquidity",
    "cashflow_settlement",
    "cashflow_summary",
    "claims_by_layer",
    "claims_by_category",
    "comparison",
    "mc_errors",
    "run_info",
    "exact_check",
)
"""The order of a report's tables (CSV files and workbook sheets); a table not listed follows."""

EXACT_COLUMNS = ["fund", "year", "quantity", "exact", "mc", "mc_se", "z", "agrees"]


@dataclass
class ReportNumbers:
    """Everything a report shows, as numbers (see :func:`compute_numbers`)."""

    summary: pd.DataFrame
    """The engine's summary of the base run (what ``summary.json`` holds)."""
    tables: dict[str, pd.DataFrame]
    """The report's tables by name (:data:`TABLE_ORDER`)."""
    insurer: list[str]
    """Funds run by an insurer, in scenario order."""
    caps: dict[str, tuple[str, float] | None]
    """Per insurer fund: the result's base and cap (None without a cap)."""
    pricing_failures: list[tuple[str, str]] = field(default_factory=list)
    bid_curves: dict[str, pd.DataFrame] = field(default_factory=dict)
    """The tender bid curve of each premium-contract fund run by an insurer (:mod:`.bidcurve`)."""
    cashflows: dict[str, Any] | None = None
    """Cash-flow results by fund; None when the section is left out."""
    cashflow_failures: list[tuple[str, str]] = field(default_factory=list)
    exact: bool = True
    exact_notes: list[str] = field(default_factory=list)
    exact_failures: list[str] = field(default_factory=list)


STAGES = ("summary", "tender pricing", "cash flows", "comparison", "exact method")
"""The stages of the report's numbers, as the progress bar names them."""


class Progress:
    """A ``tqdm.auto`` bar over the report's stages (a widget in a notebook, text on a terminal;
    nothing when disabled). Each stage is named on the bar when it starts."""

    def __init__(self, enabled: bool, stages: Sequence[str]) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(
            total=len(stages),
            desc="report",
            unit="stage",
            disable=not enabled,
            file=sys.stderr,
            mininterval=0,
            leave=False,
        )

    def stage(self, name: str) -> None:
        log.info("%s", name)
        self.bar.set_description_str(f"report: {name}", refresh=True)

    def done(self) -> None:
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def compute_numbers(
    base: SimulationResult,
    variants: Sequence[SimulationResult],
    variant_names: Sequence[str],
    *,
    exact: bool = True,
    cashflow_paths: int = CF.DEFAULT_CASHFLOW_PATHS,
    cashflow_funds: Sequence[str] | None = None,
    progress: bool = False,
) -> ReportNumbers:
    """The report's numbers for ``base`` and ``variants`` (named ``variant_names``); with
    ``progress`` a bar names each stage (:data:`STAGES`) as it starts."""
    stages = [
        s
        for s in STAGES
        if (s != "cash flows" or cashflow_paths > 0)
        and (s != "comparison" or variants)
        and (s != "exact method" or exact)
    ]
    bar = Progress(progress, stages)
    try:
        return _compute(base, variants, variant_names, exact, cashflow_paths, cashflow_funds, bar)
    finally:
        bar.close()


def _compute(
    base: SimulationResult,
    variants: Sequence[SimulationResult],
    variant_names: Sequence[str],
    exact: bool,
    cashflow_paths: int,
    cashflow_funds: Sequence[str] | None,
    bar: Progress,
) -> ReportNumbers:
    bar.stage("summary")
    summary = base.summary()
    tables: dict[str, pd.DataFrame] = {}
    tables["director_summary"] = T.director_summary(base, summary)
    tables["key_figures"] = key_figures(base)
    tables["overview"] = overview(tables["director_summary"])
    tables["balance_fan"] = T.fan_table(base, "balance")
    insurer = T.insurer_funds(base)
    tables["insurer_cumulative_fan"] = T.fan_table(base, "insurer_cumulative", insurer)
    tables["insurer_result_distribution"] = T.result_distribution(base)
    caps = {f: T.result_base_and_cap(base, f) for f in insurer}
    bar.done()

    bar.stage("tender pricing")
    pricing, pricing_failures = tender.pricing_table(base)
    tables["tender_pricing"] = pricing
    bid_curves = {}
    for fund in insurer:
        if base.plan.scenario.funds[fund].contract.kind is ContractKind.COST_PLUS:
            continue
        try:
            curve = BC.bid_curve(base, fund, pricing)
        except (FundsimError, ValueError, ArithmeticError) as e:
            pricing_failures.append((fund, f"bid curve: {e}"))
            continue
        if not curve.empty:
            bid_curves[fund] = curve
    if bid_curves:
        tables["tender_bid_curve"] = pd.concat(bid_curves.values(), ignore_index=True)
    bar.done()

    cashflows = None
    cashflow_failures: list[tuple[str, str]] = []
    if cashflow_paths > 0:
        bar.stage("cash flows")
        log.info("cash flows: %d path(s)", min(cashflow_paths, base.n_paths))
        cashflows, cashflow_failures = CF.run_cashflows(base, cashflow_paths, cashflow_funds)
        tables["cashflow_balance"] = CF.balance_fan(cashflows)
        tables["cashflow_liquidity"] = CF.liquidity_table(cashflows)
        tables["cashflow_settlement"] = CF.settlement_table(cashflows)
        tables["cashflow_summary"] = CF.summary_table(cashflows)
        bar.done()

    tables["claims_by_layer"] = T.layer_table(base)
    tables["claims_by_category"] = T.category_table(base)

    log.info("comparison: %d variant(s)", len(variants))
    if variants:
        bar.stage("comparison")
        tables["comparison"] = compare_all(base, list(variants), list(variant_names))
        bar.done()

    tables["mc_errors"] = T.mc_error_table(summary)
    notes: list[str] = []
    failures: list[str] = []
    if exact:
        bar.stage("exact method")
        ex, notes, failures = T.exact_check(base, summary)
        bar.done()
    else:
        ex = pd.DataFrame(columns=EXACT_COLUMNS)
    tables["exact_check"] = ex
    return ReportNumbers(
        summary=summary,
        tables=tables,
        insurer=insurer,
        caps=caps,
        pricing_failures=pricing_failures,
        bid_curves=bid_curves,
        cashflows=cashflows,
        cashflow_failures=cashflow_failures,
        exact=exact,
        exact_notes=notes,
        exact_failures=failures,
    )


def overview(director: pd.DataFrame) -> pd.DataFrame:
    """The director's table as the page lays it out: a row per fund and measure, the mean in a
    column per year (money in yuan, probabilities as fractions)."""
    wide = director.pivot_table(
        index=["fund", "measure"], columns="year", values="mean", sort=False
    ).reset_index()
    wide.columns = [str(c) for c in wide.columns]
    return wide


def ordered(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """``tables`` in :data:`TABLE_ORDER` (tables it does not list follow in their order)."""
    known = [k for k in TABLE_ORDER if k in tables]
    return {k: tables[k] for k in [*known, *[k for k in tables if k not in TABLE_ORDER]]}
