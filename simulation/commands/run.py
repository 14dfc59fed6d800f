"""``fundsim run SCENARIO --paths K --seed S --years H --out DIR``: simulate and write the results."""

from __future__ import annotations

import argparse
import sys
import time

from ..engine.result import save_result
from ..engine.run import run as run_engine
from ..outputs import check_output_dir, command_line, display_path
from ..scenario import load_scenario
from ._common import (
    add_engine_args,
    check_finite,
    engine_runner,
    print_summary,
    progress_bar,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="simulate a scenario and write summary, paths and manifest")
    p.add_argument("scenario", metavar="SCENARIO")
    add_engine_args(p)
    p.add_argument(
        "--out", metavar="DIR", help="write summary.json/.csv, paths.parquet, manifest.json here"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.out:
        check_output_dir(args.out, "--out")  # before the paths, not after
    scenario = load_scenario(args.scenario)
    t0 = time.perf_counter()
    with engine_runner(args) as runner, progress_bar(args, args.paths) as bar:
        result = run_engine(
            scenario,
            paths=args.paths,
            seed=args.seed,
            years=args.years,
            runner=runner,
            progress=bar,
        )
    elapsed = time.perf_counter() - t0
    check_finite(result.summary(), args.scenario)
    if args.out:
        save_result(
            result,
            args.out,
            scenario_file=display_path(args.scenario),
            command=command_line(),
        )
    print_summary(result.summary(), file=sys.stdout)
    print(
        f"# {args.paths} paths, seed {args.seed}, {elapsed:.1f} s"
        + (f"; written to {args.out}" if args.out else "")
    )
    return 0
