"""``fundsim claim``: what each layer pays for one person's admissions in a year (stub)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("claim", help="what each layer pays for one person's admissions")
    p.set_defaults(func=lambda args: 0)
