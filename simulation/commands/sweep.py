"""``fundsim sweep SCENARIO --param PATH --values V1,V2,...``: one parameter over a grid of values."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tomllib
from typing import Any

import pandas as pd

from ..engine.sweep import set_path, sweep
from ..errors import FundsimError
from ..scenario import validate_raw
from ..scenario.load import resolve_raw
from ._common import add_engine_args, print_summary, uses_dask
from .run import add_method_arg

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
    add_method_arg(p)
    p.set_defaults(func=run)


def _value(text: str) -> Any:
    """One ``--values`` item: a TOML value if it is one (``2`` an int, so strict whole-number
    fields such as ``contract.term_years`` accept it; ``0.5`` a float; ``true`` a boolean;
    ``"abc"`` a string), else a number (``.5``, ``5.``), else the text itself (``abc``)."""
    if "\n" not in text and "\r" not in text:
        with contextlib.suppress(tomllib.TOMLDecodeError):
            return tomllib.loads(f"v = {text}")["v"]
    try:
        return float(text)
    except ValueError:
        return text


def _same(a: Any, b: Any) -> bool:
    """Whether two parsed values are the same setting (``0.5`` and ``0.50``, ``2`` and ``2.0``,
    but not ``true`` and ``1``)."""
    return (isinstance(a, bool) is isinstance(b, bool)) and a == b


def parse_values(text: str) -> list[tuple[str, Any]]:
    """``--values``: the (text, value) pairs, refusing an empty list and repeated values."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise FundsimError(f"--values: expected at least one value, found {text!r}")
    pairs = [(t, _value(t)) for t in items]
    for i, (t, v) in enumerate(pairs):
        for t0, v0 in pairs[:i]:
            if t0 == t or _same(v0, v):
                again = f"{t0!r} and {t!r} are the same value" if t0 != t else f"{t!r} twice"
                raise FundsimError(f"--values: expected distinct values, found {again}")
    return pairs


def run(args: argparse.Namespace) -> int:
    raw, _ = resolve_raw(args.scenario)
    pairs = parse_values(args.values)
    values = [v for _, v in pairs]
    # labels by the text as given: distinct (the values are), and every digit kept
    labels = [f"{args.param}={t}" for t, _ in pairs]
    scenarios = {
        label: validate_raw(set_path(raw, args.param, v), f"{args.scenario} with {args.param}={t}")
        for label, (t, v) in zip(labels, pairs, strict=True)
    }
    if args.fund is not None:  # said before the runs, not after
        for scenario in scenarios.values():
            if args.fund not in scenario.funds:
                raise FundsimError(
                    f"--fund {args.fund!r} is not in the scenario; funds: "
                    f"{', '.join(scenario.funds)}"
                )
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
            method=args.method,
        )
    frames = []
    for label, value in zip(labels, values, strict=True):
        result = results[label]
        s = result.summary()
        if args.fund is not None:
            s = s[s["fund"] == args.fund]
        s.insert(0, args.param, value)
        frames.append(s)
    table = pd.concat(frames, ignore_index=True)
    if args.json:
        print(
            json.dumps(
                table[[args.param, "fund", "year", *MEASURES]].to_dict("records"),
                indent=1,
                default=str,  # a TOML date or time value
            )
        )
    else:
        print(f"# {args.param} over {len(values)} values, {args.paths} paths, seed {args.seed}")
        print_summary(table, file=sys.stdout, extra=[args.param])
    return 0
