"""``fundsim report SCENARIO [VARIANT ...] --paths K --seed S --out DIR``: a scenario report.

Runs the scenario and each variant on the same seed and paths (common random numbers) and writes
``DIR/index.html`` (self-contained: figures embedded, no network needed), one CSV per table,
``report.xlsx``, ``summary.json``, ``manifest.json`` and ``report.log``. The report prices the
insurer's tender on the base run, and follows the special account of the first fund run by an
insurer (``--cashflow-fund`` to choose) through the year on the first ``--cashflow-paths`` paths
(a few seconds a path on a provincial roster; 0 leaves the cash-flow section out).

Safe unattended (cron, systemd timers): no prompts; the output is written to a temporary folder
and renamed into place only when complete, so a failed or interrupted run leaves the previous
report untouched; exit code 0 on success, non-zero with one line on stderr on failure; ``--log``
appends the log to a file that is kept whatever happens; a progress bar only on a terminal.
``--out`` may hold fields: {scenario}, {date} (YYYY-MM-DD), {month} (YYYY-MM), {time} (HHMMSS),
{seed}, {paths}, {lang}; the default is ``reports/{scenario}/{date}``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import logging
import os
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..engine.run import run as run_engine
from ..errors import FundsimError
from ..outputs import check_output_dir, command_line, display_path, nearest_existing
from ..report import build_report, write_report
from ..report.cashflows import DEFAULT_CASHFLOW_PATHS
from ..report.compare import unique_names
from ..report.i18n import LANGS
from ..scenario import load_scenario
from ._common import add_engine_args, check_finite, engine_runner, progress_bar
from .history import (
    add_ledger_args,
    against_extras,
    backtest_extras,
    record,
    report_history,
    report_ledger,
)
from .run import add_method_arg

DEFAULT_OUT = "reports/{scenario}/{date}"
OUT_FIELDS = ("scenario", "date", "month", "time", "seed", "paths", "lang")

log = logging.getLogger("fundsim")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="run a scenario (and variants) and write an HTML report with CSV and Excel data",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_report_args(p)
    p.set_defaults(func=run)


def add_report_args(
    p: argparse.ArgumentParser,
    out_default: str = DEFAULT_OUT,
    scenario_default: str | None = None,
    variants_default: list[str] | None = None,
    cashflow_paths_default: int = DEFAULT_CASHFLOW_PATHS,
    paths_default: int | None = None,
) -> None:
    """The report options; with ``scenario_default`` the scenario and variants are optional;
    ``paths_default`` replaces ``--paths``' default (and its help says so)."""
    if scenario_default is None:
        p.add_argument("scenario", metavar="SCENARIO", help="the base scenario file")
    else:
        p.add_argument(
            "scenario",
            metavar="SCENARIO",
            nargs="?",
            default=scenario_default,
            help=f"the base scenario file (default {scenario_default})",
        )
    p.add_argument(
        "variants",
        metavar="VARIANT",
        nargs="*",
        default=variants_default or [],
        help="variant scenario files to compare with the base"
        + (f" (default {' '.join(variants_default)})" if variants_default else ""),
    )
    add_engine_args(p)
    if paths_default is not None:
        p.set_defaults(paths=paths_default)
        for action in p._actions:
            if "--paths" in action.option_strings:
                action.help = f"Monte Carlo paths (default {paths_default})"
    add_method_arg(p)
    p.add_argument(
        "--out", metavar="DIR", default=out_default, help=f"report folder (default {out_default})"
    )
    p.add_argument(
        "--no-clobber",
        action="store_true",
        help="when --out has fields ({date}, {month}, ...) and that folder exists, fail instead "
        "of writing next to it with a numbered suffix (default: the suffix; a plain --out folder "
        "is replaced)",
    )
    p.add_argument("--pdf", action="store_true", help="also write report.pdf (headless Chromium)")
    p.add_argument("--lang", choices=LANGS, default="en", help="report language (default en)")
    p.add_argument(
        "--log", metavar="FILE", help="also append the log to FILE (kept when a run fails)"
    )
    p.add_argument(
        "--no-exact", action="store_true", help="skip the exact method's check of the first year"
    )
    p.add_argument(
        "--cashflow-paths",
        metavar="K",
        type=int,
        default=cashflow_paths_default,
        help="paths of the cash-flow section, the first K of the run (slow: seconds a path on a "
        f"provincial roster); 0 leaves the section out (default {cashflow_paths_default})",
    )
    p.add_argument(
        "--cashflow-fund",
        metavar="FUND",
        action="append",
        help="a fund whose account the cash-flow section follows (repeat for more; default: the "
        "first fund run by an insurer)",
    )
    add_ledger_args(p)


def safe_name(name: str) -> str:
    """A scenario name usable as one folder name: anything but letters, digits, ``.-_`` becomes
    ``_`` (so ``<script>`` or ``a/b`` cannot escape the folder)."""
    cleaned = re.sub(r"[^\w.-]+", "_", name, flags=re.UNICODE).strip("._")
    return cleaned or "scenario"


