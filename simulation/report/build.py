"""Building a scenario report: tables, figures, a self-contained HTML page, CSV and a workbook.

:func:`build_report` turns a base run (and variant runs on the same seed and paths) into a
:class:`Report` in memory; :func:`write_report` writes it into a folder atomically (a temporary
folder renamed into place when complete, :func:`simulation.outputs.atomic_dir`)::

    DIR/index.html          the report: every figure embedded as a base64 PNG, no external URL
    DIR/report.xlsx         one sheet per table
    DIR/<table>.csv         one CSV per table (money in yuan, probabilities as fractions)
    DIR/figures/<id>.png    the figures
    DIR/summary.json/.csv   the engine's summary of the base run (as ``fundsim run`` writes it)
    DIR/manifest.json       what produced the report (scenario hash, seed, paths, version)
    DIR/report.log          the run's log, when one is given

Sections (:data:`SECTIONS`, in order): the summary for decision makers, fund balances, the
insurer's annual result, tender pricing (:mod:`.tender`), cash flows within the year and the
year-end settlement (:mod:`.cashflows`; left out with ``cashflow_paths=0``), claims by layer and
category, catastrophic out-of-pocket cost, the comparison of variants, the methods appendix.

The HTML is rendered by Jinja2 with autoescaping on: a scenario name or label holding markup is
shown as text, never interpreted.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import logging
import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..engine.result import SimulationResult, summary_records
from ..errors import FundsimError
from ..outputs import (
    atomic_dir,
    display_path,
    escape_formulas,
    git_commit,
    manifest,
    scenario_hash,
)
from ..scenario import dumps_toml, scenario_table
from ..scenario.schema import ContractKind
from . import cashflows as CF
from . import figures as F
from . import tables as T
from . import tender
from .compare import compare_all, period_label, unique_names
from .fonts import INSTALL_HINT, FontSetup, font_setup, web_font_subset
from .html import (
    Cell,
    Formatter,
    HtmlFigure,
    HtmlTable,
    Row,
    cell_data,
    fmt_number,
    fmt_pct,
    se_decimals,
)
from .i18n import Translator

log = logging.getLogger("fundsim.report")

TEMPLATES = Path(__file__).parent / "templates"

SECTIONS = (
    "summary",
    "funds",
    "insurer",
    "pricing",
    "cashflow",
    "claims",
    "catastrophic",
    "comparison",
    "methods",
)
"""The ids of the report's sections, in order. Every report has all of them except an
:data:`OPTIONAL_SECTIONS` one that was skipped (the cash-flow section with ``cashflow_paths=0``)."""

OPTIONAL_SECTIONS = ("cashflow",)


@dataclass
class Report:
    """A report in memory: the page, its tables and figures, and what produced it."""

    html: str
    tables: dict[str, pd.DataFrame]
    figures: dict[str, bytes]
    summary: pd.DataFrame
    """The engine's summary of the base run (what ``summary.json`` holds)."""
    manifest: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- fonts and labels


def figure_text_setup(
    lang: str, names: dict[str, dict[str, str]], fonts: FontSetup
) -> tuple[Translator, list[str]]:
    """The translator for figures and any warning: Chinese figures need a CJK font; without one
    they fall back to English labels (and scenario labels to their keys), with one warning."""
    warnings = []
    fig_lang = lang
    cjk_names = [n for kind in names.values() for n in kind.values() if not fonts.can_render(n)]
    if lang == "zh" and not fonts.has_cjk:
        fig_lang = "en"
        warnings.append(
            "no CJK font found: figure labels are in English (the page is in Chinese). "
            f"To draw Chinese in figures: {INSTALL_HINT}."
        )
    elif cjk_names:
        warnings.append(
            "no font for some characters of the scenario's labels: figures show their keys instead. "
            f"To draw them: {INSTALL_HINT}."
        )
    return Translator(fig_lang), warnings


def scenario_names(results: Sequence[SimulationResult]) -> dict[str, dict[str, str]]:
    """Display labels of funds, layers and categories (the scenario's labels, by kind and key;
    the base's label wins when a variant relabels)."""
    names: dict[str, dict[str, str]] = {"fund": {}, "layer": {}, "category": {}}
    for r in results:
        s = r.plan.scenario
        for key, fund in s.funds.items():
            names["fund"].setdefault(key, fund.label or key)
        for key, layer in s.layers.items():
            names["layer"].setdefault(key, layer.label or key)
        for key, cat in s.categories.items():
            names["category"].setdefault(key, cat.label or key)
    return names


