"""The ``fundsim`` command: a thin layer over the public API.

Every subcommand lives in :mod:`simulation.commands` as a module with ``add_parser(subparsers)``
(which registers the subcommand and sets ``func``). A :class:`~simulation.errors.FundsimError` is
printed as one line on stderr with exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import __version__
from .errors import FundsimError

COMMANDS = (
    "validate",
    "claim",
    "run",
    "demo",
    "fit",
    "price",
    "cashflow",
    "synth_claims",
    "sweep",
    "report",
    "compare",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fundsim",
        description="Simulate and forecast serious illness insurance funds.",
    )
    parser.add_argument("--version", action="version", version=f"fundsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f".commands.{name}", __package__)
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except FundsimError as e:
        print(f"fundsim: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fundsim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