def resolve_out(
    pattern: str, scenario: str, when: dt.datetime, seed: int, paths: int, lang: str
) -> Path:
    """``--out`` with its fields filled (see the module docstring)."""
    fields = {
        "scenario": safe_name(scenario),
        "date": when.strftime("%Y-%m-%d"),
        "month": when.strftime("%Y-%m"),
        "time": when.strftime("%H%M%S"),
        "seed": str(seed),
        "paths": str(paths),
        "lang": lang,
    }
    try:
        text = pattern.format_map(fields)
    except (KeyError, IndexError, ValueError) as e:
        raise FundsimError(
            f"--out {pattern!r}: cannot fill the pattern ({type(e).__name__}: {e}); "
            f"fields allowed: {', '.join('{' + f + '}' for f in OUT_FIELDS)}"
        ) from None
    return Path(text)


def keep_existing(out: Path, pattern: str, no_clobber: bool) -> Path:
    """A scheduled report never silently replaces an earlier one: when ``pattern`` has fields
    (``reports/{scenario}/{month}``) and its folder ``out`` exists, the report goes to the first
    free ``out-2``, ``out-3``, ... (or, with ``no_clobber``, fails with one line). A plain folder
    (no fields) is the user's own choice and is replaced atomically, as before."""
    if not out.exists() or pattern.format_map(_Literal()) == pattern:
        return out
    if no_clobber:
        raise FundsimError(f"--out {str(out)!r}: the folder exists (--no-clobber: nothing written)")
    n = 2
    while out.with_name(f"{out.name}-{n}").exists():
        n += 1
    return out.with_name(f"{out.name}-{n}")


class _Literal(dict):
    """Formats a pattern's fields as themselves: ``pattern.format_map(_Literal()) == pattern`` for
    a pattern with no fields only."""

    def __missing__(self, key: str) -> str:
        return "<" + key + ">"


@contextlib.contextmanager
def run_log(log_file: str | None) -> Iterator[io.StringIO]:
    """Collect the ``fundsim`` log in memory (for ``DIR/report.log``) and append it to ``log_file``."""
    buffer = io.StringIO()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler(buffer)]
    if log_file:
        if Path(log_file).is_dir():
            raise FundsimError(f"--log {log_file}: expected a file, found a folder")
        above = nearest_existing(Path(log_file).parent)
        if not above.is_dir():
            raise FundsimError(f"--log {log_file}: expected a folder {str(above)!r}, found a file")
        try:
            Path(log_file).parent.mkdir(parents=True, exist_ok=True)
            handlers.append(logging.FileHandler(log_file, mode="a", encoding="utf-8"))
        except OSError as e:
            reason = e.strerror or str(e)
            if e.filename is not None and os.path.abspath(e.filename) != os.path.abspath(log_file):
                reason = f"{os.fsdecode(e.filename)}: {reason}"
            raise FundsimError(f"--log {log_file}: cannot open it to append ({reason})") from None
    old_level, old_propagate = log.level, log.propagate
    log.setLevel(logging.INFO)
    log.propagate = False
    for h in handlers:
        h.setFormatter(fmt)
        log.addHandler(h)
    try:
        yield buffer
    finally:
        for h in handlers:
            log.removeHandler(h)
            h.close()
        log.setLevel(old_level)
        log.propagate = old_propagate


@dataclass(frozen=True)
class ReportRequest:
    scenario: str
    variants: tuple[str, ...]
    paths: int
    seed: int
    years: int | None
    out: str
    lang: str = "en"
    exact: bool = True
    quiet: bool = False
    cashflow_paths: int | None = None
    """None: the command line's ``--cashflow-paths`` (or its default)."""
    cashflow_funds: tuple[str, ...] | None = None
    """None: the command line's ``--cashflow-fund`` (default: the first fund run by an insurer)."""
    pdf: bool = False
    """Also write ``report.pdf``."""