# --------------------------------------------------------------------------- the sections


def _summary_table(
    t: Translator,
    fmt: Formatter,
    result: SimulationResult,
    table: pd.DataFrame,
    names: dict[str, dict[str, str]],
) -> HtmlTable:
    years = list(result.years)
    header = [t("col_measure"), *[str(y) for y in years]]
    rows: list[Row] = []
    funds = result.plan.scenario.funds
    for fund in [*result.plan.funds, T.POPULATION]:
        d = table[table["fund"] == fund]
        if d.empty:
            continue
        rows.append(
            Row(group=t("population") if fund == T.POPULATION else names["fund"].get(fund, fund))
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
                elif measure in ("p_deficit", "catastrophic_share"):
                    dec = 1 if measure == "p_deficit" else 2
                    sub = (
                        f"[{fmt_pct(r['q05'], dec)} – {fmt_pct(r['q95'], dec)}]"
                        if measure != "p_deficit"
                        else ""
                    )
                    cells.append(
                        Cell(fmt.prob_se(r["mean"], r["se"], dec), num=True, sub=sub, data=data)
                    )
                else:
                    sub = (
                        f"[{fmt.money(r['q05'])} – {fmt.money(r['q95'])}]"
                        if r["q95"] > r["q05"]
                        else ""
                    )
                    cells.append(
                        Cell(fmt.money_se(r["mean"], r["se"]), num=True, sub=sub, data=data)
                    )
            rows.append(Row(tuple(cells)))
    return HtmlTable("summary", header, rows)


def _layer_table(
    t: Translator, fmt: Formatter, table: pd.DataFrame, names: dict[str, dict[str, str]]
) -> HtmlTable:
    header = [
        t("col_layer"),
        t("col_fund"),
        t("col_year"),
        f"{t('col_mean')} ± {t('col_se')}",
        "5% – 95%",
    ]
    rows = [
        Row(
            (
                Cell(names["layer"].get(r.layer, r.layer)),
                Cell(names["fund"].get(r.fund, r.fund)),
                Cell(str(r.year)),
                Cell(fmt.money_se(r.mean, r.se), num=True),
                Cell(f"{fmt.money(r.q05)} – {fmt.money(r.q95)}", num=True),
            )
        )
        for r in table.itertuples()
    ]
    return HtmlTable("layers", header, rows)


def _category_table(
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
                Cell(fmt.prob_se(r.catastrophic_share_mean, r.catastrophic_share_se, 2), num=True),
            )
        )
        for r in table.itertuples()
    ]
    return HtmlTable("categories", header, rows)


