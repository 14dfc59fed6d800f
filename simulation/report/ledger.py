"""The report's "since the last forecast" section (``fundsim report ... --against REF``).

Built from two :class:`~simulation.history.ledger.Forecast` s: how each headline number (claims,
insurer result, clawback, balance; per fund and year, means) moved since the earlier forecast, with
the change's standard error, and which inputs changed: the resolved scenarios' key paths whose
values differ, and any change of seed, paths, years or method. The section's tables also go into
the report's CSV files and workbook (``against_movements``, ``against_inputs``).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from ..history.ledger import MISSING, Forecast, diff_scenarios, movements, run_changes
from .html import Cell, HtmlTable, Row, fmt_number
from .i18n import MESSAGES, Translator

SECTION_ID = "ledger"
MAX_CHANGES_SHOWN = 200

TEXT = {
    "en": {
        "title": "Since the earlier forecast",
        "intro": "Against forecast {label}: how each headline number moved (means, yuan; the "
        "change's standard error treats the two runs as independent) and which inputs changed.",
        "moves": "Headline numbers",
        "inputs": "Inputs that changed",
        "none": "No input changed: same resolved scenario, seed, paths, years and method.",
        "header_moves": ["fund", "year", "measure", "before", "now", "change", "change %", "± se"],
        "header_inputs": ["input (key path)", "before", "now"],
        "label": "{ident}{name} as of {as_of}, made {created}{where}",
    },
    "zh": {
        "title": "与上次预测相比",
        "intro": "对照预测 {label}：各主要数字的变动（均值，元；变动的标准误按两次独立运行计算）及输入的变化。",
        "moves": "主要数字",
        "inputs": "变化的输入",
        "none": "输入无变化：情景、随机种子、路径数、年数和方法相同。",
        "header_moves": ["基金", "年度", "指标", "此前", "现在", "变动", "变动 %", "± 标准误"],
        "header_inputs": ["输入（键路径）", "此前", "现在"],
        "label": "{ident}{name}（预测基准日 {as_of}，生成于 {created}{where}）",
    },
}
RUN_SETTINGS_ZH = {"seed": "随机种子", "paths": "路径数", "years": "年数", "method": "方法"}
METHODS_ZH = {"full": "完整模拟", "fast": "快速方法", "monte_carlo": "蒙特卡洛模拟"}


def forecast_label(f: Forecast, lang: str = "en") -> str:
    """How the section names a forecast: ``#3 henan as of 2026-11-30, made ... (reports/x)``."""
    if lang != "zh":
        return f.label()
    where = f"，{f.output}" if f.output else ""
    ident = f"#{f.id} " if f.id is not None else ""
    return TEXT["zh"]["label"].format(
        ident=ident, name=f.scenario_name, as_of=f.as_of, created=f.created or "?", where=where
    )


def measure_label(measure: str, lang: str) -> str:
    """A ledger measure (``claims``, ``balance``...) by its report message in ``lang``."""
    return Translator(lang)(measure) if measure in MESSAGES else measure


def _show(v: Any) -> str:
    if isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False, default=str)


def input_changes(before: Forecast, after: Forecast) -> pd.DataFrame:
    """Columns ``input, before, after``: run settings first, then scenario key paths."""
    rows = [
        {"input": c.path, "before": _show(c.before), "after": _show(c.after)}
        for c in [*run_changes(before, after), *diff_scenarios(before.scenario, after.scenario)]
    ]
    return pd.DataFrame(rows, columns=["input", "before", "after"])


def _input_row(path: str, before: str, after: str, lang: str) -> Row:
    """A changed input: a run setting by name (in ``lang``), a scenario key path and its values
    as code."""
    if path in RUN_SETTINGS_ZH:
        show = (lambda v: METHODS_ZH.get(v, v)) if lang == "zh" else (lambda v: v)
        name = RUN_SETTINGS_ZH[path] if lang == "zh" else path
        return Row((Cell(name), Cell(show(before)), Cell(show(after))))

    def value(v: str) -> Cell:
        if v == MISSING:
            return Cell("（无）" if lang == "zh" else "absent")
        return Cell(v, code=True)

    return Row((Cell(path, code=True), value(before), value(after)))


