"""``fundsim run SCENARIO --paths K --seed S --years H --out DIR``: simulate and write the results."""

from __future__ import annotations

import argparse
import sys
import time

from ..engine.result import save_result
from ..engine.run import METHODS
from ..engine.run import run as run_engine
from ..outputs import check_output_dir, command_line, display_path
from ..scenario import load_scenario
from ._common import add_engine_args, check_finite, engine_runner, print_summary, progress_bar
from .history import add_ledger_args, record_run, run_ledger_path


def add_method_arg(p: argparse.ArgumentParser) -> None:
    """``--method full|fast`` (see :func:`simulation.engine.run.run`)."""
    p.add_argument(
        "--method",
        choices=METHODS,
        default="full",
        help="full: the admission-level engine (default, the reference); fast: the exact "
        "conditional law given the systematic factors (seconds at province scale; refuses "
        "outside its validity)",
    )


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="simulate a scenario and write summary, paths and manifest")
    p.add_argument("scenario", metavar="SCENARIO")
    add_engine_args(p)
    add_method_arg(p)
    p.add_argument(
        "--out", metavar="DIR", help="write summary.json/.csv, paths.parquet, manifest.json here"
    )
    add_ledger_args(p, report=False)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.out:
        check_output_dir(args.out, "--out")  # before the paths, not after
    ledger = run_ledger_path(args)  # before the paths too
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
            method=args.method,
        )
    elapsed = time.perf_counter() - t0
    check_finite(result.summary(), args.scenario)
    if args.out:
        save_result(
            result,
            args.out,
            scenario_file=display_path(args.scenario),
            command=command_line(),
            method=args.method,
        )
    fid = record_run(args, ledger, result)
    print_summary(result.summary(), file=sys.stdout)
    print(
        f"# {args.paths} paths, seed {args.seed}, method {args.method}, {elapsed:.1f} s"
        + (f"; written to {args.out}" if args.out else "")
        + (f"; forecast #{fid} recorded in {ledger}" if fid is not None else "")
    )
    return 0