def _comparison_table(
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
    for variant, d in table.groupby("variant", sort=False):
        changed = d[(d["difference"] != 0) | (d["difference_se"] != 0)]
        rows.append(Row(group=f"{t('col_variant')}: {variant}"))
        for r in changed.itertuples():
            prob = r.measure in ("p_deficit", "catastrophic_share")
            dec = 2 if r.measure == "catastrophic_share" else 1
            if prob:
                base, var = fmt_pct(r.base_mean, dec), fmt_pct(r.variant_mean, dec)
                diff = fmt.prob_se(r.difference, r.difference_se, dec)
                ind = fmt_pct(r.independent_se, se_decimals(100 * r.independent_se, dec))
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


def _mc_table(t: Translator, table: pd.DataFrame, names: dict[str, dict[str, str]]) -> HtmlTable:
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


def _exact_table(
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
    }
    rows: list[Row] = []
    for fund, d in table.groupby("fund", sort=False):
        rows.append(Row(group=names["fund"].get(str(fund), str(fund))))
        for r in d.itertuples():
            prob = r.quantity == "p_deficit"
            f = (lambda v: fmt_pct(v, 2)) if prob else fmt.money
            agrees = (
                "—"
                if r.agrees is None or (isinstance(r.agrees, float) and math.isnan(r.agrees))
                else t("yes" if r.agrees else "no")
            )
            rel = (r.mc - r.exact) / abs(r.exact) if not prob and r.exact else float("nan")
            rows.append(
                Row(
                    (
                        Cell(t(qlabel[r.quantity])),
                        Cell(f(r.exact), num=True),
                        Cell(f(r.mc), num=True),
                        Cell(f(r.mc_se), num=True),
                        Cell(f"{100 * rel:+.2f}%" if math.isfinite(rel) else "—", num=True),
                        Cell(fmt_number(r.z, 2), num=True),
                        Cell(agrees),
                    )
                )
            )
    return HtmlTable("exact", header[1:], rows)


def merge_notes(notes: list[str]) -> list[str]:
    """``fund: note`` lines with the same note merged: ``a, b: note``, in first-seen order."""
    by_text: dict[str, list[str]] = {}
    for n in notes:
        fund, _, text = n.partition(": ")
        by_text.setdefault(text or fund, []).append(fund if text else "")
    return [
        f"{', '.join(f for f in funds if f)}: {text}" if any(funds) else text
        for text, funds in by_text.items()
    ]


def _kv_table(t: Translator, items: list[tuple[str, str]], id_: str) -> HtmlTable:
    return HtmlTable(
        id_, [t("col_key"), t("col_value")], [Row((Cell(k), Cell(v))) for k, v in items]
    )


def _png_size(png: bytes) -> tuple[int, int]:
    w, h = struct.unpack(">II", png[16:24])
    return int(w), int(h)


def _pricing_section(
    t: Translator,
    fmt: Formatter,
    base: SimulationResult,
    names: dict[str, dict[str, str]],
    unit_label: str,
    tables: dict[str, pd.DataFrame],
    warnings: list[str],
) -> dict[str, Any]:
    """Tender pricing of every fund run by an insurer (:mod:`.tender`)."""
    table, failures = tender.pricing_table(base)
    tables["tender_pricing"] = table
    blocks: list[dict[str, Any]] = []
    if not T.insurer_funds(base):
        blocks.append({"kind": "note", "text": t("insurer_none")})
    for fund, reason in failures:
        message = t("pricing_unavailable", fund=names["fund"].get(fund, fund), reason=reason)
        warnings.append(message)
        blocks.append({"kind": "note", "text": message})
    if not table.empty:
        blocks.append({"kind": "table", "table": tender.pricing_html_table(t, fmt, table, names)})
    years = period_label(list(base.years))
    intro = [t("pricing_intro", paths=f"{base.n_paths:,}", years=years, unit=unit_label)]
    intro += tender.pricing_leads(t, base, table, names)
    return {"id": "pricing", "title": t("sec_pricing"), "intro": intro, "blocks": blocks}


def _cashflow_section(
    t: Translator,
    fmt: Formatter,
    base: SimulationResult,
    names: dict[str, dict[str, str]],
    unit_label: str,
    tables: dict[str, pd.DataFrame],
    warnings: list[str],
    add_figure: Callable[..., HtmlFigure],
    fig_t: Translator,
    text: F.FigureText,
    paths: int,
    funds: Sequence[str] | None,
) -> dict[str, Any]:
    """The special account's month-end balance, liquidity and the year-end settlement on paid,
    estimated and true incurred claims (:mod:`.cashflows`)."""
    cashflows, failures = CF.run_cashflows(base, paths, funds)
    k = min(paths, base.n_paths)
    balance = CF.balance_fan(cashflows)
    liquidity = CF.liquidity_table(cashflows)
    settlement = CF.settlement_table(cashflows)
    tables["cashflow_balance"] = balance
    tables["cashflow_liquidity"] = liquidity
    tables["cashflow_settlement"] = settlement
    tables["cashflow_summary"] = CF.summary_table(cashflows)
    config = base.plan.scenario.cashflow
    if config is None:
        from ..cashflow import CashflowConfig

        config = CashflowConfig()
    blocks: list[dict[str, Any]] = []
    if not CF.cashflow_funds(base, funds):
        blocks.append({"kind": "note", "text": t("cashflow_none")})
    for fund, reason in failures:
        message = t("cashflow_unavailable", fund=names["fund"].get(fund, fund), reason=reason)
        warnings.append(message)
        blocks.append({"kind": "note", "text": message})
    intro = [
        t(
            "cashflow_intro",
            k=k,
            paths=f"{base.n_paths:,}",
            one_stop=fmt_pct(config.one_stop_share, 0),
            unit=unit_label,
        )
    ]
    if cashflows:
        intro += CF.cashflow_leads(t, fmt, cashflows, names)
        blocks.append(
            {
                "kind": "figure",
                "figure": add_figure(
                    "cashflow_balance",
                    F.monthly_fan_chart(balance, fig_t("fig_cashflow"), text),
                    t("fig_cashflow"),
                    t("fig_cashflow_caption", k=k),
                ),
            }
        )
        blocks.append(
            {
                "kind": "table",
                "heading": t("liquidity_heading"),
                "table": CF.liquidity_html_table(t, fmt, liquidity, names),
            }
        )
        basis = t(f"basis_{CF.CONFIG_BASIS[config.settlement_basis.value]}")
        blocks.append(
            {
                "kind": "note",
                "heading": t("settlement_heading"),
                "text": t("settlement_intro", month=config.settlement_month, basis=basis),
            }
        )
        blocks.append(
            {"kind": "table", "table": CF.settlement_html_table(t, fmt, settlement, names)}
        )
    return {"id": "cashflow", "title": t("sec_cashflow"), "intro": intro, "blocks": blocks}


# --------------------------------------------------------------------------- building


def build_report(
    base: SimulationResult,
    variants: Sequence[SimulationResult] = (),
    *,
    lang: str = "en",
    exact: bool = True,
    variant_names: Sequence[str] | None = None,
    scenario_files: Sequence[str] | None = None,
    fonts: FontSetup | None = None,
    now: _dt.datetime | None = None,
    extra_manifest: dict[str, Any] | None = None,
    cashflow_paths: int = CF.DEFAULT_CASHFLOW_PATHS,
    cashflow_funds: Sequence[str] | None = None,
) -> Report:
    """The report of ``base`` with ``variants`` compared on common random numbers.

    ``lang``: "en" or "zh". ``exact``: add the exact method's check of the first year.
    ``scenario_files``: the files the runs came from (base first), shown in the methods appendix.
    Variants must share the base's seed, paths and years (a FundsimError says what differs).
    ``cashflow_paths``: paths of the cash-flow section (the first ``min(cashflow_paths, paths)``
    of the base run; 0 leaves the section out); ``cashflow_funds``: the funds whose account it
    follows (default: the first fund run by an insurer).
    """
    if cashflow_paths < 0:
        raise FundsimError(
            f"cash-flow paths must be 0 (no section) or more, found {cashflow_paths}"
        )
    t = Translator(lang)
    fonts = fonts or font_setup()
    now = now or _dt.datetime.now().astimezone()
    scenario = base.plan.scenario
    names = scenario_names([base, *variants])
    fig_t, warnings = figure_text_setup(lang, names, fonts)
    unit = F.money_unit(
        float(np.max(np.abs(base.money["premium"]))) if base.money["premium"].size else 0.0
    )
    fmt = Formatter(unit)
    text = F.FigureText(t=fig_t, fonts=fonts, unit=unit, names=names)
    unit_label = t(unit.key)
    vnames = (
        list(variant_names)
        if variant_names
        else unique_names([v.plan.scenario.name for v in variants])
    )

    log.info("tables: summary")
    summary = base.summary()
    tables: dict[str, pd.DataFrame] = {}
    figures: dict[str, bytes] = {}
    html_figures: dict[str, HtmlFigure] = {}

    def add_figure(fid: str, fig: Any, title: str, caption: str = "") -> HtmlFigure:
        png = F.png_bytes(fig, fonts)
        figures[fid] = png
        w, _h = _png_size(png)
        hf = HtmlFigure(fid, base64.b64encode(png).decode("ascii"), title, w, caption)
        html_figures[fid] = hf
        return hf

    director = T.director_summary(base, summary)
    tables["director_summary"] = director
    sections: list[dict[str, Any]] = []
    sections.append(
        {
            "id": "summary",
            "title": t("sec_summary"),
            "intro": [t("summary_intro", paths=f"{base.n_paths:,}", unit=unit_label)],
            "blocks": [{"kind": "table", "table": _summary_table(t, fmt, base, director, names)}],
        }
    )

    log.info("figures: fan charts")
    balance = T.fan_table(base, "balance")
    tables["balance_fan"] = balance
    insurer = T.insurer_funds(base)
    cumulative = T.fan_table(base, "insurer_cumulative", insurer)
    tables["insurer_cumulative_fan"] = cumulative
    blocks: list[dict[str, Any]] = [
        {
            "kind": "figure",
            "figure": add_figure(
                "balance_fan", F.fan_chart(balance, fig_t("fig_balance"), text), t("fig_balance")
            ),
        }
    ]
    if insurer:
        blocks.append(
            {
                "kind": "figure",
                "figure": add_figure(
                    "insurer_cumulative_fan",
                    F.fan_chart(cumulative, fig_t("fig_insurer_cumulative"), text),
                    t("fig_insurer_cumulative"),
                ),
            }
        )
    else:
        blocks.append({"kind": "note", "text": t("insurer_none")})
    sections.append(
        {"id": "funds", "title": t("sec_funds"), "intro": [t("funds_intro")], "blocks": blocks}
    )

    log.info("figures: insurer result")
    dist = T.result_distribution(base)
    tables["insurer_result_distribution"] = dist
    blocks = []
    caps = {f: T.result_base_and_cap(base, f) for f in insurer}
    if not dist.empty:
        blocks.append(
            {
                "kind": "figure",
                "figure": add_figure(
                    "insurer_result",
                    F.result_histograms(dist, fig_t("fig_result_dist"), text),
                    t("fig_result_dist"),
                ),
            }
        )
    for f in insurer:
        contract = scenario.funds[f].contract
        if caps[f] is None and contract.kind is ContractKind.COST_PLUS:
            blocks.append(
                {
                    "kind": "note",
                    "text": t(
                        "insurer_costplus",
                        fund=names["fund"].get(f, f),
                        rate=fmt_pct(contract.management_rate, 1),
                    ),
                }
            )
    if not insurer:
        blocks.append({"kind": "note", "text": t("insurer_none")})
    cap_text = (
        ", ".join(f"{names['fund'].get(f, f)}: {fmt_pct(c[1], 1)}" for f, c in caps.items() if c)
        or "—"
    )
    sections.append(
        {
            "id": "insurer",
            "title": t("sec_insurer"),
            "intro": [t("insurer_intro", base=t("base_premium"), cap=cap_text)],
            "blocks": blocks,
        }
    )

    log.info("tender pricing")
    sections.append(_pricing_section(t, fmt, base, names, unit_label, tables, warnings))
    if cashflow_paths > 0:
        log.info("cash flows: %d path(s)", min(cashflow_paths, base.n_paths))
        sections.append(
            _cashflow_section(
                t,
                fmt,
                base,
                names,
                unit_label,
                tables,
                warnings,
                add_figure,
                fig_t,
                text,
                cashflow_paths,
                cashflow_funds,
            )
        )

    log.info("figures: claims by layer and category")
    layers = T.layer_table(base)
    cats = T.category_table(base)
    tables["claims_by_layer"] = layers
    tables["claims_by_category"] = cats
    sections.append(
        {
            "id": "claims",
            "title": t("sec_claims"),
            "intro": [t("claims_intro", unit=unit_label)],
            "blocks": [
                {
                    "kind": "figure",
                    "figure": add_figure(
                        "claims_by_layer",
                        F.layer_bars(layers, fig_t("fig_layers"), text),
                        t("fig_layers"),
                    ),
                },
                {"kind": "table", "table": _layer_table(t, fmt, layers, names)},
                {
                    "kind": "figure",
                    "figure": add_figure(
                        "claims_by_category",
                        F.category_bars(cats, fig_t("fig_categories"), text),
                        t("fig_categories"),
                    ),
                },
            ],
        }
    )
    sections.append(
        {
            "id": "catastrophic",
            "title": t("sec_catastrophic"),
            "intro": [
                t("catastrophic_intro", share=fmt_pct(scenario.economy.catastrophic_share, 0))
            ],
            "blocks": [
                {
                    "kind": "figure",
                    "figure": add_figure(
                        "catastrophic",
                        F.catastrophic_bars(cats, fig_t("fig_catastrophic"), text),
                        t("fig_catastrophic"),
                    ),
                },
                {"kind": "table", "table": _category_table(t, fmt, cats, names)},
            ],
        }
    )

    log.info("comparison: %d variant(s)", len(variants))
    blocks = []
    if variants:
        comparison = compare_all(base, list(variants), vnames)
        tables["comparison"] = comparison
        horizon = period_label(list(base.years))
        main = comparison[comparison["period"] == horizon]
        blocks.append(
            {
                "kind": "table",
                "heading": f"{t('col_period')}: {horizon}",
                "table": _comparison_table(t, fmt, main, names, "comparison", show_period=False),
            }
        )
        blocks.append(
            {
                "kind": "figure",
                "figure": add_figure(
                    "tornado",
                    F.tornado(comparison, horizon, text),
                    t("fig_tornado", period=horizon),
                ),
            }
        )
        by_year = comparison[comparison["period"] != horizon]
        if not by_year.empty:
            blocks.append(
                {
                    "kind": "table",
                    "collapsed": f"{t('col_period')}: {', '.join(str(y) for y in base.years)}",
                    "table": _comparison_table(
                        t, fmt, by_year, names, "comparison-by-year", show_period=True
                    ),
                }
            )
        intro = [t("comparison_intro", unit=unit_label)]
    else:
        intro = [t("no_variants")]
    sections.append(
        {"id": "comparison", "title": t("sec_comparison"), "intro": intro, "blocks": blocks}
    )

    log.info("methods appendix")
    mc = T.mc_error_table(summary)
    tables["mc_errors"] = mc
    blocks = []
    resolved = scenario_table(scenario)
    files = list(scenario_files or [])
    info_items = [
        (
            t("info_scenario"),
            f"{scenario.name} — {scenario.title}" if scenario.title else scenario.name,
        ),
        *([(t("info_file"), files[0])] if files else []),
        (t("info_seed"), str(base.info.seed)),
        (t("info_paths"), f"{base.n_paths:,}"),
        (t("info_years"), ", ".join(str(y) for y in base.years)),
        (t("info_version"), __version__),
        (t("info_commit"), git_commit() or "—"),
        (t("info_sha"), scenario_hash(resolved)),
        (t("info_runtime"), f"{sum(base.info.timings.values()):.1f} s ({base.info.runner})"),
        *([(t("info_variants"), ", ".join(vnames))] if variants else []),
        (t("info_cashflow_paths"), str(min(cashflow_paths, base.n_paths))),
        (t("info_lang"), lang),
    ]
    tables["run_info"] = pd.DataFrame(info_items, columns=["item", "value"])
    blocks.append(
        {"kind": "table", "heading": t("run_info"), "table": _kv_table(t, info_items, "run-info")}
    )
    blocks.append({"kind": "note", "text": t("mc_errors_intro")})
    blocks.append({"kind": "table", "collapsed": t("col_se"), "table": _mc_table(t, mc, names)})
    if exact:
        log.info("exact method: first year")
        ex, notes, failures = T.exact_check(base, summary)
        notes = [t("exact_unavailable", reason=n) for n in failures] + merge_notes(notes)
    else:
        ex, notes = (
            pd.DataFrame(
                columns=["fund", "year", "quantity", "exact", "mc", "mc_se", "z", "agrees"]
            ),
            [t("exact_skipped")],
        )
    tables["exact_check"] = ex
    blocks.append({"kind": "note", "text": t("exact_intro", unit=unit_label)})
    if not ex.empty:
        blocks.append({"kind": "table", "table": _exact_table(t, fmt, ex, names)})
    if notes:
        blocks.append({"kind": "notes", "heading": t("exact_notes"), "lines": notes})
    if warnings:
        blocks.append({"kind": "notes", "heading": t("warnings"), "lines": warnings})
    blocks.append(
        {
            "kind": "pre",
            "heading": f"{t('resolved_scenario')}: {scenario.name}",
            "text": dumps_toml(resolved),
        }
    )
    for v, n in zip(variants, vnames, strict=True):
        blocks.append(
            {
                "kind": "pre",
                "heading": f"{t('resolved_scenario')}: {n}",
                "text": dumps_toml(scenario_table(v.plan.scenario)),
            }
        )
    sections.append(
        {
            "id": "methods",
            "title": t("sec_methods"),
            "intro": [t("methods_intro")],
            "blocks": blocks,
        }
    )

    doc = manifest(
        resolved,
        seed=base.info.seed,
        paths=base.n_paths,
        years=base.info.years,
        block_paths=base.info.block_paths,
        runner=base.info.runner,
        timings_s=base.info.timings,
        lang=lang,
        fonts=fonts.source,
        scenario_files=files,
        variants=[
            {"name": n, "scenario_sha256": scenario_hash(scenario_table(v.plan.scenario))}
            for v, n in zip(variants, vnames, strict=True)
        ],
        generated=now.isoformat(timespec="seconds"),
        **{
            "cashflow_paths": min(cashflow_paths, base.n_paths),
            "cashflow_funds": list(cashflow_funds) if cashflow_funds is not None else None,
            **(extra_manifest or {}),
        },
    )

    log.info("rendering HTML")
    html = render_html(
        t,
        sections,
        title=scenario.title or scenario.name,
        description=scenario.description,
        generated=t(
            "generated",
            when=now.strftime("%Y-%m-%d %H:%M"),
            version=__version__,
            paths=f"{base.n_paths:,}",
            seed=base.info.seed,
            years=len(base.years),
        ),
        warnings=warnings,
        fonts=fonts,
    )
    return Report(
        html=html, tables=tables, figures=figures, summary=summary, manifest=doc, warnings=warnings
    )


def render_html(t: Translator, sections: list[dict[str, Any]], **context: Any) -> str:
    """Render the page template (Jinja2, autoescape on)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    template = env.get_template("report.html.j2")
    blank = {"heading": "", "collapsed": "", "table": None, "figure": None, "text": "", "lines": []}
    sections = [{**sec, "blocks": [{**blank, **b} for b in sec["blocks"]]} for sec in sections]
    fonts: FontSetup | None = context.pop("fonts", None)
    title = context.pop("title")

    def render(font_face: str | None) -> str:
        return template.render(
            t=t,
            html_lang=t.html_lang,
            page_title=t("report_title", title=title),
            version=__version__,
            sections=sections,
            font_face=font_face,
            **context,
        )

    html = render(None)
    face = web_font_subset(html, fonts) if fonts is not None else None
    return render(face) if face else html


# --------------------------------------------------------------------------- writing


def _sheet_name(name: str, used: set[str]) -> str:
    bad = "[]:*?/\\"
    base = "".join("_" if c in bad else c for c in name)[:31]
    out, i = base, 2
    while out.lower() in used:
        suffix = f"_{i}"
        out, i = base[: 31 - len(suffix)] + suffix, i + 1
    used.add(out.lower())
    return out


def write_workbook(tables: dict[str, pd.DataFrame], path: Path) -> None:
    """One sheet per table (openpyxl). Text cells are written as text, never as formulas."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for name, df in tables.items():
        ws = wb.create_sheet(_sheet_name(name, used))
        ws.append([str(c) for c in df.columns])
        for row in df.itertuples(index=False):
            values = []
            for v in row:
                if isinstance(v, np.generic):
                    v = v.item()
                if isinstance(v, float) and not math.isfinite(v):
                    v = None
                values.append(v)
            ws.append(values)
        for col in ws.iter_cols(min_row=2):
            for cell in col:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"
        for i, c in enumerate(df.columns, start=1):
            ws.column_dimensions[get_column_letter(i)].width = max(10, min(40, len(str(c)) + 2))
        ws.freeze_panes = "A2"
    wb.save(path)


def write_report(
    report: Report, out: str | Path, log_text: Callable[[], str] | None = None
) -> Path:
    """Write ``report`` into the folder ``out`` atomically (see the module docstring)."""
    out = Path(out)
    with atomic_dir(out) as tmp:
        (tmp / "index.html").write_text(report.html, encoding="utf-8")
        for name, df in report.tables.items():
            escape_formulas(df).to_csv(tmp / f"{name}.csv", index=False)
        write_workbook(report.tables, tmp / "report.xlsx")
        (tmp / "figures").mkdir()
        for fid, png in report.figures.items():
            (tmp / "figures" / f"{fid}.png").write_bytes(png)
        (tmp / "summary.json").write_text(
            json.dumps(summary_records(report.summary), indent=1, ensure_ascii=False),
            encoding="utf-8",
        )
        report.summary.to_csv(tmp / "summary.csv", index=False)
        (tmp / "manifest.json").write_text(
            json.dumps(report.manifest, indent=1, ensure_ascii=False, default=str), encoding="utf-8"
        )
        if log_text is not None:
            log.info("report complete: %s", display_path(out))
            (tmp / "report.log").write_text(log_text(), encoding="utf-8")
    return out
