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
from ..report.compare import paired_difference
from ..scenario import validate_raw
from ..scenario.load import resolve_raw
from ._common import add_engine_args, print_summary, uses_dask
from ._tables import add_out_arg, check_out, write_table
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
    add_out_arg(p, "sweep")
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
    check_out(args)
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
    diffs = differences(results, labels, values, args.param, args.fund)
    if args.out:
        write_table(args.out, "sweep", table.merge(diffs, on=[args.param, "fund", "year"]))
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
        print(f"\n# difference to {labels[0]} on the same paths, ± its standard error")
        print(format_differences(diffs, args.param).to_string(index=False))
    return 0


DIFF_MEASURES = (("claims", "money"), ("insurer_result", "money"), ("p_deficit", "prob"))
"""The measures whose difference to the first value ``sweep`` prints (money in yuan)."""


def differences(
    results: dict[str, Any], labels: list[str], values: list[Any], param: str, fund: str | None
) -> pd.DataFrame:
    """Per value, fund and year: each :data:`DIFF_MEASURES` difference to the first value and its
    standard error path by path (the values run on common random numbers)."""
    first = results[labels[0]]
    rows = []
    for label, value in zip(labels, values, strict=True):
        r = results[label]
        for f, name in enumerate(r.plan.funds):
            if (fund is not None and name != fund) or name not in first.plan.funds:
                continue
            f0 = first.plan.funds.index(name)
            for y, year in enumerate(r.years):
                row: dict[str, Any] = {param: value, "fund": name, "year": year}
                for m, _kind in DIFF_MEASURES:
                    if m == "p_deficit":
                        a = (first.money["surplus"][:, y, f0] < 0).astype(float)
                        b = (r.money["surplus"][:, y, f] < 0).astype(float)
                    else:
                        a, b = first.money[m][:, y, f0], r.money[m][:, y, f]
                    d = paired_difference(a, b)
                    row[f"{m}_diff"] = d["difference"]
                    row[f"{m}_diff_se"] = d["difference_se"]
                rows.append(row)
    return pd.DataFrame(rows)


def format_differences(diffs: pd.DataFrame, param: str) -> pd.DataFrame:
    """The differences as text: money ``+1,234 ± 56``, probabilities in percentage points."""
    out = diffs[[param, "fund", "year"]].copy()
    for m, kind in DIFF_MEASURES:
        d, se = diffs[f"{m}_diff"], diffs[f"{m}_diff_se"]
        if kind == "prob":
            out[f"{m} (pp)"] = [
                f"{100 * a:+.2f} ± {100 * b:.2f}" for a, b in zip(d, se, strict=True)
            ]
        else:
            out[m] = [f"{a:+,.0f} ± {b:,.0f}" for a, b in zip(d, se, strict=True)]
    return out
