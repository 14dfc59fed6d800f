"""``fundsim validate SCENARIO...``: check scenario files and print the resolved scenario."""

from __future__ import annotations

import argparse
import json

from ..scenario import load_scenario


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check scenario files and print the resolved scenario")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario TOML files")
    p.add_argument("--year", type=int, help="resolve dated values for this year")
    p.add_argument("--quiet", action="store_true", help="only check; print nothing on success")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for path in args.scenarios:
        scenario = load_scenario(path)
        if not args.quiet:
            print(f"# {path}: valid")
            print(json.dumps(scenario.model_dump(mode="json", by_alias=True), indent=2, ensure_ascii=False))
    return 0
