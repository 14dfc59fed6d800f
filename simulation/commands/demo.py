"""``fundsim demo``: the README's first command (runs the default scenario)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..scenario import load_scenario

DEFAULT_SCENARIO = Path("scenarios/henan_supplementary_2019.toml")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the default scenario and write a report")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    s = load_scenario(DEFAULT_SCENARIO)
    print(f"{s.title}: {len(s.population.cells)} cells, layers {', '.join(s.cascade)}")
    return 0
