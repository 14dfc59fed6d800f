"""``fundsim cashflow SCENARIO --fund NAME --paths K --seed S --out DIR``: intra-year cash flows.

Simulates the engine's paths with claim dates added, runs the account model of one fund and prints,
by year, the settlement on paid claims against the settlement on paid plus chain-ladder claims and
the true incurred claims, and the account's liquidity. With ``--out`` writes the tables, the fan
chart of the monthly balance (``fan_chart.png``), a report section and a manifest, atomically.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from ..outputs import check_output_dir, command_line, display_path
from ..scenario import load_scenario
from ._common import _paths, _seed, _years, format_money, progress_bar

COLUMNS = [
    ("year", "year"),
    ("claims_incurred_mean", "incurred"),
    ("paid_at_settlement_mean", "paid at settl."),
    ("unpaid_true_mean", "unpaid"),
    ("unpaid_paid_cl_mean", "unpaid (CL)"),
    ("clawback_true_mean", "clawback true"),
    ("clawback_paid_mean", "on paid"),
    ("clawback_paid_cl_mean", "on paid+CL"),
    ("clawback_error_paid_mean", "error paid"),
    ("clawback_error_paid_cl_mean", "error paid+CL"),
    ("lowest_balance_q05", "lowest q5"),
    ("p_negative", "P(negative)"),
]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cashflow",
        help="intra-year cash flows of a fund and the year-end settlement on incurred claims",
    )
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument(
        "--fund",
        default=None,
        help="the fund whose account to follow (default: the first fund run under a contract)",
    )
    p.add_argument("--paths", type=_paths, default=100, help="Monte Carlo paths (default 100)")
    p.add_argument("--seed", type=_seed, default=20190101, help="random seed (default 20190101)")
    p.add_argument("--years", type=_years, default=None, help="policy years (default: the horizon)")
    p.add_argument(
        "--config",
        metavar="TOML",
        default=None,
        help="cash-flow settings (lags, seasonality, financing dates); a [cashflow] table or top-level keys",
    )
    p.add_argument(
        "--out", metavar="DIR", help="write tables, fan chart, report section and manifest here"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def default_fund(scenario) -> str:
    """The first fund run by an insurer under a contract, else the first fund."""
    for name, fund in scenario.funds.items():
        if fund.contract.kind.value != "none":
            return name
    return next(iter(scenario.funds))


def format_summary(summary: pd.DataFrame) -> str:
    cols = [c for c, _ in COLUMNS if c in summary.columns]
    table = summary[cols].copy()
    for c in cols:
        if c == "year":
            continue
        if c == "p_negative":
            table[c] = table[c].map(lambda v: f"{100 * v:.1f}%")
        else:
            table[c] = table[c].map(format_money)
    table.columns = [dict(COLUMNS)[c] for c in cols]
    return table.to_string(index=False)


def run(args: argparse.Namespace) -> int:
    from ..cashflow.config import load_cashflow_config
    from ..cashflow.output import save_cashflow
    from ..cashflow.simulate import run_cashflow

    if args.out:
        check_output_dir(args.out, "--out")  # before the paths, not after
    scenario = load_scenario(args.scenario)
    config = (
        load_cashflow_config(args.config) if args.config else getattr(scenario, "cashflow", None)
    )
    fund = args.fund or default_fund(scenario)
    t0 = time.perf_counter()
    with progress_bar(args, args.paths) as bar:
        result = run_cashflow(
            scenario,
            fund,
            paths=args.paths,
            seed=args.seed,
            years=args.years,
            config=config,
            progress=bar,
        )
    elapsed = time.perf_counter() - t0
    if args.out:
        save_cashflow(
            result,
            args.out,
            scenario_file=display_path(args.scenario),
            command=command_line(),
        )
    print(
        f"# {fund} account: settlement at the end of month {result.config.settlement_month} of the next year"
    )
    print(format_summary(result.summary()))
    print(
        f"# {args.paths} paths, seed {args.seed}, {elapsed:.1f} s"
        + (f"; written to {args.out}" if args.out else "")
    )
    return 0
