"""``fundsim explore SCENARIO [--port P] [--host H] [--variant PATH]``: the scenario explorer.

A local web page (Panel) with the scenario's policy levers; every change shows the one-year
numbers per fund by the exact method against the base, and "save as variant" writes a file that
``extends`` the scenario (:mod:`simulation.explore`). It listens on 127.0.0.1 unless ``--host``
says otherwise (with a warning). Needs the ``explore`` extra (``pip install 'fundsim[explore]'``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import FundsimError
from ..outputs import check_output_file


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, found {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, found {port}")
    return port


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explore",
        help="interactive scenario explorer in the browser (levers, one-year exact numbers)",
    )
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--port", type=_port, default=None, help="port (default: a free one)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; any other prints a warning)",
    )
    p.add_argument(
        "--variant",
        default=None,
        help="file 'save as variant' writes (default: SCENARIO's folder, <stem>_explored.toml)",
    )
    p.add_argument("--show", action="store_true", help="open the page in a browser")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.variant is not None:
        check_output_file(args.variant, "--variant")
        if Path(args.variant).resolve() == Path(args.scenario).resolve():
            raise FundsimError("--variant: expected a file other than the scenario itself")
    try:
        from ..explore.app import serve
    except ImportError as e:
        raise FundsimError(
            f"fundsim explore needs the 'explore' extra (pip install 'fundsim[explore]'): {e}"
        ) from None
    try:
        serve(args.scenario, port=args.port, host=args.host, variant=args.variant, show=args.show)
    except KeyboardInterrupt:
        return 0
    return 0
