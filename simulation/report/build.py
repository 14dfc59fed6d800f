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
    DIR/report.pdf          the page printed by headless Chromium, with ``pdf=True``

The numbers are computed first (:mod:`.numbers`), then laid out (:mod:`.page`, its tables in
:mod:`.sections`) and rendered; the workbook is :mod:`.workbook`.

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
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..engine.result import SimulationResult, summary_records
from ..errors import FundsimError
from ..outputs import atomic_dir, display_path, escape_formulas, manifest, scenario_hash
from ..scenario import scenario_table
from . import cashflows as CF
from . import figures as F
from .compare import unique_names
from .display import scenario_description, scenario_names, scenario_title
from .fonts import INSTALL_HINT, FontSetup, font_setup, web_font_subset
from .html import Formatter, HtmlFigure
from .i18n import Translator
from .keyfacts import key_messages, plain
from .numbers import compute_numbers, ordered
from .page import PageContext, render_sections
from .tables import POPULATION
from .workbook import WorkbookStyle, write_workbook

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
    workbook: WorkbookStyle = field(default_factory=WorkbookStyle)
    """How the workbook shows the tables (the page's money unit and language)."""


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


def _png_size(png: bytes) -> tuple[int, int]:
    w, h = struct.unpack(">II", png[16:24])
    return int(w), int(h)


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
    progress: bool = False,
    extra_sections: Sequence[dict[str, Any]] = (),
) -> Report:
    """The report of ``base`` with ``variants`` compared on common random numbers.

    ``lang``: "en" or "zh". ``exact``: add the exact method's check of the first year.
    ``scenario_files``: the files the runs came from (base first), shown in the methods appendix.
    Variants must share the base's seed, paths and years (a FundsimError says what differs).
    ``cashflow_paths``: paths of the cash-flow section (the first ``min(cashflow_paths, paths)``
    of the base run; 0 leaves the section out); ``cashflow_funds``: the funds whose account it
    follows (default: the first fund run by an insurer). ``progress``: a ``tqdm.auto`` bar
    naming each stage (a widget in a notebook). ``extra_sections``: sections made
    elsewhere (e.g. :func:`simulation.report.ledger.against_section`), placed before the methods.
    """
    if cashflow_paths < 0:
        raise FundsimError(
            f"cash-flow paths must be 0 (no section) or more, found {cashflow_paths}"
        )
    t = Translator(lang)
    fonts = fonts or font_setup()
    now = now or _dt.datetime.now().astimezone()
    scenario = base.plan.scenario
    names = scenario_names([base, *variants], lang)
    fig_t, warnings = figure_text_setup(lang, names, fonts)
    unit = F.money_unit(
        float(np.max(np.abs(base.money["premium"]))) if base.money["premium"].size else 0.0
    )
    fmt = Formatter(unit, paths=base.n_paths)
    text = F.FigureText(t=fig_t, fonts=fonts, unit=unit, names=names)
    unit_label = t(unit.key)
    vnames = (
        list(variant_names)
        if variant_names
        else unique_names([v.plan.scenario.name for v in variants])
    )

    figures: dict[str, bytes] = {}

    def add_figure(fid: str, fig: Any, title: str, caption: str = "") -> HtmlFigure:
        png = F.png_bytes(fig, fonts)
        figures[fid] = png
        w, _h = _png_size(png)
        return HtmlFigure(fid, base64.b64encode(png).decode("ascii"), title, w, caption)

    numbers = compute_numbers(
        base,
        variants,
        vnames,
        exact=exact,
        cashflow_paths=cashflow_paths,
        cashflow_funds=cashflow_funds,
        progress=progress,
    )
    summary = numbers.summary
    context = PageContext(t, fmt, names, unit_label, add_figure, fig_t, text, warnings)
    files = list(scenario_files or [])
    sections = render_sections(
        context,
        base,
        variants,
        vnames,
        numbers,
        files=files,
        cashflow_paths=cashflow_paths,
        cashflow_funds=cashflow_funds,
        lang=lang,
    )
    sections[-1:-1] = list(extra_sections)  # before the methods appendix
    tables = ordered(numbers.tables)
    resolved = scenario_table(scenario)

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
        title=scenario_title(scenario, lang) or scenario.name,
        description=scenario_description(scenario, lang),
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
    messages = key_messages(t, fmt, base, tables["key_figures"], names, lang)
    labels = (
        {**names, "fund": {POPULATION: t("population"), **names["fund"]}} if lang == "zh" else {}
    )
    style = WorkbookStyle(
        lang=lang,
        divisor=unit.divisor,
        unit=unit_label,
        messages=tuple(plain(m) for m in messages),
        labels=labels,
    )
    return Report(
        html=html,
        tables=tables,
        figures=figures,
        summary=summary,
        manifest=doc,
        warnings=warnings,
        workbook=style,
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


def write_report(
    report: Report,
    out: str | Path,
    log_text: Callable[[], str] | None = None,
    *,
    pdf: bool = False,
) -> Path:
    """Write ``report`` into the folder ``out`` atomically (see the module docstring); with
    ``pdf`` also ``report.pdf`` (:mod:`.pdf`, headless Chromium)."""
    out = Path(out)
    with atomic_dir(out) as tmp:
        (tmp / "index.html").write_text(report.html, encoding="utf-8")
        if pdf:
            from .pdf import html_to_pdf

            log.info("printing report.pdf")
            html_to_pdf(tmp / "index.html", tmp / "report.pdf")
        for name, df in report.tables.items():
            escape_formulas(df).to_csv(tmp / f"{name}.csv", index=False)
        write_workbook(report.tables, tmp / "report.xlsx", report.workbook)
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
