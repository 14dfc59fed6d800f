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
