"""The ``fundsim`` command: a thin layer over the public API.

Every subcommand lives in :mod:`simulation.commands` as a module with ``add_parser(subparsers)``
(which registers the subcommand and sets ``func``). A :class:`~simulation.errors.FundsimError` is
printed as one line on stderr with exit code 2, never a traceback; so is an :class:`OSError` (a
file that cannot be read or written: ``fundsim: error: FILE: REASON``) and a usage error (an
unknown option, ``--paths 0``). SIGINT and SIGTERM end a command with ``fundsim: interrupted``
and exit code 130 or 143 (:mod:`simulation.interrupts`), no traceback, no temporary output left.
Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from ._version import __version__
from .errors import FundsimError
from .interrupts import deferred, handle_signals
from .interrupts import exit_code as interrupt_exit_code

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
    "explore",
    "history",
    "calibrate",
    "backtest",
)


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (the subcommands' parsers are of the same
    class): ``fundsim run: error: argument --paths: expected at least 1, found 0; see 'fundsim run
    --help'``, exit code 2."""

    def error(self, message: str) -> NoReturn:
        message = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'\n")


def os_error_message(e: OSError) -> str:
    """An :class:`OSError` on one line: ``FILE: REASON`` (``FILE -> OTHER: REASON`` for a rename)."""
    reason = e.strerror or str(e) or type(e).__name__
    if e.filename is not None:
        names = os.fsdecode(e.filename)
        if e.filename2 is not None:
            names += f" -> {os.fsdecode(e.filename2)}"
        text = f"{names}: {reason}"
    else:
        text = reason
    return " ".join(text.split())


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
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
    """The ``fundsim`` command: returns its exit code. Called without ``argv`` (the process's
    own command line: the installed script, ``python -m simulation``), the signal handlers stay
    installed to the process's exit; called with ``argv`` (tests, a notebook), the caller's
    handlers are restored."""
    try:
        # from the first line: building the parser imports every command
        with handle_signals(restore=argv is not None):
            with deferred():  # a signal while C extensions import is raised after, not inside
                parser = build_parser()
            args = parser.parse_args(argv)
            if not getattr(args, "func", None):
                parser.print_help()
                return 2
            return int(args.func(args) or 0)
    except FundsimError as e:
        print(f"fundsim: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (``fundsim validate X | head``): a quiet end
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:
        print(f"fundsim: error: {os_error_message(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:  # SIGINT or SIGTERM (interrupts.Interrupted): 130 or 143
        print("fundsim: interrupted", file=sys.stderr)
        return interrupt_exit_code(e)


if __name__ == "__main__":
    sys.exit(main())
