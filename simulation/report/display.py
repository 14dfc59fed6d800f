"""What a reader sees of a scenario in the report's language: its title, description, the labels
of funds, layers and categories, and what a fund's balance means.

In Chinese (``lang="zh"``) a label is the scenario's ``label_zh`` (``title_zh``,
``description_zh``, ``balance_note_zh``), else the Chinese in the label's closing parentheses
("Extremely poor (特困人员)" gives "特困人员"), else the label itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..engine.result import SimulationResult
from ..scenario.schema import Scenario

_ZH_IN_PARENS = re.compile(r"[(（]([^()（）]*[\u4e00-\u9fff][^()（）]*)[)）]\s*$")


def localized(text: str, text_zh: str | None, lang: str) -> str:
    """``text`` in ``lang``: for "zh" its Chinese form (see the module docstring)."""
    if lang != "zh":
        return text
    if text_zh:
        return text_zh
    m = _ZH_IN_PARENS.search(text or "")
    return m[1].strip() if m else text


def scenario_title(s: Scenario, lang: str) -> str:
    return localized(s.title, s.title_zh, lang) if s.title else ""


def scenario_description(s: Scenario, lang: str) -> str:
    return localized(s.description, s.description_zh, lang) if s.description else ""


def balance_note(s: Scenario, fund: str, lang: str) -> str:
    """What the fund's balance means (the scenario's ``balance_note``), "" when it gives none."""
    f = s.funds[fund]
    note = f.balance_note or ""
    return (f.balance_note_zh or note) if lang == "zh" else note


def scenario_names(
    results: Sequence[SimulationResult], lang: str = "en"
) -> dict[str, dict[str, str]]:
    """Display labels of funds, layers and categories in ``lang`` (by kind and key; the base's
    label wins when a variant relabels)."""
    names: dict[str, dict[str, str]] = {"fund": {}, "layer": {}, "category": {}}
    for r in results:
        s = r.plan.scenario
        for kind, items in (("fund", s.funds), ("layer", s.layers), ("category", s.categories)):
            for key, item in items.items():
                label = localized(item.label or key, item.label_zh, lang) if item.label else key
                names[kind].setdefault(key, label)
    return names


def _names_list(text: str, table: dict[str, str]) -> str:
    return "、".join(table.get(k.strip(), k.strip()) for k in text.split(","))


def engine_text(text: str, lang: str, names: dict[str, dict[str, str]] | None = None) -> str:
    """A line the engine writes in English (how a run was run, the exact method's notes) in
    ``lang``; a line it does not know is returned as it is."""
    if lang != "zh":
        return text
    names = names or {"fund": {}, "layer": {}, "category": {}}
    m = re.fullmatch(r"in-process, (\d+) threads?", text)
    if m:
        return f"进程内，{m[1]} 个线程"
    m = re.fullmatch(r"(.+?): (.+)", text)
    if m and all(k.strip() in names["fund"] for k in m[1].split(",")):
        return f"{_names_list(m[1], names['fund'])}：{engine_text(m[2], lang, names)}"
    if text == "all funds: systematic risk is on; the exact check covers process risk only":
        return "全部基金：已启用系统性风险；精确方法的核对仅覆盖过程风险"
    m = re.fullmatch(
        r"conditional exact check: (\d+) exact laws, surface error ([\d.]+) conditional SD at "
        r"the farthest path",
        text,
    )
    if m:
        return f"条件精确核对：{m[1]} 个精确分布，最远路径处曲面误差为条件标准差的 {m[2]} 倍"
    if text == (
        "the factors differ between hospital levels or cells; the exact check under systematic "
        "risk needs one multiplier per claim type"
    ):
        return "因子在医院级别或单元之间不同；系统性风险下的精确核对要求每种就医类型一个乘数"
    m = re.fullmatch(r"cell counts rounded to whole persons: (.+)", text)
    if m:
        return f"单元人数取整为整人：{m[1]}"
    m = re.match(r"([\d,]+) persons \((\d+) roster groups\) change category within the year", text)
    if m:
        return (
            f"{m[1]} 人（{m[2]} 个名册分组）在年内变更类别：近似为各时段相互独立的人员，各按所在类别"
            "计算赔付（一阶近似：对无年度封顶的按次结算层次均值精确，对仅在一个时段就医者精确；"
            "忽略年度累计基数、跨变更的封顶以及负二项次数在时段间的相关性）"
        )
    m = re.fullmatch(
        r"annual caps of per-admission layer\(s\) (.+) not applied "
        r"\(bound on the error of the expected claims: ([\d,.]+) yuan\)",
        text,
    )
    if m:
        return f"未计入按次结算层次 {_names_list(m[1], names['layer'])} 的年度封顶（预期赔付误差上限：{m[2]} 元）"
    return text
