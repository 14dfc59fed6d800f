"""``fundsim history [--ledger FILE] [--scenario NAME] [--show N | --against N]``: the ledger of
forecasts.

Every ``fundsim report`` (and ``fundsim run --ledger``) records its forecast in the ledger, an
SQLite file at ``--ledger FILE``, else ``$FUNDSIM_LEDGER``, else ``fundsim-ledger.sqlite`` beside
the reports (the folder of ``--out`` before its first field: ``reports/`` for the default
``reports/{scenario}/{date}``). ``fundsim history`` lists the forecasts (id, when made, as-of
date, scenario and its hash, seed, paths, method, folder); ``--show N`` prints forecast N's
numbers; ``--against M --show N`` prints how N's headline numbers moved since M and which inputs
changed. ``fundsim report ... --against last|#N|DATE|FOLDER`` puts the same in the report.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import FundsimError
from ..history.ledger import (
    LEDGER_ENV,
    Forecast,
    Ledger,
    forecast_from_result,
    ledger_path,
    movements,
)
from ..outputs import check_output_file, command_line, nearest_existing


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "history",
        help="list the forecasts recorded in the ledger (and how one moved since another)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--ledger",
        metavar="FILE",
        default=None,
        help=f"the ledger file (default: ${LEDGER_ENV}, else reports/fundsim-ledger.sqlite)",
    )
    p.add_argument("--scenario", metavar="NAME", help="only the forecasts of this scenario")
    p.add_argument("--show", metavar="N", help="print forecast N's numbers (N: an id, or last)")
    p.add_argument("--against", metavar="M", help="with --show: how N moved since forecast M")
    p.set_defaults(func=run)


def _date(text: str) -> str:
    """An argparse type: an ISO date ``YYYY-MM-DD``."""
    import datetime as dt

    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, found {text!r}") from None


def _ref(text: str) -> str:
    return f"#{text}" if text.isdigit() else text


def run(args: argparse.Namespace) -> int:
    path = ledger_path(args.ledger, "reports/{scenario}/{date}")
    with Ledger(path, create=False) as ledger:
        if args.show is None:
            table = ledger.list()
            if args.scenario:
                table = table[table["scenario_name"] == args.scenario]
            table = table.assign(scenario_sha256=table["scenario_sha256"].str[:12])
            cols = ["id", "created", "as_of", "scenario_name", "scenario_sha256", "seed"]
            cols += ["paths", "years", "method", "output"]
            if table.empty:
                print(f"# no forecast in {path}")
            else:
                print(table[cols].to_string(index=False))
            return 0
        now = ledger.find(_ref(args.show), args.scenario)
        if args.against is None:
            print(f"# forecast {now.label()}")
            print(now.values.to_string(index=False, float_format=lambda v: f"{v:,.0f}"))
            return 0
        before = ledger.find(_ref(args.against), args.scenario)
    print_against(before, now)
    return 0


def print_against(before: Forecast, now: Forecast, file: Any = None) -> None:
    from ..report.ledger import input_changes

    file = file or sys.stdout
    print(f"# {now.label()}\n# against {before.label()}", file=file)
    moves = movements(before, now)
    print(moves.to_string(index=False, float_format=lambda v: f"{v:,.1f}"), file=file)
    inputs = input_changes(before, now)
    print("# inputs that changed" + (": none" if inputs.empty else ""), file=file)
    if not inputs.empty:
        print(inputs.to_string(index=False), file=file)


# --------------------------------------------------------------------------- report and run hooks


def add_ledger_args(p: argparse.ArgumentParser, report: bool = True) -> None:
    """``--ledger`` (and, for reports, ``--no-ledger`` and ``--against``)."""
    if report:
        p.add_argument(
            "--ledger",
            metavar="FILE",
            default=None,
            help=f"record the forecast in this ledger (default: ${LEDGER_ENV}, else "
            "fundsim-ledger.sqlite beside the reports)",
        )
        p.add_argument("--no-ledger", action="store_true", help="do not record the forecast")
        p.add_argument(
            "--against",
            metavar="REF",
            default=None,
            help="add a section on how the numbers moved since an earlier forecast: last (the "
            "latest of the same scenario), #N, a date YYYY-MM-DD (the latest as of then) or a "
            "report folder",
        )
        p.add_argument(
            "--as-of",
            metavar="DATE",
            type=_date,
            default=None,
            help="the date the forecast speaks for, YYYY-MM-DD, in the ledger (default: today)",
        )
        p.add_argument(
            "--history",
            metavar="H.csv",
            default=None,
            help="add a back-test section: forecasts scored on this settled-years table",
        )
        p.add_argument("--history-fund", metavar="FUND", help="the back-tested fund")
    else:
        p.add_argument(
            "--ledger",
            metavar="FILE",
            nargs="?",
            const="",
            default=None,
            help=f"record the forecast in the ledger (FILE, else ${LEDGER_ENV}, else "
            "fundsim-ledger.sqlite beside --out)",
        )


def report_ledger(args: argparse.Namespace, out: Path) -> Path | None:
    """The ledger a report records in (None with ``--no-ledger``); checked before any work."""
    if getattr(args, "no_ledger", False):
        if getattr(args, "against", None):
            raise FundsimError("--against reads the ledger: drop --no-ledger")
        return None
    path = ledger_path(getattr(args, "ledger", None), getattr(args, "out", None) or str(out))
    check_ledger(path)
    return path


def check_ledger(path: Path) -> None:
    option = "--ledger"
    if path.is_dir():
        raise FundsimError(f"{option} {path}: expected a file, found a folder")
    # the ledger is a file beside other outputs: its folder (or the nearest existing folder above
    # it, where the folder is still to be made) must take a new file; it need not be empty
    above = nearest_existing(path.parent)
    if not above.is_dir():
        raise FundsimError(f"{option} {path}: expected a folder at {str(above)!r}, found a file")
    check_output_file(path if above == path.parent else above / path.name, option)


def report_history(args: argparse.Namespace, scenario: Any) -> Any:
    """``--history``: the settled-years table, read and checked before the runs (None without)."""
    path = getattr(args, "history", None)
    if not path:
        return None
    from ..history.table import read_history

    return read_history(path, scenario)


def scenario_names_of(scenario: Any, lang: str) -> dict[str, dict[str, str]]:
    """The display labels of a scenario's funds, layers and categories in ``lang``."""
    from ..report.display import localized

    return {
        kind: {
            k: localized(v.label or k, v.label_zh, lang) if v.label else k for k, v in items.items()
        }
        for kind, items in (
            ("fund", scenario.funds),
            ("layer", scenario.layers),
            ("category", scenario.categories),
        )
    }


