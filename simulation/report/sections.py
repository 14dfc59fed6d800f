"""The report's HTML tables: numbers from :mod:`.numbers` formatted as :class:`~.html.HtmlTable` s.

Each function takes a translator, a money formatter, a tidy table (money in yuan) and the
scenario's display names, and returns the rows and cells the page template renders; none computes
a number.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd

from ..engine.result import SimulationResult
from ..scenario.schema import ContractKind
from . import tables as T
from .compare import material_relative_change, what_changed_most
from .html import Cell, Formatter, HtmlTable, Row, cell_data, fmt_number, fmt_pct, se_decimals
from .i18n import Translator
from .precision import paths_needed, supports

PROBABILITY_MEASURES = {"p_deficit": 1, "catastrophic_share": 2}
"""Measures shown as percentages (with their decimals); any other measure is money."""


QUANTILE_LEVELS = {"q95": 0.95, "q995": 0.995}
"""Levels of the exact check's quantiles (Monte Carlo side shown only with enough paths)."""


def interval_text(
    t: Translator, fmt: Formatter, row: pd.Series, show: Callable[[float], str]
) -> tuple[str, bool]:
    """The ``[5% – 95%]`` bracket of a row, or ("5–95%: needs N paths", muted) when the run's paths
    cannot support it (:mod:`.precision`)."""
    if fmt.paths and not supports(0.05, fmt.paths):
        return t("interval_needs_paths", n=f"{paths_needed(0.05):,}"), True
    return f"[{show(row['q05'])} – {show(row['q95'])}]", False


def summary_table(
    t: Translator,
    fmt: Formatter,
    result: SimulationResult,
    table: pd.DataFrame,
    names: dict[str, dict[str, str]],
    notes: dict[str, str] | None = None,
) -> HtmlTable:
    """The director's table: a row per measure, a column per year; ``notes`` by fund are shown
    under the fund's heading (what its balance means)."""
    years = list(result.years)
    header = [t("col_measure"), *[str(y) for y in years]]
    rows: list[Row] = []
    funds = result.plan.scenario.funds
    for fund in [*result.plan.funds, T.POPULATION]:
        d = table[table["fund"] == fund]
        if d.empty:
            continue
        rows.append(
            Row(
                group=t("population") if fund == T.POPULATION else names["fund"].get(fund, fund),
                note=(notes or {}).get(fund, ""),
            )
        )
        has_contract = fund != T.POPULATION and funds[fund].contract.kind is not ContractKind.NONE
        for measure in dict.fromkeys(d["measure"]):
            cells = [Cell(t(measure))]
            for year in years:
                r = d[(d["measure"] == measure) & (d["year"] == year)].iloc[0]
                data = cell_data(
                    fund=fund, year=year, measure=measure, value=float(r["mean"]), se=float(r["se"])
                )
                if measure in ("clawback", "subsidy") and not has_contract:
                    cells.append(Cell("—", num=True, data=data))
                elif measure == "claims_systematic_share":  # an estimate without its own SE
                    cells.append(Cell(fmt_pct(r["mean"], 0), num=True, data=data))
                elif measure in PROBABILITY_MEASURES:
                    dec = PROBABILITY_MEASURES[measure]
                    sub = (
                        interval_text(t, fmt, r, lambda v, d=dec: fmt_pct(v, d))
                        if measure != "p_deficit"
                        else ("", False)
                    )
                    cells.append(
                        Cell(
                            fmt.prob_est(r["mean"], r["se"], dec),
                            num=True,
                            sub=sub[0],
                            sub_muted=sub[1],
                            data=data,
                        )
                    )
                else:
                    sub = (
                        interval_text(t, fmt, r, fmt.money) if r["q95"] > r["q05"] else ("", False)
                    )
                    cells.append(
                        Cell(
                            fmt.money_se(r["mean"], r["se"]),
                            num=True,
                            sub=sub[0],
                            sub_muted=sub[1],
                            data=data,
                        )
                    )
            rows.append(Row(tuple(cells)))
    return HtmlTable("summary", header, rows)


def layer_table(
    t: Translator, fmt: Formatter, table: pd.DataFrame, names: dict[str, dict[str, str]]
) -> HtmlTable:
    header = [
        t("col_layer"),
        t("col_fund"),
        t("col_year"),
        f"{t('col_mean')} ± {t('col_se')}",
        "5% – 95%",
    ]
    short = bool(fmt.paths) and not supports(0.05, fmt.paths)
    needs = t("needs_paths", n=f"{paths_needed(0.05):,}")
    rows = [
        Row(
            (
                Cell(names["layer"].get(r.layer, r.layer)),
                Cell(names["fund"].get(r.fund, r.fund)),
                Cell(str(r.year)),
                Cell(fmt.money_se(r.mean, r.se), num=True),
                Cell(needs, num=True, muted=True)
                if short
                else Cell(f"{fmt.money(r.q05)} – {fmt.money(r.q95)}", num=True),
            )
        )
        for r in table.itertuples()
    ]
    return HtmlTable("layers", header, rows)


