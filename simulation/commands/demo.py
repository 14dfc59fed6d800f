"""``fundsim demo``: the README's first command (``make demo``).

Runs the Henan 2019 scenario with two variants on common random numbers (medical costs +8% a
year; supplementary ratios +10 points from 2020) and writes a report under ``reports/demo/``, in
about a minute: the path count is small (--paths defaults to 16 here), which is enough for the
means of a 5-million-person roster (their standard errors are in the report) but makes the fan
charts coarse. Use ``fundsim report`` with more paths for a real analysis.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from ..errors import FundsimError
from ._common import print_summary
from .report import ReportRequest, add_report_args, run_request

SCENARIOS = Path("scenarios")
DEFAULT_SCENARIO = SCENARIOS / "henan_supplementary_2019.toml"
VARIANTS = (
    SCENARIOS / "henan_variant_cost_growth.toml",
    SCENARIOS / "henan_variant_higher_ratio.toml",
)
DEMO_PATHS = 16
"""One block of paths: about 10 seconds per scenario for the Henan roster over 3 years (one core)."""
DEMO_OUT = "reports/demo"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run the Henan scenario with two variants and write a report under reports/",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    add_report_args(
        p,
        out_default=DEMO_OUT,
        scenario_default=str(DEFAULT_SCENARIO),
        variants_default=[str(v) for v in VARIANTS],
        paths_default=DEMO_PATHS,
    )
    p.set_defaults(func=run, paths=DEMO_PATHS)  # the demo's own default, not --paths' 1000


def run(args: argparse.Namespace) -> int:
    for path in (args.scenario, *args.variants):
        if not Path(path).is_file():
            raise FundsimError(
                f"{path}: file not found (run `fundsim demo` from the fundsim folder)"
            )
    req = ReportRequest(
        scenario=args.scenario,
        variants=tuple(args.variants),
        paths=args.paths,
        seed=args.seed,
        years=args.years,
        out=args.out,
        lang=args.lang,
        exact=not args.no_exact,
        quiet=args.quiet,
    )
    if not args.quiet:
        print(
            f"fundsim demo: {Path(req.scenario).name} and {len(req.variants)} variants, "
            f"{req.paths} paths each, seed {req.seed} (about a minute)"
        )
    t0 = time.perf_counter()
    code = run_request(req, args, args.log)
    if code == 0 and not args.quiet:
        summary = pd.read_csv(Path(req.out) / "summary.csv")
        print(f"\nBase scenario, mean of {req.paths} paths (yuan; standard errors in the report):")
        print_summary(summary)
        print(
            f"done in {time.perf_counter() - t0:.0f} s; open {Path(req.out) / 'index.html'} in a browser"
        )
    return code
