"""Options and printing shared by the simulating subcommands."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TextIO

import numpy as np
import pandas as pd

from ..engine.run import BlockRunner, in_process, threaded
from ..errors import FundsimError
from ..scenario.schema import MAX_HORIZON

SUMMARY_COLUMNS = [
    ("fund", "fund"),
    ("year", "year"),
    ("premium_mean", "premium"),
    ("claims_mean", "claims"),
    ("claims_se", "± se"),
    ("claims_q995", "claims q99.5"),
    ("p_deficit", "P(deficit)"),
    ("insurer_result_mean", "insurer result"),
    ("p_insurer_loss", "P(loss)"),
    ("clawback_mean", "clawback"),
    ("subsidy_mean", "subsidy"),
    ("catastrophic_share_mean", "catastrophic"),
]


def add_engine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--paths",
        type=_paths,
        default=1000,
        help=f"Monte Carlo paths, 1 to {MAX_PATHS:,} (default 1000)",
    )
    p.add_argument(
        "--seed", type=_seed, default=20190101, help="random seed, 0 to 2**63-1 (default 20190101)"
    )
    p.add_argument(
        "--years",
        type=_years,
        default=None,
        help=f"policy years, 1 to {MAX_HORIZON} (default: the scenario's horizon)",
    )
    p.add_argument(
        "--threads",
        type=_positive,
        default=None,
        metavar="N",
        help="in-process threads (default: FUNDSIM_THREADS, else every core)",
    )
    p.add_argument(
        "--workers",
        type=_positive,
        default=None,
        metavar="N",
        help="run on a local Dask cluster of N processes",
    )
    p.add_argument(
        "--scheduler", default=None, help="run on an existing Dask cluster (tcp://host:port)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _positive(text: str) -> int:
    """An argparse type: a whole number at least 1 (``--paths``, ``--years``, ``--threads``...)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, found {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, found {n}")
    return n


MAX_PATHS = 1_000_000
"""Most paths a run may ask for: its per-path arrays (a few KiB a path and year) must fit in
memory; 10,000 paths give a standard error of 1% of the standard deviation."""
MAX_SEED = 2**63 - 1


def _bounded(text: str, low: int, high: int) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, found {text!r}") from None
    if n < low:
        raise argparse.ArgumentTypeError(f"expected at least {low}, found {n}")
    if n > high:
        raise argparse.ArgumentTypeError(f"expected at most {high:,}, found {n}")
    return n


def _paths(text: str) -> int:
    """An argparse type: ``--paths``, 1 to :data:`MAX_PATHS`."""
    return _bounded(text, 1, MAX_PATHS)


def _years(text: str) -> int:
    """An argparse type: ``--years``, 1 to the schema's horizon cap."""
    return _bounded(text, 1, MAX_HORIZON)


def _seed(text: str) -> int:
    """An argparse type: ``--seed``, 0 to 2**63-1 (a ``SeedSequence`` entropy)."""
    return _bounded(text, 0, MAX_SEED)


def uses_dask(args: argparse.Namespace) -> bool:
    """Whether the options ask for Dask (``--workers`` or ``--scheduler``); ``--threads`` with
    either is refused, since each Dask worker process runs one block at a time."""
    dask = args.workers is not None or args.scheduler is not None
    if dask and args.threads is not None:
        raise FundsimError(
            "--threads sets the in-process runner's threads; with --workers or --scheduler each "
            "Dask worker process runs one block at a time (use more workers instead)"
        )
    return dask


@contextlib.contextmanager
def engine_runner(args: argparse.Namespace) -> Iterator[BlockRunner]:
    """The block runner the options ask for: in-process (on ``--threads``), or Dask."""
    if not uses_dask(args):
        yield in_process if args.threads is None else threaded(args.threads)
        return
    from ..engine.distributed import dask_runner

    with dask_runner(workers=args.workers, scheduler=args.scheduler) as runner:
        yield runner


@contextlib.contextmanager
def progress_bar(args: argparse.Namespace, total: int) -> Iterator[Callable[[int], None] | None]:
    """A tqdm bar on a terminal; nothing with --quiet or without a TTY (cron)."""
    if args.quiet or not sys.stderr.isatty():
        yield None
        return
    from tqdm.auto import tqdm

    with tqdm(total=total, unit="path", file=sys.stderr) as bar:
        yield bar.update


def check_finite(summary: pd.DataFrame, what: str) -> None:
    """Results that are infinite, or NaN where a number must be (anything but a standard error,
    which is NaN for a single path, or a measure the method does not give at all, NaN in every
    row, such as the fast method's catastrophic counts), are an error, never a number or a null in
    an output."""
    for c in summary.select_dtypes("number").columns:
        values = summary[c].to_numpy(dtype=float)
        not_given = bool(np.isnan(values).all())
        bad = np.isinf(values) | (np.isnan(values) & (not c.endswith("_se")) & (not not_given))
        if bad.any():
            row = summary.iloc[int(np.argmax(bad))]
            where = ", ".join(f"{k} {row[k]}" for k in ("fund", "year") if k in summary.columns)
            raise FundsimError(
                f"{what}: expected finite results, found {c} = {values[bad][0]} ({where}); "
                "the scenario's magnitudes overflow (see the bounds in the scenario docs)"
            )


def format_money(x: float) -> str:
    return f"{x:,.0f}"


def print_summary(
    summary: pd.DataFrame, file: TextIO = sys.stdout, extra: list[str] | None = None
) -> None:
    """The summary table in a readable form (money in yuan, probabilities as %)."""
    extra = extra or []
    cols = extra + [c for c, _ in SUMMARY_COLUMNS if c in summary.columns]
    table = summary[cols].copy()
    for c in cols:
        if c in ("fund", "year") or c in extra:
            continue
        if c.startswith("p_") or c == "catastrophic_share_mean":
            table[c] = table[c].map(lambda v: f"{100 * v:.2f}%")
        else:
            table[c] = table[c].map(format_money)
    table.columns = [dict(SUMMARY_COLUMNS).get(c, c) for c in cols]
    print(table.to_string(index=False), file=file)