def category_table(
    t: Translator, fmt: Formatter, table: pd.DataFrame, names: dict[str, dict[str, str]]
) -> HtmlTable:
    header = [
        t("col_category"),
        t("col_year"),
        t("col_persons"),
        f"{t('claims_short')} ± {t('col_se')}",
        t("col_claimants"),
        t("catastrophic_count"),
        f"{t('catastrophic_share')} ± {t('col_se')}",
    ]
    rows = [
        Row(
            (
                Cell(names["category"].get(r.category, r.category)),
                Cell(str(r.year)),
                Cell(fmt_number(r.persons, 0), num=True),
                Cell(fmt.money_se(r.claims_mean, r.claims_se), num=True),
                Cell(fmt_number(r.claimants_mean, 0), num=True),
                Cell(fmt_number(r.catastrophic_mean, 0), num=True),
                Cell(fmt.prob_est(r.catastrophic_share_mean, r.catastrophic_share_se, 2), num=True),
            )
        )
        for r in table.itertuples()
    ]
    return HtmlTable("categories", header, rows)


def comparison_table(
    t: Translator,
    fmt: Formatter,
    table: pd.DataFrame,
    names: dict[str, dict[str, str]],
    id_: str,
    show_period: bool,
) -> HtmlTable:
    """Grouped by variant; rows where nothing changed (difference and its SE both 0) are left out
    (they are in comparison.csv)."""
    header = [
        t("col_fund"),
        t("col_measure"),
        *([t("col_period")] if show_period else []),
        t("col_base"),
        t("col_variant_value"),
        t("col_difference"),
        t("col_relative"),
        t("col_independent_se"),
    ]
    rows: list[Row] = []
    table = table.assign(relative_change=material_relative_change(table))
    for variant, d in table.groupby("variant", sort=False):
        changed = d[(d["difference"] != 0) | (d["difference_se"] != 0)]
        rows.append(Row(group=f"{t('col_variant')}: {variant}"))
        for r in changed.itertuples():
            prob = r.measure in PROBABILITY_MEASURES
            dec = PROBABILITY_MEASURES.get(r.measure, 1)
            if prob:
                base, var = fmt_pct(r.base_mean, dec), fmt_pct(r.variant_mean, dec)
                diff = fmt.pp_se(r.difference, r.difference_se, dec, t("pp"))
                ind = f"{100 * r.independent_se:.{se_decimals(100 * r.independent_se, dec)}f} {t('pp')}"
            else:
                base, var = fmt.money(r.base_mean), fmt.money(r.variant_mean)
                diff = fmt.money_se(r.difference, r.difference_se)
                ind = fmt_number(float(fmt.unit(r.independent_se)))
            rel = (
                "—" if not math.isfinite(r.relative_change) else f"{100 * r.relative_change:+.1f}%"
            )
            fund = t("population") if r.fund == T.POPULATION else names["fund"].get(r.fund, r.fund)
            cells = [
                Cell(fund),
                Cell(t(r.measure)),
                *([Cell(r.period)] if show_period else []),
                Cell(base, num=True),
                Cell(var, num=True),
                Cell(
                    diff,
                    num=True,
                    data=cell_data(
                        variant=variant,
                        fund=r.fund,
                        measure=r.measure,
                        period=r.period,
                        value=float(r.difference),
                        se=float(r.difference_se),
                    ),
                ),
                Cell(rel, num=True),
                Cell(ind, num=True),
            ]
            rows.append(Row(tuple(cells)))
    return HtmlTable(id_, header, rows)


def mc_table(t: Translator, table: pd.DataFrame, names: dict[str, dict[str, str]]) -> HtmlTable:
    header = [
        t("col_fund"),
        t("col_year"),
        t("col_measure"),
        t("col_mean"),
        t("col_se"),
        t("col_rel_se"),
    ]
    rows = []
    for r in table.itertuples():
        prob = r.measure in ("p_deficit", "catastrophic_share")
        mean = fmt_pct(r.mean, 2) if prob else fmt_number(r.mean)
        se = fmt_pct(r.se, 2) if prob else fmt_number(r.se)
        rel = fmt_pct(r.rel_se, 2) if math.isfinite(r.rel_se) else "—"
        fund = t("population") if r.fund == T.POPULATION else names["fund"].get(r.fund, r.fund)
        rows.append(
            Row(
                (
                    Cell(fund),
                    Cell(str(r.year)),
                    Cell(t(r.measure)),
                    Cell(mean, num=True),
                    Cell(se, num=True),
                    Cell(rel, num=True),
                )
            )
        )
    return HtmlTable("mc-errors", header, rows)