def make_report(req: ReportRequest, args: argparse.Namespace, buffer: io.StringIO) -> Path:
    """Load, run, build and write; returns the report folder. Raises on any failure."""
    started = dt.datetime.now().astimezone()
    log.info("%s", command_line())
    log.info(
        "scenario %s, variants %s, paths %d, seed %d",
        display_path(req.scenario),
        [display_path(v) for v in req.variants] or "none",
        req.paths,
        req.seed,
    )
    base_scenario = load_scenario(req.scenario)
    variant_scenarios = [load_scenario(v) for v in req.variants]
    cashflow_paths, cashflow_funds = cashflow_options(req, args)
    unknown = [f for f in cashflow_funds or () if f not in base_scenario.funds]
    if unknown:  # said before the runs, not after
        raise FundsimError(
            f"--cashflow-fund {unknown[0]!r} is not a fund of {req.scenario}; its funds are "
            f"{', '.join(base_scenario.funds)}"
        )
    out = resolve_out(req.out, base_scenario.name, started, req.seed, req.paths, req.lang)
    out = keep_existing(out, req.out, getattr(args, "no_clobber", False))
    check_output_dir(out, "--out")  # before the runs, not after
    if req.pdf or getattr(args, "pdf", False):
        from ..report.pdf import find_chromium

        find_chromium()  # said before the runs, not after
    ledger = report_ledger(args, out)  # the ledger too
    history = report_history(args, base_scenario)  # and the settled years
    log.info("output folder %s", display_path(out))
    t0 = time.perf_counter()
    results = []
    with (
        engine_runner(args) as runner,
        progress_bar(args, req.paths * (1 + len(req.variants))) as bar,
    ):
        for label, s in [
            (req.scenario, base_scenario),
            *zip(req.variants, variant_scenarios, strict=True),
        ]:
            t1 = time.perf_counter()
            results.append(
                run_engine(
                    s,
                    paths=req.paths,
                    seed=req.seed,
                    years=req.years,
                    runner=runner,
                    progress=bar,
                    method=getattr(args, "method", "full"),
                )
            )
            check_finite(results[-1].summary(), display_path(label))
            log.info(
                "ran %s: %d paths in %.1f s",
                display_path(label),
                req.paths,
                time.perf_counter() - t1,
            )
    base, variants = results[0], results[1:]
    names = unique_names([s.name for s in variant_scenarios])
    forecast, extra_sections, extra_tables = against_extras(args, ledger, base, out, req.scenario)
    bt_sections, bt_tables = backtest_extras(args, base_scenario, history)
    extra_sections, extra_tables = [*extra_sections, *bt_sections], {**extra_tables, **bt_tables}
    report = build_report(
        base,
        variants,
        lang=req.lang,
        exact=req.exact,
        variant_names=names,
        scenario_files=[display_path(f) for f in (req.scenario, *req.variants)],
        now=started,
        extra_manifest={"command": command_line(), "method": getattr(args, "method", "full")},
        cashflow_paths=cashflow_paths,
        cashflow_funds=cashflow_funds,
        progress=not req.quiet and sys.stderr.isatty(),
        extra_sections=extra_sections,
    )
    report.tables.update(extra_tables)
    for w in report.warnings:
        log.warning(w)
        if not req.quiet:
            print(f"fundsim: warning: {w}", file=sys.stderr)
    log.info("report built in %.1f s", time.perf_counter() - t0)
    write_report(report, out, log_text=buffer.getvalue, pdf=req.pdf or getattr(args, "pdf", False))
    fid = record(ledger, forecast)
    if fid is not None:
        log.info("forecast #%d recorded in the ledger %s", fid, display_path(ledger))
    return out


def cashflow_options(
    req: ReportRequest, args: argparse.Namespace
) -> tuple[int, tuple[str, ...] | None]:
    """The cash-flow paths and funds of a request: its own, else the command line's."""
    paths = req.cashflow_paths
    if paths is None:
        paths = getattr(args, "cashflow_paths", DEFAULT_CASHFLOW_PATHS)
    if paths < 0:
        raise FundsimError(f"--cashflow-paths must be 0 (no section) or more, found {paths}")
    funds = req.cashflow_funds
    if funds is None:
        given = getattr(args, "cashflow_fund", None)
        funds = tuple(given) if given else None
    return paths, funds


def request_from_args(args: argparse.Namespace) -> ReportRequest:
    if args.paths < 1:
        raise FundsimError(f"--paths must be at least 1, found {args.paths}")
    if args.cashflow_paths < 0:
        raise FundsimError(
            f"--cashflow-paths must be 0 (no section) or more, found {args.cashflow_paths}"
        )
    return ReportRequest(
        scenario=args.scenario,
        variants=tuple(args.variants),
        paths=args.paths,
        seed=args.seed,
        years=args.years,
        out=args.out,
        lang=args.lang,
        exact=not args.no_exact,
        quiet=args.quiet,
        cashflow_paths=args.cashflow_paths,
        cashflow_funds=tuple(args.cashflow_fund) if args.cashflow_fund else None,
        pdf=args.pdf,
    )


def run_request(req: ReportRequest, args: argparse.Namespace, log_file: str | None) -> int:
    """Run a report request with its log; one line on stderr and a non-zero exit on failure.

    A wrong request (:class:`FundsimError`, an unwritable ``--log`` included) or a file that cannot
    be read or written (:class:`OSError`) is raised for the CLI (one line, exit code 2); any other
    failure is logged with its traceback and gives one line and exit code 1.
    """
    with run_log(log_file) as buffer:  # an unwritable --log: FundsimError, before any work
        try:
            out = make_report(req, args, buffer)
        except (FundsimError, OSError) as e:
            log.error("failed: %s", e)
            raise  # the CLI prints it on one line, exit code 2
        except KeyboardInterrupt as e:
            log.error("interrupted (%s): no report written", str(e) or "SIGINT")
            raise
        except Exception as e:
            log.exception("failed")
            where = f" (details in {log_file})" if log_file else ""
            print(f"fundsim: error: report failed: {type(e).__name__}: {e}{where}", file=sys.stderr)
            return 1
        log.info("done: %s", display_path(out / "index.html"))
    if not req.quiet:
        print(f"report written to {out / 'index.html'}")
    return 0


def run(args: argparse.Namespace) -> int:
    return run_request(request_from_args(args), args, args.log)
