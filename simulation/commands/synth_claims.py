"""``fundsim synth-claims SCENARIO --years N --seed S --out claims.csv``: a synthetic claims table.

Draws claims (pseudonymous identifiers only) and, with ``--exposure-out``, the matching exposure
table from a scenario (:func:`simulation.synth.synth_claims`), so that ``fundsim fit`` can be tried
end to end. Files are written atomically; missing folders
are created like ``run``'s.
"""

from __future__ import annotations

import argparse

from ..errors import FundsimError
from ..outputs import write_atomic
from ..scenario.schema import MAX_HORIZON
from ._common import _seed
from ._files import check_new_files, files_together


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "synth-claims",
        help="draw a synthetic claims table (and exposure table) from a scenario",
        description="Draw a synthetic claims table from a scenario's roster, frequency and severity "
        "models, for trying 'fundsim fit' end to end. Person identifiers are pseudonymous (P0000001).",
    )
    p.add_argument("scenario", metavar="SCENARIO", help="scenario TOML file")
    p.add_argument(
        "--years", type=int, default=1, help="policy years from the start year (default 1)"
    )
    p.add_argument("--seed", type=_seed, required=True, help="random seed")
    p.add_argument(
        "--out", required=True, metavar="CLAIMS.csv", help="where to write the claims table"
    )
    p.add_argument(
        "--exposure-out", metavar="EXPOSURE.csv", help="where to write the exposure table"
    )
    p.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="fraction of each population group to draw (default 1: the whole roster)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..scenario import load_scenario
    from ..synth import synth_claims

    if args.years < 1:
        raise FundsimError(f"--years must be at least 1, found {args.years}")
    if args.years > MAX_HORIZON:
        raise FundsimError(f"--years must be at most {MAX_HORIZON}, found {args.years}")
    if not 0 < args.scale <= 1:
        raise FundsimError(f"--scale must be in (0, 1], found {args.scale:g}")
    outputs = {"--out": args.out, "--exposure-out": args.exposure_out}
    check_new_files(outputs)  # before drawing; missing folders are created when writing
    scenario = load_scenario(args.scenario)
    tables = synth_claims(scenario, args.years, np.random.default_rng(args.seed), scale=args.scale)
    with files_together(outputs):  # both tables appear together, or neither does
        write_atomic(args.out, tables.claims.to_csv(index=False))
        if args.exposure_out:
            write_atomic(args.exposure_out, tables.exposure.to_csv(index=False))
    print(
        f"# {args.scenario}, seed {args.seed}, {args.years} year(s) from {scenario.start_year}"
        f"{f', scale {args.scale:g}' if args.scale != 1 else ''}: {len(tables.claims)} claims, "
        f"{tables.exposure['person_years'].sum():.0f} person-years"
    )
    print(f"# wrote {args.out}" + (f", {args.exposure_out}" if args.exposure_out else ""))
    return 0
