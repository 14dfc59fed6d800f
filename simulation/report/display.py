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
    m = re.fullmatch(r"mixture over the systematic factors: (\d+) quadrature nodes", text)
    if m:
        return f"对系统性风险因子取混合分布：{m[1]} 个求积节点"
    return exact_reason(text, names)


def _quoted(text: str, table: dict[str, str]) -> str:
    """A list of quoted keys ("'a', 'b'" or "'a' and 'b'") as their labels, joined by 、."""
    keys = re.findall(r"'([^']*)'", text) or [k.strip() for k in re.split(r",| and ", text)]
    return "、".join(table.get(k, k) for k in keys if k)


_EXACT_REASONS: tuple[tuple[str, str], ...] = (
    (
        r"exact method: layer (?P<a>'[^']*') settles per admission after the annual cumulative "
        r"layer (?P<b>'[^']*') \(category (?P<c>'[^']*')\); the exact method needs every "
        r"per-admission layer before the annual cumulative ones",
        "精确方法：按次结算层次 {a} 位于年度累计层次 {b} 之后（人群类别 {c}）；精确方法要求所有按次结算"
        "层次位于年度累计层次之前",
    ),
    (
        r"exact method: fund (?P<f>'[^']*') pays category (?P<c>'[^']*') through layers "
        r"(?P<ls>.+), one of them per admission; it needs a single per-admission layer or annual "
        r"cumulative layers only",
        "精确方法：基金 {f} 通过层次 {ls} 支付人群类别 {c} 的赔付，其中有按次结算层次；精确方法只支持"
        "单一按次结算层次或仅有年度累计层次",
    ),
    (
        r"exact method: annual cumulative layers (?P<a>'[^']*') and (?P<b>'[^']*') pay on "
        r"different bases \((?P<x>[^,]+), (?P<y>[^)]+)\); the exact method needs one base for them",
        "精确方法：年度累计层次 {a} 与 {b} 的计算基数不同（{x}、{y}）；精确方法要求它们基数相同",
    ),
    (
        r"exact method: annual cumulative layers (?P<a>'[^']*') and (?P<b>'[^']*') cover "
        r"different claim types; the exact method needs the same claim types for them",
        "精确方法：年度累计层次 {a} 与 {b} 覆盖的就诊类型不同；精确方法要求就诊类型相同",
    ),
    (
        r"exact method: the annual cumulative layer (?P<a>'[^']*') has a schedule that depends on "
        r"the hospital level \(category (?P<c>'[^']*')\); not supported",
        "精确方法：年度累计层次 {a} 的报销比例随医院级别变化（人群类别 {c}），不支持",
    ),
    (
        r"exact method: the annual cap of per-admission layer\(s\) (?P<ls>.+) is not applied; it "
        r"may change fund (?P<f>'[^']*')'s expected claims in (?P<y>\d+) by up to (?P<n>[\d,]+) "
        r"yuan \((?P<p>[\d.]+%) of (?P<t>[\d,]+)\), above cap_tolerance=(?P<tol>\S+); raise "
        r"cap_tolerance to accept the approximation or use the Monte Carlo engine",
        "精确方法：未计入按次结算层次 {ls} 的年度封顶，可能使基金 {f} {y} 年的预期赔付变动至多 {n} 元"
        "（占 {t} 元的 {p}），超过容差 cap_tolerance={tol}；可提高 cap_tolerance 接受此近似，或使用"
        "蒙特卡洛模拟",
    ),
    (
        r"exact method: the annual caps of per-admission layers are not applied; over the "
        r"systematic factors they may change fund (?P<f>'[^']*')'s expected claims in (?P<y>\d+) "
        r"by up to (?P<n>[\d,]+) yuan \((?P<p>[\d.]+%)\), above cap_tolerance=(?P<tol>\S+); "
        r"raise cap_tolerance or use the Monte Carlo engine",
        "精确方法：未计入按次结算层次的年度封顶；在系统性风险因子下可能使基金 {f} {y} 年的预期赔付变动"
        "至多 {n} 元（{p}），超过容差 cap_tolerance={tol}；可提高 cap_tolerance，或使用蒙特卡洛模拟",
    ),
    (
        r"fund (?P<f>'[^']*') pays no layer of the cascade; funds: (?P<fs>.+)",
        "基金 {f} 不支付任何保障层次；现有基金：{fs}",
    ),
    (
        r"fund (?P<f>'[^']*') is not in the scenario; funds: (?P<fs>.+)",
        "基金 {f} 不在情景中；现有基金：{fs}",
    ),
    (
        r"exact method: year (?P<y>\d+) is before the scenario's start year (?P<s>\d+)",
        "精确方法：{y} 年早于情景的起始年度 {s}",
    ),
    (
        r"systematic\.(?P<k>\w+)\.(?P<ct>\w+): the exact method does not support factors by group "
        r'of cells; use groups = "none" or the Monte Carlo engine',
        'systematic.{k}.{ct}：精确方法不支持按单元分组的系统性因子；请使用 groups = "none" 或蒙特卡洛模拟',
    ),
)
"""The exact method's reasons for refusing a fund (its ``FundsimError`` texts) and their Chinese;
``f``/``fs`` are funds, ``a``/``b``/``ls`` layers, ``c`` a category (shown by their labels)."""
_BASES = {"in_policy": "政策范围内费用", "total": "总费用", "out_of_policy": "政策范围外费用"}
_KINDS = {"f": "fund", "fs": "fund", "a": "layer", "b": "layer", "ls": "layer", "c": "category"}


def exact_reason(text: str, names: dict[str, dict[str, str]]) -> str:
    """The exact method's reason for refusing a fund (or a numerical failure), in Chinese; a
    reason it does not know keeps its English text after a Chinese lead."""
    for pattern, zh in _EXACT_REASONS:
        m = re.fullmatch(pattern, text)
        if m:
            fields = {
                k: _quoted(v, names.get(_KINDS[k], {})) if k in _KINDS else _BASES.get(v, v)
                for k, v in m.groupdict().items()
            }
            return zh.format(**fields)
    m = re.fullmatch(r"(ValueError|ArithmeticError|ZeroDivisionError|OverflowError|"
                     r"FloatingPointError|MemoryError): (.*)", text)  # fmt: skip
    if m:
        return f"数值计算失败（{m[1]}：{m[2]}）"
    if text.startswith(("exact method: ", "in-policy share: ")):
        return f"精确方法无法处理（原文：{text}）"
    return text
