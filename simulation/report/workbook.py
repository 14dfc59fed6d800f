"""The report's Excel workbook (openpyxl): a summary sheet laid out like the page, then one sheet
per table, each an Excel table with filters, frozen headers, number formats and widths.

Money is in the page's unit (e.g. 10k yuan; the CSV files stay in yuan), shown ``#,##0.0``
(``#,##0`` in yuan); probabilities and shares are stored as fractions and shown ``0.0%``; counts
``#,##0``; years as numbers. Headers name their unit ("mean (10k yuan)"). With ``lang="zh"`` the
sheet names and headers are in Chinese. Text cells are written as text, never as formulas.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PROBABILITY_ROWS = {"p_deficit", "catastrophic_share", "p_insurer_loss", "p_loss"}
"""Row measures (``measure`` or ``quantity`` column) whose numbers are probabilities or shares."""
PERCENT_COLUMNS = {"share", "rel_se", "relative_change"}
ALREADY_PERCENT = {"from_pct", "to_pct", "cap_pct", "impact_pp"}
COUNT_COLUMNS = {"persons", "claimants_mean", "catastrophic_mean", "paths", "path_years"}
PLAIN_COLUMNS = {"z"}

FMT_PCT = "0.0%"
FMT_PCT_FINE = "0.00%"
FMT_COUNT = "#,##0"
FMT_YEAR = "0"


@dataclass(frozen=True)
class WorkbookStyle:
    """How the workbook shows numbers: the page's money unit and language."""

    lang: str = "en"
    divisor: float = 1.0
    """Yuan per money unit (10,000 for 10k yuan)."""
    unit: str = "yuan"
    """The money unit's label in ``lang``."""
    messages: tuple[str, ...] = ()
    """The key messages (plain text), written above the summary sheet's table."""
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Display labels of the scenario's codes in ``lang``, by column (``fund``, ``layer``,
    ``category``; a code in another column, such as ``population``, is looked up as a fund)."""


# words of the column codes, for Chinese headers
ZH_WORDS = {
    "fund": "基金",
    "year": "年度",
    "measure": "指标",
    "mean": "均值",
    "se": "标准误",
    "q05": "第5百分位",
    "q25": "第25百分位",
    "q50": "中位数",
    "q75": "第75百分位",
    "q95": "第95百分位",
    "variant": "变体",
    "period": "期间",
    "base": "基准",
    "difference": "差值",
    "relative": "相对",
    "change": "变化",
    "independent": "独立",
    "paths": "路径数",
    "layer": "保障层次",
    "category": "人群类别",
    "persons": "人数",
    "claims": "赔付",
    "claimants": "就医人数",
    "catastrophic": "灾难性支出",
    "share": "比例",
    "rel": "相对",
    "kind": "类型",
    "from": "自",
    "to": "至",
    "pct": "%",
    "path": "路径",
    "years": "年",
    "cap": "上限",
    "p": "概率",
    "below": "低于",
    "zero": "零",
    "at": "达到",
    "value": "数值",
    "unit": "单位",
    "month": "月份",
    "negative": "为负",
    "lowest": "最低",
    "balance": "结余",
    "min": "最小",
    "date": "日期",
    "median": "中位",
    "days": "天数",
    "end": "末",
    "basis": "口径",
    "used": "采用",
    "by": "按",
    "contract": "合同",
    "clawback": "返还",
    "error": "误差",
    "premium": "筹资",
    "financing": "筹资",
    "received": "已到账",
    "incurred": "发生",
    "paid": "已付",
    "in": "于",
    "settlement": "结算",
    "unpaid": "未付",
    "true": "真实",
    "cl": "链梯法",
    "ibnr": "已发生未报告",
    "reported": "已报告",
    "transferred": "已划转",
    "subsidy": "补贴",
    "late": "延迟",
    "receivable": "应收",
    "item": "项目",
    "quantity": "量",
    "exact": "精确方法",
    "mc": "蒙特卡洛",
    "z": "z",
    "agrees": "一致",
    "impact": "幅度",
    "pp": "百分点",
    "result": "经营结果",
    "loss": "亏损",
    "per": "每",
    "head": "人",
    "before": "此前",
    "after": "现在",
    "input": "输入",
    "component": "项目",
    "horizon": "预测期",
    "origin": "起点年度",
    "train": "校准",
    "actual": "实际",
    "pit": "PIT",
    "in50": "50%区间覆盖",
    "in90": "90%区间覆盖",
    "coverage50": "50%区间覆盖率",
    "coverage90": "90%区间覆盖率",
    "forecasts": "预测数",
    "bias": "偏差",
    "crps": "CRPS",
    "log": "对数",
    "surplus": "结余",
    "old": "旧",
}
SHEET_ZH = {
    "overview": "摘要",
    "director_summary": "决策摘要表",
    "key_figures": "要点数据",
    "balance_fan": "基金结余",
    "insurer_cumulative_fan": "承办机构累计结果",
    "insurer_result_distribution": "经营结果分布",
    "tender_pricing": "招标定价",
    "tender_bid_curve": "投标曲线",
    "against_movements": "与上次预测相比",
    "against_inputs": "变化的输入",
    "backtest_summary": "回测汇总",
    "backtest_scores": "回测明细",
    "cashflow_balance": "现金流结余",
    "cashflow_liquidity": "流动性",
    "cashflow_settlement": "年终结算",
    "cashflow_summary": "现金流汇总",
    "claims_by_layer": "按层次赔付",
    "claims_by_category": "按类别赔付",
    "comparison": "方案比较",
    "mc_errors": "蒙特卡洛误差",
    "run_info": "运行信息",
    "exact_check": "精确方法核对",
}
UNIT_ZH = {"%": "%", "count": "人/条", "yuan per head": "元/人"}
VALUE_ZH = {
    # units of the tender table
    "yuan": "元",
    "yuan (loss)": "元（亏损）",
    "yuan per head": "元/人",
    "probability": "概率",
    "paths": "路径数",
    "fraction of claims": "占赔付比例",
    # the insurer result distribution's kinds, the settlement bases, the exact check's quantities
    "bin": "区间",
    "cap": "封顶",
    "paid": "已付赔款",
    "paid_cl": "已付赔款链梯法",
    "reported_cl": "已报告赔款链梯法",
    "true": "真实赔付",
    "mean": "均值",
    "sd": "标准差",
    "surplus": "当年收支结余",
    "p_loss": "亏损概率",
    # the back-test's components
    "frequency": "住院人次",
    "cost": "次均住院费用",
}
"""Chinese of the code-like text cells that are not report messages or scenario labels."""
INPUTS_ZH = {
    "seed": "随机种子",
    "paths": "路径数",
    "years": "年数",
    "method": "方法",
    "(absent)": "（无）",
    "full": "完整模拟",
    "fast": "快速方法",
    "monte_carlo": "蒙特卡洛模拟",
}
"""The "inputs that changed" table's run settings (its scenario key paths and values stay as the
scenario file writes them)."""
KEEP_TEXT_COLUMNS = {"value", "variant", "input", "before", "after", "now"}
"""Columns whose text is shown as it is (run settings, variant names, scenario values)."""


def _sheet_name(name: str, used: set[str]) -> str:
    bad = "[]:*?/\\"
    base = "".join("_" if c in bad else c for c in name)[:31]
    out, i = base, 2
    while out.lower() in used:
        suffix = f"_{i}"
        out, i = base[: 31 - len(suffix)] + suffix, i + 1
    used.add(out.lower())
    return out


def cell_kind(column: str, value: Any, row: dict[str, Any]) -> str:
    """How a number shows: "money", "money_per_head", "pct", "pct_points", "count", "year",
    "plain"."""
    if column == "year":
        return "year"
    if column in COUNT_COLUMNS or column.startswith("days_"):
        return "count"
    if column in PLAIN_COLUMNS:
        return "plain"
    if column in ALREADY_PERCENT:
        return "pct_points"
    unit = row.get("unit")
    if isinstance(unit, str):
        if unit in ("probability", "fraction of claims"):
            return "pct"
        if unit == "yuan per head":
            return "money_per_head"
        if unit == "paths":
            return "count"
    if (
        column in PERCENT_COLUMNS
        or column.startswith("p_")
        or "share" in column
        or row.get("measure") in PROBABILITY_ROWS
        or row.get("quantity") in PROBABILITY_ROWS
    ):
        return "pct"
    return "money"


def header_text(column: str, kinds: set[str], style: WorkbookStyle) -> str:
    """``mean (10k yuan)``, ``p_negative (%)``; in Chinese from :data:`ZH_WORDS`."""
    words = column.split("_")
    if style.lang == "zh":
        label = "".join(ZH_WORDS.get(w, w) for w in words)
    else:
        label = " ".join(words)
    units = []
    for k in ("money", "money_per_head", "pct", "pct_points", "count"):
        if k in kinds:
            units.append(
                {
                    "money": style.unit,
                    "money_per_head": "元/人" if style.lang == "zh" else "yuan per head",
                    "pct": "%",
                    "pct_points": "%",
                    "count": "",
                }[k]
            )
    units = [u for u in dict.fromkeys(units) if u]
    return f"{label} ({', '.join(units)})" if units else label


def display_text(column: str, text: str, style: WorkbookStyle) -> str:
    """A text cell as the reader sees it: in Chinese, a scenario code shows its label, a measure
    code its report message, a tender measure its label (:func:`.tender.pricing_label`), a unit
    or kind from :data:`VALUE_ZH`; other text (and any English workbook) is unchanged."""
    if style.lang != "zh":
        return text
    if column in KEEP_TEXT_COLUMNS:  # but a run setting's name and an absent value in Chinese
        return INPUTS_ZH.get(text, text) if column in ("input", "before", "after") else text
    codes = style.labels.get(column) or style.labels.get("fund", {})
    if text in codes:
        return codes[text]
    if text in VALUE_ZH:
        return VALUE_ZH[text]
    from .i18n import MESSAGES, Translator
    from .tender import pricing_label

    if re.fullmatch(r"[a-z][a-z0-9_]*", text) and text in MESSAGES:
        return Translator("zh")(text)
    label = pricing_label(Translator("zh"), text)
    return label


def _value(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _number(text: str) -> Any:
    """A run-info value such as "1,000" or "7" as a number; other text unchanged."""
    if re.fullmatch(r"-?\d{1,3}(,\d{3})*|-?\d+", text):
        return int(text.replace(",", ""))
    return text


def _write_sheet(
    ws: Any, df: pd.DataFrame, style: WorkbookStyle, key: str, start_row: int = 1
) -> None:
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableStyleInfo

    records = [dict(zip(df.columns, r, strict=True)) for r in df.itertuples(index=False)]
    kinds: dict[str, set[str]] = {str(c): set() for c in df.columns}
    formatted: list[list[tuple[Any, str | None]]] = []
    for rec in records:
        line = []
        for c in df.columns:
            v = _value(rec[c])
            fmt = None
            if isinstance(v, bool) or v is None:
                pass
            elif isinstance(v, int | float):
                kind = cell_kind(str(c), v, rec)
                kinds[str(c)].add(kind)
                if kind == "money":
                    v = float(v) / style.divisor
                    fmt = "#,##0.0" if style.divisor > 1 else "#,##0"
                elif kind == "money_per_head":
                    fmt = "#,##0.00"
                elif kind == "pct":
                    fmt = FMT_PCT_FINE if abs(float(v)) < 0.1 else FMT_PCT
                elif kind == "pct_points":
                    fmt = "0.0"
                elif kind == "count":
                    fmt = FMT_COUNT
                elif kind == "year":
                    fmt = FMT_YEAR
                else:
                    fmt = "0.00"
            elif isinstance(v, str) and str(c) == "value":
                v = _number(v)
                fmt = FMT_COUNT if isinstance(v, int) else None
            elif isinstance(v, str):
                v = display_text(str(c), v, style)
            line.append((v, fmt))
        formatted.append(line)
    headers = []
    for c in df.columns:
        h = header_text(str(c), kinds[str(c)], style)
        while h in headers:
            h += " "
        headers.append(h)
    for j, h in enumerate(headers, start=1):
        ws.cell(row=start_row, column=j, value=h)
    for i, line in enumerate(formatted, start=start_row + 1):
        for j, (v, fmt) in enumerate(line, start=1):
            cell = ws.cell(row=i, column=j, value=v)
            if isinstance(v, str) and v.startswith("="):
                cell.data_type = "s"
            if fmt:
                cell.number_format = fmt
    for j, h in enumerate(headers, start=1):
        longest = max(
            [len(h)]
            + [
                len(f"{v:,.1f}" if isinstance(v, float) else str(v))
                for v, _ in (line[j - 1] for line in formatted)
                if v is not None
            ]
        )
        wide = 2 if style.lang == "zh" else 1
        ws.column_dimensions[get_column_letter(j)].width = max(8, min(48, longest * wide + 2))
    ws.freeze_panes = ws.cell(row=start_row + 1, column=1).coordinate
    if formatted and headers:
        ref = f"A{start_row}:{get_column_letter(len(headers))}{start_row + len(formatted)}"
        name = re.sub(r"\W", "_", f"t_{key}", flags=re.ASCII)
        table = Table(displayName=name[:250], ref=ref)
        table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
        ws.add_table(table)


def write_workbook(
    tables: dict[str, pd.DataFrame], path: Path, style: WorkbookStyle | None = None
) -> None:
    """One sheet per table (openpyxl; see the module docstring). The ``overview`` table, when
    there is one, is written first under the key messages."""
    from openpyxl import Workbook

    style = style or WorkbookStyle()
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for name, df in tables.items():
        title = SHEET_ZH.get(name, name) if style.lang == "zh" else name
        ws = wb.create_sheet(_sheet_name(title, used))
        start = 1
        if name == "overview" and style.messages:
            for i, m in enumerate(style.messages, start=1):
                ws.cell(row=i, column=1, value=m)
            start = len(style.messages) + 2
        _write_sheet(ws, df, style, f"{len(used)}_{name}", start)
    wb.save(path)
