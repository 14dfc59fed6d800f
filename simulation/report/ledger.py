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

from ..history.ledger import Forecast, diff_scenarios, movements, run_changes
from .html import Cell, HtmlTable, Row, fmt_number

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
    },
    "zh": {
        "title": "与上次预测相比",
        "intro": "对照预测 {label}：各主要数字的变动（均值，元；变动的标准误按两次独立运行计算）及输入的变化。",
        "moves": "主要数字",
        "inputs": "变化的输入",
        "none": "输入无变化：情景、随机种子、路径数、年数和方法相同。",
        "header_moves": ["基金", "年度", "指标", "此前", "现在", "变动", "变动 %", "± 标准误"],
        "header_inputs": ["输入（键路径）", "此前", "现在"],
    },
}


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


def against_section(
    before: Forecast, after: Forecast, lang: str = "en"
) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """The section (for :func:`~simulation.report.build_report`'s ``extra_sections``) and its
    tables."""
    t = TEXT.get(lang, TEXT["en"])
    moves = movements(before, after)
    inputs = input_changes(before, after)
    move_rows = [
        Row(
            (
                Cell(str(r.fund)),
                Cell(str(r.year)),
                Cell(str(r.measure)),
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
            Row((Cell(r.input), Cell(r.before), Cell(r.after)))
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
        "intro": [t["intro"].format(label=before.label())],
        "blocks": blocks,
    }
    return section, {"against_movements": moves, "against_inputs": inputs}


BACKTEST_TEXT = {
    "title": "Back-test on the settled years",
    "intro": "Calibrated on the settled years before each year of {history} (fund {fund}), "
    "each year forecast one to three years ahead and scored against what happened: PIT (the "
    "percentile of the actual in the forecast), coverage of the 50% and 90% intervals (about 50% "
    "and 90% when the model is right), bias (mean of actual / forecast mean - 1) and CRPS (log "
    "scale; lower is better).",
    "header": ["component", "horizon", "forecasts", "mean PIT", "50% coverage", "90% coverage",
               "bias", "CRPS (log)"],
}  # fmt: skip


def backtest_section(
    summary: pd.DataFrame, figure_png: bytes, history: str, fund: str
) -> dict[str, Any]:
    """The back-test section: the summary per component and horizon, and the fan of one-year
    forecasts against the actuals."""
    import base64

    from .html import HtmlFigure, fmt_pct

    t = BACKTEST_TEXT
    rows = [
        Row(
            (
                Cell(str(r.component)),
                Cell(str(r.horizon), num=True),
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
    fig = HtmlFigure("backtest-fan", base64.b64encode(figure_png).decode("ascii"), t["title"], 900)
    return {
        "id": "backtest",
        "title": t["title"],
        "intro": [t["intro"].format(history=history, fund=fund)],
        "blocks": [
            {"kind": "table", "table": HtmlTable("backtest-summary", t["header"], rows)},
            {"kind": "figure", "figure": fig},
        ],
    }


__all__ = ["SECTION_ID", "against_section", "backtest_section", "input_changes"]
