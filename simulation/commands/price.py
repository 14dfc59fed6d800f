"""``fundsim price SCENARIO --fund NAME --target ...``: what an insurer should bid for a fund.

Runs the engine for the contract term (or ``--years``), solves for the financing per head (or, with
``--solve``, the ratio add-on or scale, the threshold, or the cost-plus management rate) that meets
the target, and prints the solution with its Monte Carlo standard error, the expected cost per
head and the gap (what the profit cap costs), the insurer's result distribution at the solution,
and optionally several bids side by side (``--bids``) and the exact method's one-year answer
(``--exact``). ``--json`` prints the same as one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, TextIO

import pandas as pd

from .. import pricing
from ..errors import FundsimError
from ..scenario import load_scenario
from ..scenario.schema import ContractKind, Scenario
from ._common import add_engine_args, engine_runner
from ._tables import add_out_arg, check_out, flat_rows, write_table
from .run import add_method_arg

SOLVES = ("financing", "ratio-addon", "ratio-scale", "threshold", "management-rate")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "price",
        help="tender pricing: break-even / target financing per head, risk measures, bids",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--fund", help="the fund to price (default: the only fund run by an insurer)")
    p.add_argument(
        "--target",
        default="break-even",
        help="break-even, margin:M (expected net result M x premium) or loss-prob:A "
        "(P(loss) <= A) over the term (default break-even)",
    )
    p.add_argument(
        "--solve",
        choices=SOLVES,
        default=None,
        help="what to solve for (default: financing; management-rate for a cost-plus contract)",
    )
    p.add_argument("--bids", help="comma-separated financings per head to compare, e.g. 60,70,80")
    p.add_argument(
        "--financing",
        type=float,
        default=None,
        help="financing per head for benefit solves (default: the scenario's own premium)",
    )
    p.add_argument(
        "--layer", help="the layer whose ratios or threshold change (default: the fund's)"
    )
    p.add_argument(
        "--basis",
        choices=[b.value for b in pricing.FinancingBasis],
        default="scale",
        help="how one bid maps to tiered, dated financing (default scale)",
    )
    p.add_argument("--tier", help="the tier priced with --basis tier")
    p.add_argument(
        "--levels", default="0.95,0.99,0.995", help="VaR/TVaR levels (default 0.95,0.99,0.995)"
    )
    p.add_argument(
        "--precision",
        type=float,
        default=None,
        help="95%% half-width for the paths-needed figure, in the solved quantity's unit "
        "(default 0.1 yuan per head for financing)",
    )
    p.add_argument(
        "--exact", action="store_true", help="also price the first year by the exact method"
    )
    p.add_argument("--json", action="store_true", help="print JSON on stdout instead of tables")
    add_out_arg(p, "price")
    add_engine_args(p)
    add_method_arg(p)
    p.set_defaults(func=run)


def _floats(text: str, what: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise FundsimError(f"{what}: expected comma-separated numbers, found {text!r}") from None


def _default_fund(scenario: Scenario) -> str:
    insured = [
        n
        for n, f in scenario.funds.items()
        if ContractKind(f.contract.kind) is not ContractKind.NONE
    ]
    if len(insured) == 1:
        return insured[0]
    raise FundsimError(
        "choose the fund to price with --fund; funds run by an insurer: "
        + (", ".join(insured) if insured else "none")
    )


def _clean(obj: Any) -> Any:
    """JSON-ready: NaN and infinities as null, numpy scalars as Python numbers."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, str):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    fund = args.fund or _default_fund(scenario)
    if fund not in scenario.funds:
        raise FundsimError(
            f"fund {fund!r} is not in the scenario; funds: {', '.join(scenario.funds)}"
        )
    contract = scenario.funds[fund].contract
    check_out(args)
    target = pricing.Target.parse(args.target)
    levels = _floats(args.levels, "--levels")
    solve = args.solve or (
        "management-rate" if ContractKind(contract.kind) is ContractKind.COST_PLUS else "financing"
    )
    years = args.years if args.years is not None else contract.term_years
    basis = pricing.FinancingBasis(args.basis)
    common = dict(basis=basis, tier=args.tier)
    doc: dict[str, Any] = {
        "scenario": args.scenario,
        "fund": fund,
        "target": str(target),
        "solve": solve,
        "paths": args.paths,
        "seed": args.seed,
        "years": years,
        "method": args.method,
    }
    if args.method != "full" and solve not in ("financing", "management-rate"):
        raise FundsimError(
            f"--method {args.method}: --solve {solve} reruns the engine on changed rules; use "
            "--method full for it (the fast method prices --solve financing and management-rate)"
        )
    with engine_runner(args) as runner:
        sample = pricing.simulate_claims(
            scenario,
            fund,
            paths=args.paths,
            seed=args.seed,
            years=years,
            runner=runner,
            method=args.method,
            **common,
        )
        if solve == "financing":
            solution = pricing.solve_financing(sample, target, levels=levels)
        elif solve == "management-rate":
            solution = pricing.cost_plus_management_rate(
                sample, target, financing=args.financing, levels=levels
            )
        else:
            fn = {
                "ratio-addon": pricing.max_ratio_addon,
                "ratio-scale": pricing.max_ratio_scale,
                "threshold": pricing.min_threshold,
            }[solve]
            solution = fn(
                scenario,
                fund,
                target,
                financing=args.financing,
                layer=args.layer,
                paths=args.paths,
                seed=args.seed,
                years=years,
                runner=runner,
                levels=levels,
                **common,
            )
    doc["solution"] = solution.to_dict()
    if args.precision is not None:
        doc["solution"]["precision"] = args.precision
        doc["solution"]["paths_needed"] = solution.paths_needed(args.precision)
    comparison = None
    if args.bids:
        comparison = pricing.compare_bids(sample, _floats(args.bids, "--bids"), levels=levels)
        doc["bids"] = comparison.to_dict()
    exact = None
    if args.exact:
        exact = pricing.exact_price(scenario, fund, target, **common)
        mc_one_year = pricing.solve_financing(sample.first_years(1), target, levels=levels)
        doc["exact"] = {"exact": exact.to_dict(), "monte_carlo_first_year": mc_one_year.to_dict()}
    if args.out:
        write_table(args.out, "price", flat_rows(_clean(doc)), _clean(doc))
    if args.json:
        json.dump(_clean(doc), sys.stdout, indent=1, ensure_ascii=False, allow_nan=False)
        print()
        return 0
    print_solution(solution, doc, file=sys.stdout)
    if comparison is not None:
        print("\n# bids compared on the same paths (over the term)")
        print_bids(comparison, file=sys.stdout)
    if exact is not None:
        mc = doc["exact"]["monte_carlo_first_year"]
        print(f"\n# first year ({sample.years[0]}) by the exact method and by Monte Carlo")
        print(f"exact:       {exact.value:,.4f}")
        print(f"Monte Carlo: {mc['value']:,.4f} ± {mc['se']:,.4f} (se)")
        print(
            f"difference:  {mc['value'] - exact.value:+,.4f} ({(mc['value'] - exact.value) / mc['se']:+.2f} se)"
            if mc["se"]
            else f"difference:  {mc['value'] - exact.value:+,.4f}"
        )
    return 0


