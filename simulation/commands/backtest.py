"""``fundsim backtest SCENARIO --history H.csv [--fund F] [--out scores.csv] [--figure fan.png]``:
calibrate on the settled years before each year from the third on, forecast it (and the next two
years), and score the forecasts against what happened: PIT, 50% and 90% coverage, bias and CRPS
(see ``simulation/history/backtest.py``). Prints the summary per component and horizon."""

from __future__ import annotations

import argparse
import io

from ..outputs import write_atomic
from ._files import check_new_files, files_together


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "backtest",
        help="score calibrated forecasts against the settled years (PIT, coverage, bias, CRPS)",
        description=__doc__.split("\n\n", 1)[0].split(":", 1)[1] if __doc__ else None,
    )
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--history", required=True, metavar="H.csv", help="the settled-years table")
    p.add_argument("--fund", default=None, help="the fund (default: the first with admissions)")
    p.add_argument("--out", metavar="FILE.csv", help="write every forecast and its scores")
    p.add_argument(
        "--figure", metavar="FILE.png", help="write the fan of forecasts against actuals"
    )
    p.set_defaults(func=run)


def fan_figure(
    scores, buf, lang: str = "en", names: dict[str, dict[str, str]] | None = None
) -> None:
    """:func:`backtest_fan` written as PNG to ``buf``."""
    fig = backtest_fan(scores, lang, names)
    fig.savefig(buf, format="png", dpi=100)


def backtest_fan(scores, lang: str = "en", names: dict[str, dict[str, str]] | None = None):
    """Per component: the actuals, and each one-year-ahead forecast's 50% and 90% intervals, with
    titles and legends in ``lang`` (fund labels from ``names``, as the report's section). A
    :class:`matplotlib.figure.Figure` outside pyplot's registry."""
    from matplotlib.figure import Figure

    from ..report.figures import figure_style
    from ..report.fonts import font_setup
    from ..report.ledger import BACKTEST_TEXT

    t = BACKTEST_TEXT.get(lang, BACKTEST_TEXT["en"])
    words: dict[str, str] = t["components"]  # type: ignore[assignment]
    funds = (names or {}).get("fund", {})
    comps = list(dict.fromkeys(scores["component"]))
    with figure_style(font_setup()):
        fig = Figure(figsize=(4.5 * len(comps), 3.4))
        axes = fig.subplots(1, len(comps), squeeze=False)
        for ax, comp in zip(axes[0], comps, strict=True):
            g = scores[(scores.component == comp) & (scores.horizon == 1)]
            fund = str(g.fund.iloc[0]) if len(g) else ""
            ax.fill_between(g.year, g.q05, g.q95, alpha=0.2, label="90%")
            ax.fill_between(g.year, g.q25, g.q75, alpha=0.35, label="50%")
            ax.plot(g.year, g.q50, "-", label=str(t["median"]))
            ax.plot(g.year, g.actual, "o", color="k", label=str(t["actual"]))
            title = str(t["fig_title"]).format(
                fund=funds.get(fund, fund), component=words.get(str(comp), str(comp))
            )
            ax.set_title(title)
            ax.legend(fontsize=7)
        fig.tight_layout()
    return fig


def run(args: argparse.Namespace) -> int:
    from ..history.backtest import backtest, summarise
    from ..history.table import read_history
    from ..scenario import load_scenario

    outputs = {"--out": args.out, "--figure": args.figure}
    check_new_files(outputs)  # before the forecasts; missing folders are created when writing
    scenario = load_scenario(args.scenario)
    history = read_history(args.history, scenario)
    scores = backtest(scenario, history, args.fund)
    with files_together(outputs):
        if args.out:
            write_atomic(args.out, scores.to_csv(index=False))
        if args.figure:
            buf = io.BytesIO()
            fan_figure(scores, buf)
            write_atomic(args.figure, buf.getvalue())
    print(summarise(scores).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0
