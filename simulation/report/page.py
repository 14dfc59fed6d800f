"""The report's sections: the numbers of :mod:`.numbers` laid out as the page's blocks.

:func:`render_sections` turns a :class:`~.numbers.ReportNumbers` into the list of sections the
template renders (each ``{"id", "title", "intro", "blocks"}``, a block being a table, a figure, a
note, notes or preformatted text), drawing the figures through the context's ``add_figure``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..engine.result import SimulationResult
from ..scenario.schema import ContractKind
from . import bidcurve as BC
from . import cashflows as CF
from . import figures as F
from . import sections as S
from . import tender
from .appendix import glossary_terms, methods_section
from .compare import period_label
from .context import PageContext
from .display import balance_note
from .html import fmt_pct
from .keyfacts import key_messages, segments
from .numbers import ReportNumbers, log


def summary_section(
    c: PageContext, base: SimulationResult, n: ReportNumbers, lang: str
) -> dict[str, Any]:
    """Key messages in sentences (terms linked to the glossary), then the table by year."""
    t = c.t
    director = n.tables["director_summary"]
    scenario = base.plan.scenario
    notes = {f: balance_note(scenario, f, lang) for f in base.plan.funds}
    notes = {f: f"{t('balance_note_label')}: {v}" for f, v in notes.items() if v}
    messages = key_messages(t, c.fmt, base, n.tables["key_figures"], c.names, lang)
    return {
        "id": "summary",
        "title": t("sec_summary"),
        "intro": [t("summary_intro", paths=f"{base.n_paths:,}", unit=c.unit_label)],
        "blocks": [
            {
                "kind": "messages",
                "heading": t("key_messages"),
                "lines": [segments(m) for m in messages],
                "terms": glossary_terms(t),
            },
            {
                "kind": "table",
                "table": S.summary_table(t, c.fmt, base, director, c.names, notes),
            },
        ],
    }


def funds_section(c: PageContext, n: ReportNumbers) -> dict[str, Any]:
    t, fig_t = c.t, c.fig_t
    log.info("figures: fan charts")
    blocks: list[dict[str, Any]] = [
        {
            "kind": "figure",
            "figure": c.add_figure(
                "balance_fan",
                F.fan_chart(n.tables["balance_fan"], fig_t("fig_balance"), c.text),
                t("fig_balance"),
            ),
        }
    ]
    if n.insurer:
        blocks.append(
            {
                "kind": "figure",
                "figure": c.add_figure(
                    "insurer_cumulative_fan",
                    F.fan_chart(
                        n.tables["insurer_cumulative_fan"],
                        fig_t("fig_insurer_cumulative"),
                        c.text,
                    ),
                    t("fig_insurer_cumulative"),
                ),
            }
        )
    else:
        blocks.append({"kind": "note", "text": t("insurer_none")})
    return {"id": "funds", "title": t("sec_funds"), "intro": [t("funds_intro")], "blocks": blocks}


def insurer_section(c: PageContext, base: SimulationResult, n: ReportNumbers) -> dict[str, Any]:
    t, names = c.t, c.names
    log.info("figures: insurer result")
    scenario = base.plan.scenario
    dist = n.tables["insurer_result_distribution"]
    blocks: list[dict[str, Any]] = []
    if not dist.empty:
        blocks.append(
            {
                "kind": "figure",
                "figure": c.add_figure(
                    "insurer_result",
                    F.result_histograms(dist, c.fig_t("fig_result_dist"), c.text),
                    t("fig_result_dist"),
                ),
            }
        )
    for f in n.insurer:
        contract = scenario.funds[f].contract
        if n.caps[f] is None and contract.kind is ContractKind.COST_PLUS:
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
    if not n.insurer:
        blocks.append({"kind": "note", "text": t("insurer_none")})
    cap_text = (
        ", ".join(
            f"{names['fund'].get(f, f)}: {fmt_pct(cap[1], 1)}" for f, cap in n.caps.items() if cap
        )
        or "—"
    )
    return {
        "id": "insurer",
        "title": t("sec_insurer"),
        "intro": [t("insurer_intro", base=t("base_premium"), cap=cap_text)],
        "blocks": blocks,
    }


def pricing_section(c: PageContext, base: SimulationResult, n: ReportNumbers) -> dict[str, Any]:
    """Tender pricing of every fund run by an insurer (:mod:`.tender`)."""
    t, names = c.t, c.names
    table = n.tables["tender_pricing"]
    blocks: list[dict[str, Any]] = []
    if not n.insurer:
        blocks.append({"kind": "note", "text": t("insurer_none")})
    for fund, reason in n.pricing_failures:
        message = t("pricing_unavailable", fund=names["fund"].get(fund, fund), reason=reason)
        c.warnings.append(message)
        blocks.append({"kind": "note", "text": message})
    if not table.empty:
        blocks.append({"kind": "table", "table": tender.pricing_html_table(t, c.fmt, table, names)})
    for fund, curve in n.bid_curves.items():
        contract = base.plan.scenario.funds[fund].contract
        mark = BC.marks(table, fund)
        label = {m: tender.pricing_label(c.fig_t, m) for m in mark}
        name = names["fund"].get(fund, fund)
        why = BC.margin_sentence(
            t, name, mark, contract.profit_cap_rate or 0.0, contract.operating_cost_rate or 0.0
        )
        blocks.append(
            {
                "kind": "figure",
                "figure": c.add_figure(
                    f"bid_curve_{fund}",
                    BC.bid_curve_figure(
                        curve,
                        mark,
                        label,
                        c.fig_t("fig_bid_curve", fund=c.text.name("fund", fund, 60)),
                        c.text,
                    ),
                    t("fig_bid_curve", fund=name),
                    why,
                ),
            }
        )
    years = period_label(list(base.years))
    intro = [t("pricing_intro", paths=f"{base.n_paths:,}", years=years, unit=c.unit_label)]
    intro += tender.pricing_leads(t, base, table, names)
    return {"id": "pricing", "title": t("sec_pricing"), "intro": intro, "blocks": blocks}


def cashflow_section(
    c: PageContext,
    base: SimulationResult,
    n: ReportNumbers,
    paths: int,
    funds: Sequence[str] | None,
) -> dict[str, Any]:
    """The special account's month-end balance, liquidity and the year-end settlement on paid,
    estimated and true incurred claims (:mod:`.cashflows`)."""
    t, fmt, names = c.t, c.fmt, c.names
    cashflows = n.cashflows or {}
    k = min(paths, base.n_paths)
    balance = n.tables["cashflow_balance"]
    liquidity = n.tables["cashflow_liquidity"]
    settlement = n.tables["cashflow_settlement"]
    config = base.plan.scenario.cashflow
    if config is None:
        from ..cashflow import CashflowConfig

        config = CashflowConfig()
    blocks: list[dict[str, Any]] = []
    if not CF.cashflow_funds(base, funds):
        blocks.append({"kind": "note", "text": t("cashflow_none")})
    for fund, reason in n.cashflow_failures:
        message = t("cashflow_unavailable", fund=names["fund"].get(fund, fund), reason=reason)
        c.warnings.append(message)
        blocks.append({"kind": "note", "text": message})
    intro = [
        t(
            "cashflow_intro",
            k=k,
            paths=f"{base.n_paths:,}",
            one_stop=fmt_pct(config.one_stop_share, 0),
            unit=c.unit_label,
        )
    ]
    if cashflows:
        intro += CF.cashflow_leads(t, fmt, cashflows, names)
        blocks.append(
            {
                "kind": "figure",
                "figure": c.add_figure(
                    "cashflow_balance",
                    F.monthly_fan_chart(balance, c.fig_t("fig_cashflow"), c.text),
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


def claims_sections(
    c: PageContext, base: SimulationResult, n: ReportNumbers
) -> list[dict[str, Any]]:
    """The claims by layer and category, and the catastrophic out-of-pocket cost."""
    t, fig_t, fmt, names = c.t, c.fig_t, c.fmt, c.names
    log.info("figures: claims by layer and category")
    layers = n.tables["claims_by_layer"]
    cats = n.tables["claims_by_category"]
    scenario = base.plan.scenario
    claims = {
        "id": "claims",
        "title": t("sec_claims"),
        "intro": [t("claims_intro", unit=c.unit_label)],
        "blocks": [
            {
                "kind": "figure",
                "figure": c.add_figure(
                    "claims_by_layer",
                    F.layer_bars(layers, fig_t("fig_layers"), c.text),
                    t("fig_layers"),
                ),
            },
            {"kind": "table", "table": S.layer_table(t, fmt, layers, names)},
            {
                "kind": "figure",
                "figure": c.add_figure(
                    "claims_by_category",
                    F.category_bars(cats, fig_t("fig_categories"), c.text),
                    t("fig_categories"),
                ),
            },
        ],
    }
    catastrophic = {
        "id": "catastrophic",
        "title": t("sec_catastrophic"),
        "intro": [t("catastrophic_intro", share=fmt_pct(scenario.economy.catastrophic_share, 0))],
        "blocks": [
            {
                "kind": "figure",
                "figure": c.add_figure(
                    "catastrophic",
                    F.catastrophic_bars(cats, fig_t("fig_catastrophic"), c.text),
                    t("fig_catastrophic"),
                ),
            },
            {"kind": "table", "table": S.category_table(t, fmt, cats, names)},
        ],
    }
    return [claims, catastrophic]


def comparison_section(c: PageContext, base: SimulationResult, n: ReportNumbers) -> dict[str, Any]:
    t, fmt, names = c.t, c.fmt, c.names
    blocks: list[dict[str, Any]] = []
    comparison = n.tables.get("comparison")
    if comparison is not None:
        horizon = period_label(list(base.years))
        main = comparison[comparison["period"] == horizon]
        blocks.append(
            {
                "kind": "note",
                "heading": t("changed_most"),
                "text": t("changed_most_intro", period=horizon),
            }
        )
        blocks.append(
            {"kind": "table", "table": S.changed_most_table(t, fmt, comparison, names, horizon)}
        )
        blocks.append(
            {
                "kind": "table",
                "heading": f"{t('col_period')}: {horizon}",
                "table": S.comparison_table(t, fmt, main, names, "comparison", show_period=False),
            }
        )
        blocks.append(
            {
                "kind": "figure",
                "figure": c.add_figure(
                    "tornado",
                    F.tornado(comparison, horizon, c.text),
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
                    "table": S.comparison_table(
                        t, fmt, by_year, names, "comparison-by-year", show_period=True
                    ),
                }
            )
        intro = [t("comparison_intro", unit=c.unit_label)]
    else:
        intro = [t("no_variants")]
    return {"id": "comparison", "title": t("sec_comparison"), "intro": intro, "blocks": blocks}


def render_sections(
    c: PageContext,
    base: SimulationResult,
    variants: Sequence[SimulationResult],
    vnames: Sequence[str],
    n: ReportNumbers,
    *,
    files: list[str],
    cashflow_paths: int,
    cashflow_funds: Sequence[str] | None,
    lang: str,
) -> list[dict[str, Any]]:
    """Every section of the page, in :data:`~.build.SECTIONS` order."""
    sections = [summary_section(c, base, n, lang), funds_section(c, n), insurer_section(c, base, n)]
    sections.append(pricing_section(c, base, n))
    if n.cashflows is not None:
        sections.append(cashflow_section(c, base, n, cashflow_paths, cashflow_funds))
    sections += claims_sections(c, base, n)
    sections.append(comparison_section(c, base, n))
    sections.append(
        methods_section(
            c, base, variants, vnames, n, files=files, cashflow_paths=cashflow_paths, lang=lang
        )
    )
    return sections