def _money(x: float | None) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:,.2f}"


def print_solution(
    solution: pricing.Solution, doc: dict[str, Any], file: TextIO = sys.stdout
) -> None:
    d = doc["solution"]
    print(
        f"# fund {solution.fund}, target {solution.target}, {solution.paths} paths, seed {solution.seed}, "
        f"{doc['years']} year(s)",
        file=file,
    )
    lines = [
        (f"{solution.quantity.replace('_', ' ')}", f"{solution.value:,.4f} {solution.unit}"),
        ("standard error (MC)", f"{solution.se:,.4f}"),
        ("95% interval", f"{d['ci95_low']:,.4f} to {d['ci95_high']:,.4f}"),
    ]
    if solution.se_batch is not None:
        lines.append(("batch-means standard error", f"{solution.se_batch:,.4f}"))
    needed = d["paths_needed"]
    lines.append((f"paths for ±{d['precision']:g} (95%)", "-" if needed is None else f"{needed:,}"))
    lines.append(("scenario's own value", f"{solution.reference:,.4f}"))
    if solution.expected_claims_per_head is not None:
        lines.append(("expected claims per head", _money(solution.expected_claims_per_head)))
        lines.append(
            ("expected claims + operating cost per head", _money(solution.expected_cost_per_head))
        )
    if solution.quantity == "financing_per_head" and solution.gap is not None:
        lines.append(("gap: solution - cost per head", _money(solution.gap)))
    lines.append((f"achieved ({solution.target.kind.value})", f"{solution.achieved:,.6g}"))
    if solution.bound:
        lines.append(
            ("note", f"the target holds up to the {solution.bound} end of the allowed range")
        )
    for n in solution.notes:
        lines.append(("note", n))
    width = max(len(k) for k, _ in lines)
    for k, v in lines:
        print(f"{k:<{width}}  {v}", file=file)
    print("\n# the insurer's net result at the solution (yuan; VaR/TVaR as losses)", file=file)
    print(_distribution_table(solution.distribution.to_frame()).to_string(index=False), file=file)


DIST_COLUMNS = [
    ("period", "period"),
    ("financing_per_head", "financing"),
    ("premium", "premium"),
    ("claims_mean", "claims"),
    ("operating_cost_mean", "op. cost"),
    ("clawback_mean", "clawback"),
    ("result_mean", "E[result]"),
    ("result_se", "± se"),
    ("margin", "margin"),
    ("p_loss", "P(loss)"),
]


def _distribution_table(df: pd.DataFrame) -> pd.DataFrame:
    cols = [(c, label) for c, label in DIST_COLUMNS if c in df.columns]
    cols += [(c, c.replace("_", " ")) for c in df.columns if c.startswith(("var_", "tvar_"))]
    out = pd.DataFrame()
    for c, label in cols:
        v = df[c]
        if c == "period":
            out[label] = v.astype(str)
        elif c in ("margin", "p_loss"):
            out[label] = v.map(lambda x: f"{100 * x:.2f}%")
        elif c == "financing_per_head":
            out[label] = v.map(lambda x: f"{x:,.2f}")
        else:
            out[label] = v.map(lambda x: f"{x:,.0f}")
    return out


def print_bids(comparison: pricing.BidComparison, file: TextIO = sys.stdout) -> None:
    print(
        f"expected claims + operating cost per head: {comparison.expected_cost_per_head:,.2f}",
        file=file,
    )
    print(_distribution_table(comparison.to_frame()).to_string(index=False), file=file)
