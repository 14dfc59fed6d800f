"""The report's tender pricing section (issue 7): what an insurer bidding for a contract would ask.

The numbers are :func:`simulation.pricing.pricing_summary` of each fund run by an insurer, computed
on the report's base run (its seed, paths and years: the pricing horizon is every year of the run);
this module only stacks them into one table (``fund, measure, value, se, unit``: the CSV and the
workbook sheet ``tender_pricing``), labels them in the report's language and writes the
plain-language lead: the break-even financing is above the expected claims plus operating cost,
because the upside is capped (surplus above the cap is clawed back) and the downside open.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import pandas as pd

from ..engine.result import SimulationResult
from ..errors import FundsimError
from ..pricing import pricing_summary
from ..scenario.schema import ContractKind
from . import tables as T
from .html import Cell, Formatter, HtmlTable, Row, cell_data, fmt_number, fmt_pct, se_decimals
from .i18n import Translator
from .precision import bounded_probability, paths_needed, supports

PRICING_COLUMNS = ["fund", "measure", "value", "se", "unit"]

# the measures of pricing_summary, by their text there
BREAK_EVEN = "break-even financing per head"
COST_PER_HEAD = "expected claims + operating cost per head"
GAP = "gap: what the profit cap costs"
SCENARIO_FINANCING = "scenario financing per head"
COSTPLUS_RATE = "break-even management rate"

FIXED_LABELS = {
    SCENARIO_FINANCING: "pm_scenario_financing",
    "expected net result at it (term)": "pm_result",
    "probability of a loss at it (term)": "pm_p_loss",
    "expected clawback given up at it (term)": "pm_clawback",
    COSTPLUS_RATE: "pm_costplus_rate",
    "expected claims per head": "pm_claims_ph",
    COST_PER_HEAD: "pm_cost_ph",
    BREAK_EVEN: "pm_break_even",
    GAP: "pm_gap",
}
PATTERN_LABELS: tuple[tuple[re.Pattern[str], Callable[[Translator, re.Match[str]], str]], ...] = (
    (re.compile(r"^VaR (\S+%) at it \(term\)$"), lambda t, m: t("pm_var", level=m[1])),
    (re.compile(r"^TVaR (\S+%) at it \(term\)$"), lambda t, m: t("pm_tvar", level=m[1])),
    (
        re.compile(r"^financing for a (\S+%) expected margin$"),
        lambda t, m: t("pm_margin", margin=m[1]),
    ),
    (re.compile(r"^financing for P\(loss\) <= (\S+%)$"), lambda t, m: t("pm_loss_prob", p=m[1])),
    (
        re.compile(r"^paths for \+-(\S+) yuan \((\S+%)\) on break-even$"),
        lambda t, m: t("pm_paths", width=m[1], conf=m[2]),
    ),
)


def pricing_label(t: Translator, measure: str) -> str:
    """The display label of a :func:`~simulation.pricing.pricing_summary` measure; a measure this
    module does not know is shown as it is."""
    if measure in FIXED_LABELS:
        return t(FIXED_LABELS[measure])
    for pattern, label in PATTERN_LABELS:
        m = pattern.match(measure)
        if m:
            return label(t, m)
    return measure


def pricing_table(result: SimulationResult) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """:func:`~simulation.pricing.pricing_summary` of every fund run by an insurer on ``result``,
    stacked: columns fund, measure, value, se, unit (NaN where there is no SE). Returns the table
    and the funds it could not price with the reason (``(fund, reason)``), which the report shows
    instead of failing."""
    scenario = result.plan.scenario
    frames = []
    failures: list[tuple[str, str]] = []
    for fund in T.insurer_funds(result):
        try:
            df = pricing_summary(scenario, fund, result)
        except FundsimError as e:
            failures.append((fund, str(e)))
            continue
        except (ValueError, ArithmeticError) as e:  # a numerical failure of a solve
            failures.append((fund, f"{type(e).__name__}: {e}"))
            continue
        df = df.copy()
        df.insert(0, "fund", fund)
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=PRICING_COLUMNS), failures
    out = pd.concat(frames, ignore_index=True)[PRICING_COLUMNS]
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype(float)
    out["se"] = pd.to_numeric(out["se"], errors="coerce").astype(float)
    return out, failures


TAIL_MEASURE = re.compile(r"^T?VaR (\S+)% at it \(term\)$")


def tail_level(measure: str) -> float | None:
    """The level of a VaR or TVaR measure (0.995 for "VaR 99.5% at it (term)"), else None."""
    m = TAIL_MEASURE.match(measure)
    return float(m[1]) / 100 if m else None


def _value_text(fmt: Formatter, unit: str, value: float, se: float) -> tuple[str, str]:
    """(value, SE) as shown for a row of ``unit``."""
    finite_se = se is not None and math.isfinite(se)
    if unit == "yuan per head":
        return fmt_number(value, 2), (fmt_number(se, se_decimals(se, 2)) if finite_se else "—")
    if unit in ("yuan", "yuan (loss)"):
        v = fmt.money(value)
        if not finite_se:
            return v, "—"
        s = float(fmt.unit(se))
        return v, fmt_number(s, se_decimals(s, 2 if abs(s) < 10 else 0))
    if unit in ("probability", "fraction of claims"):
        d = 1 if unit == "probability" else 2
        return fmt_pct(value, d), fmt_pct(se, se_decimals(100 * se, d)) if finite_se else "—"
    if unit == "paths":
        return fmt_number(value, 0), "—"
    return fmt_number(value), fmt_number(se) if finite_se else "—"


def _unit_text(t: Translator, fmt: Formatter, unit: str) -> str:
    money = t(fmt.unit.key)
    return {
        "yuan per head": t("pu_yuan_per_head"),
        "yuan": money,
        "yuan (loss)": t("pu_loss", unit=money),
        "probability": t("pu_probability"),
        "fraction of claims": t("pu_fraction_of_claims"),
        "paths": t("pu_paths"),
    }.get(unit, unit)


def pricing_html_table(
    t: Translator, fmt: Formatter, table: pd.DataFrame, names: dict[str, dict[str, str]]
) -> HtmlTable:
    """Grouped by fund: measure, value, SE, unit. Each value cell carries ``data-fund``,
    ``data-pricing`` (the measure), ``data-value`` and ``data-se`` (the unrounded numbers)."""
    header = [t("col_measure"), t("col_value"), t("col_se"), t("col_unit")]
    rows: list[Row] = []
    for fund, d in table.groupby("fund", sort=False):
        rows.append(Row(group=names["fund"].get(str(fund), str(fund))))
        for r in d.itertuples():
            value, se = _value_text(fmt, r.unit, r.value, r.se)
            data = cell_data(fund=fund, pricing=r.measure, value=float(r.value), se=float(r.se))
            level = tail_level(r.measure)
            muted = level is not None and bool(fmt.paths) and not supports(level, fmt.paths)
            if muted:
                value, se = t("needs_paths", n=f"{paths_needed(level):,}"), ""
            elif r.unit == "probability":
                value = bounded_probability(r.value, r.se, fmt.paths) or value
            rows.append(
                Row(
                    (
                        Cell(pricing_label(t, r.measure)),
                        Cell(value, num=True, data=data, muted=muted),
                        Cell(se, num=True),
                        Cell(_unit_text(t, fmt, r.unit)),
                    )
                )
            )
    return HtmlTable("pricing", header, rows)


def pricing_leads(
    t: Translator,
    result: SimulationResult,
    table: pd.DataFrame,
    names: dict[str, dict[str, str]],
) -> list[str]:
    """One plain-language sentence per priced fund: expected cost per head, break-even financing
    and the gap (premium contracts), or the break-even management rate (cost-plus)."""
    funds = result.plan.scenario.funds
    out = []
    for fund, d in table.groupby("fund", sort=False):
        v = dict(zip(d["measure"], d["value"], strict=True))
        s = dict(zip(d["measure"], d["se"], strict=True))
        name = names["fund"].get(str(fund), str(fund))
        contract = funds[str(fund)].contract
        if ContractKind(contract.kind) is ContractKind.COST_PLUS and COSTPLUS_RATE in v:
            out.append(t("pricing_lead_costplus", fund=name, rate=fmt_pct(v[COSTPLUS_RATE], 2)))
            continue
        if not {BREAK_EVEN, COST_PER_HEAD, GAP, SCENARIO_FINANCING} <= v.keys():
            continue
        be, se = v[BREAK_EVEN], s[BREAK_EVEN]
        be_text = fmt_number(be, 2)
        if math.isfinite(se) and se > 0:
            be_text += f" ± {fmt_number(se, se_decimals(se, 2))}"
        out.append(
            t(
                "pricing_lead",
                fund=name,
                cost=fmt_number(v[COST_PER_HEAD], 2),
                be=be_text,
                gap=fmt_number(v[GAP], 2),
                cap=fmt_pct(contract.profit_cap_rate, 1),
                fin=fmt_number(v[SCENARIO_FINANCING], 2),
            )
        )
    return out


__all__ = [
    "PRICING_COLUMNS",
    "pricing_html_table",
    "pricing_label",
    "pricing_leads",
    "pricing_table",
]
