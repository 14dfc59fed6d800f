"""``fundsim compare BASE VARIANT [VARIANT ...]``: the comparison table alone.

Runs the base and each variant with the same seed and paths (common random numbers) and prints,
per variant, fund and measure, the base and variant means, the difference with its standard error
computed path by path, the relative change, and the standard error two independent runs would have
had. By default over the whole horizon; ``--by-year`` adds each policy year. Money in yuan.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import TextIO

import pandas as pd

from ..engine.run import run as run_engine
from ..errors import FundsimError
from ..report.compare import COMPARE_MEASURES, compare_all, unique_names
from ..scenario import load_scenario
from ._common import add_engine_args, engine_runner, progress_bar
from ._tables import add_out_arg, check_out, write_table
from .run import add_method_arg

PROBABILITIES = ("p_deficit", "catastrophic_share")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="compare variants with a base scenario on common random numbers",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    p.add_argument("base", metavar="BASE", help="the base scenario file")
    p.add_argument("variants", metavar="VARIANT", nargs="+", help="variant scenario files")
    add_engine_args(p)
    add_method_arg(p)
    p.add_argument("--by-year", action="store_true", help="also show each policy year")
    p.add_argument(
        "--measures",
        default=",".join(COMPARE_MEASURES),
        help=f"comma-separated measures (default {','.join(COMPARE_MEASURES)})",
    )
    p.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="output format"
    )
    add_out_arg(p, "compare")
    p.set_defaults(func=run)


def _money(v: float) -> str:
    return "—" if not math.isfinite(v) else f"{v:,.0f}"


def _pct(v: float, d: int = 2) -> str:
    return "—" if not math.isfinite(v) else f"{100 * v:.{d}f}%"


def format_comparison(table: pd.DataFrame) -> pd.DataFrame:
    """The comparison in readable text: money in yuan, probabilities in %."""
    rows = []
    for r in table.itertuples():
        f = _pct if r.measure in PROBABILITIES else _money
        rows.append(
            {
                "variant": r.variant,
                "fund": r.fund,
                "measure": r.measure,
                "period": r.period,
                "base": f(r.base_mean),
                "variant mean": f(r.variant_mean),
                "difference": f(r.difference),
                "± se": f(r.difference_se),
                "change": "—"
                if not math.isfinite(r.relative_change)
                else f"{100 * r.relative_change:+.2f}%",
                "se if independent": f(r.independent_se),
            }
        )
    return pd.DataFrame(rows)


def print_comparison(table: pd.DataFrame, fmt: str = "table", file: TextIO | None = None) -> None:
    file = file or sys.stdout
    if fmt == "csv":
        table.to_csv(file, index=False)
    elif fmt == "json":
        print(table.to_json(orient="records", indent=1, force_ascii=False), file=file)
    else:
        print(format_comparison(table).to_string(index=False), file=file)


def run(args: argparse.Namespace) -> int:
    measures = tuple(m.strip() for m in args.measures.split(",") if m.strip())
    if not measures:
        raise FundsimError("--measures: expected at least one measure")
    base_s = load_scenario(args.base)
    variant_s = [load_scenario(v) for v in args.variants]
    check_out(args)
    results = []
    with (
        engine_runner(args) as runner,
        progress_bar(args, args.paths * (1 + len(variant_s))) as bar,
    ):
        for s in [base_s, *variant_s]:
            results.append(
                run_engine(
                    s,
                    paths=args.paths,
                    seed=args.seed,
                    years=args.years,
                    runner=runner,
                    progress=bar,
                    method=args.method,
                )
            )
    base = results[0]
    table = compare_all(
        base, results[1:], unique_names([s.name for s in variant_s]), measures, by_year=args.by_year
    )
    if args.out:
        write_table(args.out, "compare", table)
    print_comparison(table, args.format)
    if args.format == "table":
        print(
            f"# {args.paths} paths, seed {args.seed}, common random numbers: "
            "difference ± its standard error path by path; money in yuan"
        )
    return 0
