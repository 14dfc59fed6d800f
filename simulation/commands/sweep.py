"""``fundsim sweep SCENARIO --param PATH --values V1,V2,...``: one parameter over a grid of values."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

import pandas as pd

from ..engine.sweep import set_path, sweep
from ..errors import FundsimError
from ..scenario import validate_raw
from ..scenario.load import resolve_raw
from ._common import add_engine_args, print_summary, uses_dask

MEASURES = [
    "claims_mean",
    "claims_se",
    "p_deficit",
    "insurer_result_mean",
    "p_insurer_loss",
    "clawback_mean",
]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="run a scenario over a grid of values of one parameter (common random numbers)",
    )
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument(
        "--param", required=True, help="key path, e.g. layers.supplementary.bands[0].ratio"
    )
    p.add_argument("--values", required=True, help="comma-separated values, e.g. 0.5,0.6,0.7")
    p.add_argument("--fund", default=None, help="fund to tabulate (default: every fund)")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    add_engine_args(p)
    p.set_defaults(func=run)


def _value(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def run(args: argparse.Namespace) -> int:
    raw, _ = resolve_raw(args.scenario)
    values = [_value(v.strip()) for v in args.values.split(",") if v.strip()]
    if not values:
        raise FundsimError("--values needs at least one value")
    scenarios = {
        f"{args.param}={v:g}" if isinstance(v, float) else f"{args.param}={v}": validate_raw(
            set_path(raw, args.param, v), f"{args.scenario} with {args.param}={v}"
        )
        for v in values
    }
    with contextlib.ExitStack() as stack:
        client = None
        if uses_dask(args):
            from ..engine.distributed import dask_runner

            runner = stack.enter_context(
                dask_runner(workers=args.workers, scheduler=args.scheduler)
            )
            client = runner.client
        results = sweep(
            scenarios,
            paths=args.paths,
            seed=args.seed,
            years=args.years,
            client=client,
            threads=args.threads,
        )
    frames = []
    for (label, result), value in zip(results.items(), values, strict=True):
        s = result.summary()
        if args.fund is not None:
            if args.fund not in result.plan.funds:
                raise FundsimError(
                    f"fund {args.fund!r} is not in the scenario; funds: {', '.join(result.plan.funds)}"
                )
            s = s[s["fund"] == args.fund]
        s.insert(0, args.param, value)
        frames.append(s)
        del label
    table = pd.concat(frames, ignore_index=True)
    if args.json:
        print(
            json.dumps(table[[args.param, "fund", "year", *MEASURES]].to_dict("records"), indent=1)
        )
    else:
        print(f"# {args.param} over {len(values)} values, {args.paths} paths, seed {args.seed}")
        print_summary(table, file=sys.stdout, extra=[args.param])
    return 0
