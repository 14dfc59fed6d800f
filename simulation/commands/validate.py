"""``fundsim validate SCENARIO... [--year Y]``: check scenario files and print the resolved scenario.

Each file is read, merged with the files it ``extends`` and validated (the rules of every
``[changes.YYYY]`` year too); the resolved scenario is printed as TOML (or JSON). With ``--year``
the changes up to that year are applied and every dated value is replaced by the value in force
that year. The first bad file stops the command with one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json

from ..scenario import dumps_toml, load_scenario, resolve_raw, scenario_for_year, scenario_table


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="check scenario files and print the resolved scenario",
        description=(
            "Check scenario files (extends, types, ranges, cross-references, yearly changes) "
            "and print each resolved scenario. Exit code 0 when all are valid, 2 at the first bad one."
        ),
    )
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario TOML files")
    p.add_argument(
        "--year",
        type=int,
        help="apply the changes up to this year and print dated values as in force that year",
    )
    p.add_argument("--format", choices=("toml", "json"), default="toml", help="output format")
    p.add_argument("--quiet", action="store_true", help="only check; print nothing on success")
    p.set_defaults(func=run)


def describe(path: str, year: int | None, fmt: str = "toml") -> str:
    """The text ``fundsim validate`` prints for one valid file (raises ScenarioError if not)."""
    scenario = load_scenario(path)
    _, files = resolve_raw(path)
    header = [f"{path}: valid"]
    if len(files) > 1:
        header.append("extends: " + " <- ".join(str(f) for f in files[:-1]))
    if year is not None:
        applied = sorted(int(y) for y in scenario.changes if int(y) <= year)
        pending = sorted(int(y) for y in scenario.changes if int(y) > year)
        header.append(
            f"rules in force in {year} (changes applied: {', '.join(map(str, applied)) or 'none'}"
            f"; changes after {year}: {', '.join(map(str, pending)) or 'none'}); "
            f"dated values as in {year}"
        )
        scenario = scenario_for_year(scenario, year)
    table = scenario_table(scenario, year)
    if fmt == "json":  # plain JSON, no comment lines
        return json.dumps(table, indent=2, ensure_ascii=False) + "\n"
    return "".join(f"# {line}\n" for line in header) + dumps_toml(table)


def run(args: argparse.Namespace) -> int:
    for path in args.scenarios:
        text = describe(path, args.year, args.format)
        if not args.quiet:
            print(text)
    return 0
