"""``fundsim fit CLAIMS.csv --exposure EXPOSURE.csv --out fragment.toml``: fit illness-cost models.

Reads and validates the claims and exposure tables (:mod:`simulation.claims_data`), fits frequency
and severity (:mod:`simulation.fit`), writes the scenario fragment and the optional plots atomically
and together (each to a temporary file in its folder, all renamed once all were written; every
output is checked before fitting, and missing folders are created like ``run``'s) and prints a goodness-of-fit table.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import FundsimError
from ..outputs import write_atomic
from ._files import check_new_files, files_together


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit",
        help="fit claim frequency and severity to a claims table; write a scenario fragment",
        description="Fit claim frequency (Poisson / negative binomial by category and age band) and "
        "severity (lognormal or gamma body with a generalized Pareto tail, by hospital level) to a "
        "claims table, and write the fitted parameters as a TOML scenario fragment that a scenario "
        "can 'extends'.",
    )
    p.add_argument("claims", metavar="CLAIMS.csv", help="claims table (one row per claim)")
    p.add_argument(
        "--exposure",
        required=True,
        metavar="EXPOSURE.csv",
        help="person-years by category, age band and year",
    )
    p.add_argument(
        "--out", required=True, metavar="FRAGMENT.toml", help="where to write the scenario fragment"
    )
    p.add_argument(
        "--qq-plot", metavar="QQ.png", help="also write a QQ plot of the severity fits (PNG)"
    )
    p.add_argument("--me-plot", metavar="ME.png", help="also write the mean-excess plots (PNG)")
    p.add_argument(
        "--scenario",
        metavar="SCENARIO.toml",
        help="check the categories against this scenario's [categories]",
    )
    p.add_argument(
        "--base-year",
        type=int,
        help="year the fitted rates and costs refer to (default: first year)",
    )
    p.add_argument(
        "--severity-trend",
        type=float,
        help="yearly cost growth used to deflate costs (default: estimated from the data)",
    )
    p.add_argument(
        "--tail",
        choices=("auto", "always", "never"),
        default="auto",
        help="generalized Pareto tail: kept when AIC prefers it (auto, default), always or never",
    )
    p.add_argument(
        "--tail-quantile", type=float, help="fix the tail threshold at this quantile (e.g. 0.95)"
    )
    p.add_argument(
        "--strict", action="store_true", help="refuse duplicate claim rows (default: a warning)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import fit as fitting
    from ..claims_data import read_claims, read_exposure

    if args.tail_quantile is not None and not 0.5 < args.tail_quantile < 1.0:
        raise FundsimError(
            f"--tail-quantile must be between 0.5 and 1, found {args.tail_quantile:g}"
        )
    outputs = {"--out": args.out, "--qq-plot": args.qq_plot, "--me-plot": args.me_plot}
    check_new_files(outputs)  # before fitting; missing folders are created when writing
    categories = None
    if args.scenario:
        from ..scenario import load_scenario

        categories = list(load_scenario(args.scenario).categories)
    claims = read_claims(args.claims, categories, strict=args.strict)
    if claims.attrs.get("duplicate_rows"):
        print(
            f"fundsim: warning: {args.claims}: {claims.attrs['duplicate_rows']} duplicate row(s), "
            "identical to an earlier one in every column (kept; --strict refuses them)",
            file=sys.stderr,
        )
    exposure = read_exposure(args.exposure, categories)
    result = fitting.fit_claims(
        claims,
        exposure,
        base_year=args.base_year,
        severity_trend=args.severity_trend,
        tail=args.tail,
        tail_quantile=args.tail_quantile,
    )
    with files_together(outputs):  # the fragment and the plots appear together, or none does
        write_atomic(args.out, fitting.to_fragment(result, parameter_uncertainty=True))
        if args.qq_plot:
            fitting.plot_qq(result, args.qq_plot)
        if args.me_plot:
            fitting.plot_mean_excess(result, args.me_plot)
    print(fitting.format_report(result))
    print(
        f"# wrote {args.out}"
        + (f", {args.qq_plot}" if args.qq_plot else "")
        + (f", {args.me_plot}" if args.me_plot else "")
    )
    return 0
