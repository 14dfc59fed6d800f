"""The report's methods appendix: run information, Monte Carlo errors, the glossary, the exact
method's check and the resolved scenarios (laid out from :mod:`.numbers`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._version import __version__
from ..engine.result import SimulationResult
from ..outputs import git_commit, scenario_hash
from ..scenario import dumps_toml, scenario_table
from . import sections as S
from .display import engine_text, scenario_title
from .i18n import Translator
from .keyfacts import GLOSSARY_TERMS
from .numbers import ReportNumbers, log

if TYPE_CHECKING:
    from .context import PageContext


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


def glossary_terms(t: Translator) -> dict[str, str]:
    """Each glossary term's definition by its id (:data:`~.keyfacts.GLOSSARY_TERMS`)."""
    return {term: t(f"gdef_{term}") for term in GLOSSARY_TERMS}


def glossary_block(t: Translator) -> dict[str, Any]:
    return {
        "kind": "glossary",
        "heading": t("glossary"),
        "lines": [(term, t(f"g_{term}"), t(f"gdef_{term}")) for term in GLOSSARY_TERMS],
    }


def methods_section(
    c: PageContext,
    base: SimulationResult,
    variants: Sequence[SimulationResult],
    vnames: Sequence[str],
    n: ReportNumbers,
    *,
    files: list[str],
    cashflow_paths: int,
    lang: str,
) -> dict[str, Any]:
    """The methods appendix; adds the ``run_info`` table to ``n.tables``."""
    t, fmt, names = c.t, c.fmt, c.names
    log.info("methods appendix")
    scenario = base.plan.scenario
    blocks: list[dict[str, Any]] = []
    resolved = scenario_table(scenario)
    info_items = [
        (
            t("info_scenario"),
            f"{scenario.name} — {scenario_title(scenario, lang)}"
            if scenario.title
            else scenario.name,
        ),
        *([(t("info_file"), files[0])] if files else []),
        (t("info_seed"), str(base.info.seed)),
        (t("info_paths"), f"{base.n_paths:,}"),
        (t("info_years"), ", ".join(str(y) for y in base.years)),
        (t("info_version"), __version__),
        (t("info_commit"), git_commit() or "—"),
        (t("info_sha"), scenario_hash(resolved)),
        (
            t("info_runtime"),
            f"{sum(base.info.timings.values()):.1f} s ({engine_text(base.info.runner, lang)})",
        ),
        *([(t("info_variants"), ", ".join(vnames))] if variants else []),
        (t("info_cashflow_paths"), str(min(cashflow_paths, base.n_paths))),
        (t("info_lang"), lang),
    ]
    n.tables["run_info"] = pd.DataFrame(info_items, columns=["item", "value"])
    blocks.append(
        {"kind": "table", "heading": t("run_info"), "table": S.kv_table(t, info_items, "run-info")}
    )
    blocks.append(glossary_block(t))
    blocks.append({"kind": "note", "text": t("mc_errors_intro")})
    blocks.append(
        {
            "kind": "table",
            "collapsed": t("col_se"),
            "table": S.mc_table(t, n.tables["mc_errors"], names),
        }
    )
    if n.exact:
        notes = [
            t("exact_unavailable", reason=engine_text(r, lang, names)) for r in n.exact_failures
        ] + [engine_text(x, lang, names) for x in merge_notes(n.exact_notes)]
    else:
        notes = [t("exact_skipped")]
    ex = n.tables["exact_check"]
    blocks.append({"kind": "note", "text": t("exact_intro", unit=c.unit_label)})
    if not ex.empty:
        blocks.append({"kind": "table", "table": S.exact_table(t, fmt, ex, names)})
    if notes:
        blocks.append({"kind": "notes", "heading": t("exact_notes"), "lines": notes})
    if c.warnings:
        blocks.append({"kind": "notes", "heading": t("warnings"), "lines": c.warnings})
    blocks.append(
        {
            "kind": "pre",
            "heading": f"{t('resolved_scenario')}: {scenario.name}",
            "text": dumps_toml(resolved),
        }
    )
    for v, name in zip(variants, vnames, strict=True):
        blocks.append(
            {
                "kind": "pre",
                "heading": f"{t('resolved_scenario')}: {name}",
                "text": dumps_toml(scenario_table(v.plan.scenario)),
            }
        )
    return {
        "id": "methods",
        "title": t("sec_methods"),
        "intro": [t("methods_intro")],
        "blocks": blocks,
    }