def backtest_extras(
    args: argparse.Namespace, scenario: Any, history: Any
) -> tuple[list[dict[str, Any]], dict[str, pd.DataFrame]]:
    """The back-test section and its tables (nothing without ``--history``)."""
    if history is None:
        return [], {}
    import io

    from ..history.backtest import backtest, summarise
    from ..report.ledger import backtest_section
    from .backtest import fan_figure

    scores = backtest(scenario, history, getattr(args, "history_fund", None))
    summary = summarise(scores)
    fund = str(scores["fund"].iloc[0]) if len(scores) else "?"
    lang = getattr(args, "lang", "en")
    names = scenario_names_of(scenario, lang)
    buf = io.BytesIO()
    fan_figure(scores, buf, lang, names)
    section = backtest_section(summary, buf.getvalue(), history.path, fund, lang, names)
    return [section], {"backtest_scores": scores, "backtest_summary": summary}


def against_extras(
    args: argparse.Namespace, ledger: Path | None, base: Any, out: Path, scenario_file: str
) -> tuple[Forecast | None, list[dict[str, Any]], dict[str, pd.DataFrame]]:
    """The forecast of ``base`` and, with ``--against``, the report section and its tables."""
    if ledger is None:
        return None, [], {}
    now = forecast_from_result(
        base,
        scenario_file=scenario_file,
        output=str(out),
        command=command_line(),
        as_of=getattr(args, "as_of", None),
    )
    ref = getattr(args, "against", None)
    if not ref:
        return now, [], {}
    from ..report.ledger import against_section

    if not ledger.is_file():
        raise FundsimError(f"--against {ref}: {ledger}: no forecast recorded yet")
    with Ledger(ledger) as db:
        before = db.find(ref, now.scenario_name if ref == "last" else None)
    lang = getattr(args, "lang", "en")
    names = scenario_names_of(base.plan.scenario, lang)
    section, tables = against_section(before, now, lang, names)
    return now, [section], tables


def record(ledger: Path | None, forecast: Forecast | None) -> int | None:
    """Record ``forecast`` in ``ledger``; returns its id (None when there is nothing to do)."""
    if ledger is None or forecast is None:
        return None
    with Ledger(ledger) as db:
        return db.record(forecast)


def run_ledger_path(args: argparse.Namespace) -> Path | None:
    """``fundsim run --ledger [FILE]``: the ledger to record in, checked before the run."""
    if args.ledger is None:
        return None
    path = ledger_path(args.ledger or None, args.out)
    check_ledger(path)
    return path


def record_run(args: argparse.Namespace, ledger: Path | None, result: Any) -> int | None:
    """``fundsim run --ledger``: record the run's forecast."""
    if ledger is None:
        return None
    forecast = forecast_from_result(
        result, scenario_file=args.scenario, output=args.out, command=command_line()
    )
    return record(ledger, forecast)