def against_section(
    before: Forecast,
    after: Forecast,
    lang: str = "en",
    names: dict[str, dict[str, str]] | None = None,
) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """The section (for :func:`~simulation.report.build_report`'s ``extra_sections``) and its
    tables. ``names``: display labels of funds (:func:`~simulation.report.display.scenario_names`
    in ``lang``). Scenario key paths and values are shown as code, as in the scenario file."""
    t = TEXT.get(lang, TEXT["en"])
    funds = (names or {}).get("fund", {})
    moves = movements(before, after)
    inputs = input_changes(before, after)
    move_rows = [
        Row(
            (
                Cell(funds.get(str(r.fund), str(r.fund))),
                Cell(str(r.year)),
                Cell(measure_label(str(r.measure), lang)),
                Cell(fmt_number(r.before), num=True),
                Cell(fmt_number(r.after), num=True),
                Cell(fmt_number(r.change), num=True),
                Cell(fmt_number(r.change_pct, 1), num=True),
                Cell(fmt_number(r.change_se), num=True),
            )
        )
        for r in moves.itertuples(index=False)
    ]
    blocks: list[dict[str, Any]] = [
        {
            "kind": "table",
            "heading": t["moves"],
            "table": HtmlTable("against-movements", t["header_moves"], move_rows),
        }
    ]
    if inputs.empty:
        blocks.append({"kind": "note", "heading": t["inputs"], "text": t["none"]})
    else:
        shown = inputs.head(MAX_CHANGES_SHOWN)
        rows = [
            _input_row(str(r.input), str(r.before), str(r.after), lang)
            for r in shown.itertuples(index=False)
        ]
        blocks.append(
            {
                "kind": "table",
                "heading": t["inputs"],
                "table": HtmlTable("against-inputs", t["header_inputs"], rows),
            }
        )
    section = {
        "id": SECTION_ID,
        "title": t["title"],
        "intro": [t["intro"].format(label=forecast_label(before, lang))],
        "blocks": blocks,
    }
    return section, {"against_movements": moves, "against_inputs": inputs}


BACKTEST_TEXT = {
    "en": {
        "title": "Back-test on the settled years",
        "intro": "Calibrated on the settled years before each year of {history} (fund {fund}), "
        "each year forecast one to three years ahead and scored against what happened: PIT (the "
        "percentile of the actual in the forecast), coverage of the 50% and 90% intervals (about "
        "50% and 90% when the model is right), bias (mean of actual / forecast mean - 1) and CRPS "
        "(log scale; lower is better).",
        "header": ["component", "horizon", "forecasts", "mean PIT", "50% coverage",
                   "90% coverage", "bias", "CRPS (log)"],
        "components": {"frequency": "admissions", "cost": "cost per admission",
                       "payments": "fund payments"},
        "horizon": "{h} year(s) ahead",
        "fig_title": "{fund}: {component}, one year ahead",
        "median": "median forecast",
        "actual": "actual",
    },
    "zh": {
        "title": "已结算年度回测",
        "intro": "以 {history}（基金：{fund}）中每一年之前的已结算年度校准模型，预测其后一至三年，并与实际"
        "结果比较：PIT（实际值在预测分布中的百分位）、50% 与 90% 区间的覆盖率（模型正确时约为 50% 与 "
        "90%）、偏差（实际值 / 预测均值 - 1 的平均）以及 CRPS（对数尺度，越低越好）。",
        "header": ["项目", "预测期", "预测数", "PIT 均值", "50% 区间覆盖率", "90% 区间覆盖率",
                   "偏差", "CRPS（对数）"],
        "components": {"frequency": "住院人次", "cost": "次均住院费用", "payments": "基金支出"},
        "horizon": "提前 {h} 年",
        "fig_title": "{fund}：{component}，提前一年预测",
        "median": "预测中位数",
        "actual": "实际值",
    },
}  # fmt: skip


def backtest_section(
    summary: pd.DataFrame,
    figure_png: bytes,
    history: str,
    fund: str,
    lang: str = "en",
    names: dict[str, dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The back-test section in ``lang``: the summary per component and horizon, and the fan of
    one-year forecasts against the actuals. ``history`` is named by its file name; ``names``
    labels the fund (:func:`~simulation.report.display.scenario_names`)."""
    import base64
    from pathlib import PurePath

    from .html import HtmlFigure, fmt_pct

    t = BACKTEST_TEXT.get(lang, BACKTEST_TEXT["en"])
    comps: dict[str, str] = t["components"]  # type: ignore[assignment]
    rows = [
        Row(
            (
                Cell(comps.get(str(r.component), str(r.component))),
                Cell(str(t["horizon"]).format(h=r.horizon), num=True),
                Cell(str(r.forecasts), num=True),
                Cell(f"{r.mean_pit:.2f}", num=True),
                Cell(fmt_pct(r.coverage50), num=True),
                Cell(fmt_pct(r.coverage90), num=True),
                Cell(fmt_pct(r.bias), num=True),
                Cell(f"{r.crps_log:.4f}", num=True),
            )
        )
        for r in summary.itertuples(index=False)
    ]
    title = str(t["title"])
    fig = HtmlFigure("backtest-fan", base64.b64encode(figure_png).decode("ascii"), title, 900)
    label = (names or {}).get("fund", {}).get(fund, fund)
    return {
        "id": "backtest",
        "title": title,
        "intro": [str(t["intro"]).format(history=PurePath(history).name, fund=label)],
        "blocks": [
            {"kind": "table", "table": HtmlTable("backtest-summary", list(t["header"]), rows)},
            {"kind": "figure", "figure": fig},
        ],
    }


__all__ = ["SECTION_ID", "against_section", "backtest_section", "input_changes"]