def exact_table(
    t: Translator, fmt: Formatter, table: pd.DataFrame, names: dict[str, dict[str, str]]
) -> HtmlTable:
    header = [
        t("col_fund"),
        t("col_quantity"),
        t("col_exact"),
        t("col_mc"),
        t("col_se"),
        t("col_rel_diff"),
        t("col_z"),
        t("col_agrees"),
    ]
    qlabel = {
        "mean": "exact_mean",
        "sd": "exact_sd",
        "q95": "exact_q95",
        "q995": "exact_q995",
        "p_deficit": "exact_p_deficit",
        "resid_mean": "exact_resid_mean",  # under systematic risk (tables._conditional_rows)
        "resid_sd": "exact_resid_sd",
        "resid_ks_p": "exact_resid_ks_p",
    }
    rows: list[Row] = []
    for fund, d in table.groupby("fund", sort=False):
        rows.append(Row(group=names["fund"].get(str(fund), str(fund))))
        for r in d.itertuples():
            prob = r.quantity == "p_deficit"
            f = (lambda v: fmt_pct(v, 2)) if prob else fmt.money
            if r.quantity.startswith("resid_"):  # unitless
                f = lambda v: fmt_number(v, 3) if math.isfinite(v) else "—"  # noqa: E731
            agrees = (
                "—"
                if r.agrees is None or (isinstance(r.agrees, float) and math.isnan(r.agrees))
                else t("yes" if r.agrees else "no")
            )
            rel = (r.mc - r.exact) / abs(r.exact) if not prob and r.exact else float("nan")
            level = QUANTILE_LEVELS.get(r.quantity)
            if level is not None and fmt.paths and not supports(level, fmt.paths):
                mc_cell = Cell(t("needs_paths", n=f"{paths_needed(level):,}"), num=True, muted=True)
                rel = float("nan")
            elif prob:
                mc_cell = Cell(fmt.prob_est(r.mc, r.mc_se, 2), num=True)
            else:
                mc_cell = Cell(f(r.mc), num=True)
            rows.append(
                Row(
                    (
                        Cell(t(qlabel[r.quantity])),
                        Cell(f(r.exact), num=True),
                        mc_cell,
                        Cell(f(r.mc_se), num=True),
                        Cell(f"{100 * rel:+.2f}%" if math.isfinite(rel) else "—", num=True),
                        Cell(fmt_number(r.z, 2), num=True),
                        Cell(agrees),
                    )
                )
            )
    return HtmlTable("exact", header[1:], rows)


def kv_table(t: Translator, items: list[tuple[str, str]], id_: str) -> HtmlTable:
    return HtmlTable(
        id_, [t("col_key"), t("col_value")], [Row((Cell(k), Cell(v))) for k, v in items]
    )


def changed_most_table(
    t: Translator,
    fmt: Formatter,
    comparison: pd.DataFrame,
    names: dict[str, dict[str, str]],
    period: str,
    top: int = 10,
) -> HtmlTable:
    """What changed most over ``period`` (:func:`~.compare.what_changed_most`): variant, fund,
    measure, the difference with its SE, and its size in percentage points (of the fund's
    financing for money)."""
    header = [
        t("col_variant"),
        t("col_fund"),
        t("col_measure"),
        t("col_difference"),
        t("col_impact"),
    ]
    rows: list[Row] = []
    for r in what_changed_most(comparison, period, top).itertuples():
        prob = r.measure in PROBABILITY_MEASURES
        dec = PROBABILITY_MEASURES.get(r.measure, 1)
        diff = (
            fmt.pp_se(r.difference, r.difference_se, dec, t("pp"))
            if prob
            else fmt.money_se(r.difference, r.difference_se)
        )
        impact = f"{r.impact_pp:+.{se_decimals(r.impact_pp, 1, 3)}f} {t('pp')}" + (
            "" if prob else f" {t('of_financing')}"
        )
        fund = t("population") if r.fund == T.POPULATION else names["fund"].get(r.fund, r.fund)
        rows.append(
            Row(
                (
                    Cell(str(r.variant)),
                    Cell(fund),
                    Cell(t(r.measure)),
                    Cell(diff, num=True),
                    Cell(
                        impact,
                        num=True,
                        data=cell_data(
                            variant=r.variant,
                            fund=r.fund,
                            measure=r.measure,
                            value=float(r.impact_pp),
                        ),
                    ),
                )
            )
        )
    return HtmlTable("changed-most", header, rows)
