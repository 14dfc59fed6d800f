"""``fundsim calibrate SCENARIO --history H.csv --out fragment.toml``: fit the levels, trends and
factor sizes of inpatient frequency and cost per admission to a fund's settled years.

The fit compares each settled year with the scenario's own expected aggregates (see
``simulation/history/calibrate.py`` for the likelihood) and writes a scenario fragment in the
scenario file's keys (scaled rates and mean costs, adjusted trends, ``[systematic]`` factor sizes,
trend SEs and the levels' covariance), with the estimates, SEs and covariance in comments. It
prints the estimates and the goodness-of-fit table (actual against fitted per year, standardised
residuals); ``--fit-table`` writes that table as CSV and ``--figure`` a PNG of it.
"""

from __future__ import annotations

import argparse

from ..errors import FundsimError
from ..outputs import write_atomic
from ._files import check_new_files, files_together


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate",
        help="fit frequency and cost levels, trends and factor sizes to a fund's settled years",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--history", required=True, metavar="H.csv", help="the settled-years table")
    p.add_argument("--fund", default=None, help="the fund (default: the first with admissions)")
    p.add_argument("--out", required=True, metavar="FRAGMENT.toml", help="the fragment to write")
    p.add_argument("--fit-table", metavar="FILE.csv", help="write the goodness-of-fit table")
    p.add_argument("--figure", metavar="FILE.png", help="write the goodness-of-fit figure")
    p.set_defaults(func=run)


def gof_figure(cal, path) -> None:
    """Actual against fitted, per component, with +-2 predictive SD bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    gof = cal.goodness_of_fit()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, comp in zip(axes, cal.components(), strict=True):
        g = gof[gof.component == comp.name]
        sd = np.sqrt(comp.size**2 + comp.process_var)
        ax.fill_between(
            g.year, g.fitted * np.exp(-2 * sd), g.fitted * np.exp(2 * sd), alpha=0.2, label="±2 sd"
        )
        ax.plot(g.year, g.fitted, "-", label="fitted")
        ax.plot(g.year, g.model, ":", label="scenario")
        ax.plot(g.year, g.actual, "o", label="actual")
        ax.set_title(f"{cal.fund}: {g.quantity.iloc[0] if len(g) else comp.name}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    from ..history.calibrate import calibrate
    from ..history.fragment import to_fragment
    from ..history.table import read_history
    from ..scenario import load_scenario

    outputs = {"--out": args.out, "--fit-table": args.fit_table, "--figure": args.figure}
    check_new_files(outputs)  # before the fit; missing folders are created when writing
    scenario = load_scenario(args.scenario)
    history = read_history(args.history, scenario)
    cal = calibrate(scenario, history, args.fund)
    text = to_fragment(cal, scenario, args.history)
    gof = cal.goodness_of_fit()
    if not text:
        raise FundsimError("empty fragment")
    with files_together(outputs):
        write_atomic(args.out, text)
        if args.fit_table:
            write_atomic(args.fit_table, gof.to_csv(index=False))
        if args.figure:
            import io

            buf = io.BytesIO()
            gof_figure(cal, buf)
            write_atomic(args.figure, buf.getvalue())
    print(f"# {scenario.name}, fund {cal.fund}: estimates (log scale) and standard errors")
    print(cal.estimates().to_string(index=False, float_format=lambda v: f"{v:.5f}"))
    print("# goodness of fit")
    print(gof.to_string(index=False, float_format=lambda v: f"{v:,.3f}"))
    for n in cal.notes:
        print(f"# note: {n}")
    print(f"# fragment written to {args.out}")
    return 0
